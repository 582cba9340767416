// distiq kernel library: basic types shared by every layer below N-API.
// No N-API here, no ISA-specific code: this header is included by baseline and ISA translation units alike,
// so it declares nothing that could be instantiated with ISA flags (see docs/ARCHITECTURE.md, "ISA hygiene").
#pragma once

#include <cstddef>
#include <cstdint>

namespace distiq {

// Result of a kernel-library call that can fail on its input. The addon maps each status to a JS error class and
// an ERR_DISTIQ_* code; kernels never abort, assert or throw.
enum class Status : int32_t {
  kOk = 0,
  kInvalidArgument = 1,  // a dimension, stride or parameter outside what the op accepts
  kLimitExceeded = 2,    // a documented limit (e.g. int8 GEMM K) is exceeded
  kNonFinite = 3,        // NaN/Inf where the op forbids it
  kLayoutMismatch = 4,   // packed data made for another ISA layout or shape
  kOutOfMemory = 5,
};

const char* status_name(Status s) noexcept;

}  // namespace distiq
