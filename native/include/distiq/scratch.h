// Per-thread kernel scratch: one growable, 64-byte-aligned buffer per thread and slot, kept between calls and freed
// at thread exit. Compiled at the baseline (native/runtime/scratch.cc), so no ISA translation unit instantiates the
// thread_local machinery (STYLE principle 4). A slot belongs to one kernel family: a caller must not hold a slot's
// buffer across a call that may use the same slot.
#pragma once

#include <cstddef>
#include <cstdint>

namespace distiq {

enum class ScratchSlot : int {
  kGemmS8Stage = 0,  // the x86 int8 GEMM blocking loop's staged A rows (gemm_s8_x86_blocking.h)
  kGemmS8AmxStage,   // the AMX int8 GEMM's staged A rows (gemm_s8_amx.cc)
  kSoftmaxKlPark,    // the vector softmax-KL kernels' parked exps (softmax_kl_rows.h)
  kGemmF32Pack,      // the fp32 GEMM's packed A/B blocks and saved C (gemm_f32_blocked.h, gemm_f32_neon.cc)
  kCount
};

// At least `bytes` bytes of this thread's `slot` buffer (contents unspecified), or null if it cannot be allocated.
uint8_t* thread_scratch(ScratchSlot slot, size_t bytes) noexcept;

}  // namespace distiq
