// Affine quantization (ONNX QuantizeLinear semantics) and the reductions observers need.
//
//   quantize:    v = nearbyintf(x / s) + (float)z;  q = (int)clamp(v, qmin, qmax)      (round half to even)
//   dequantize:  x̂ = (float)(q − z) * s
//   fake-quant:  y = (float)(clamp(v, qmin, qmax) − z) * s;  mask = (qmin ≤ v ≤ qmax)  (straight-through estimator)
// Every path gives exactly these float results (x / s correctly rounded — by the divider, or by the exact
// divider-free sequence of docs/quantization.md when the driver supplies inv_scales; no reciprocal product, no
// fused add), so all ISAs give the same bits. NaN input is rejected (Status::kNonFinite, the output is fully written but unspecified); ±Inf
// saturates to qmin/qmax. min/max reductions reject NaN and ±Inf (calibration data must be finite).
//
// Geometry: the tensor is viewed as [outer, channels, inner], elements in row-major order.
//   per-tensor:              channels = 1                         param index 0
//   per-channel (any axis):  channels = shape[axis]               param index c
//   per-group (last axis):   inner = 1, group = g > 0             param index o·ceil(channels/g) + c/g (last group
//                                                                  of a row may be short)
// Packed int4 (DESIGN §3): rows of `row_len` elements (the last axis) take ceil(row_len/2) bytes; element 2i of a
// row is the low nibble of byte i, element 2i+1 the high nibble; a pad nibble is written as 0.
#pragma once

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq {

enum class QType : int32_t { kS8 = 0, kU8 = 1, kS4 = 2, kU4 = 3 };

struct QuantGeometry {
  int64_t outer = 1, channels = 1, inner = 1;
  int64_t group = 0;  // 0 = per-channel/per-tensor; > 0 = per-group along `channels` (requires inner == 1)
};

// Number of (scale, zero point) pairs the geometry needs; −1 for an invalid geometry (negative dims, overflow,
// group > 0 with inner != 1).
int64_t quant_param_count(const QuantGeometry& g) noexcept;
// Bytes of storage for `count` elements of `type` laid out in rows of `row_len`; −1 when count < 0 or, for int4,
// row_len < 1 or row_len does not divide count.
int64_t quant_storage_bytes(QType type, int64_t count, int64_t row_len) noexcept;

struct QuantArgs {
  QuantGeometry geo;
  int64_t row_len = 1;  // int4 row length (elements); must divide outer·channels·inner; ignored for 8-bit types
  QType type = QType::kS8;
  int32_t qmin = -128, qmax = 127;
  const float* scales = nullptr;        // [quant_param_count(geo)], finite and > 0
  const int32_t* zero_points = nullptr;  // same length, or null for all-zero
  const float* x = nullptr;  // quantize / fake-quant input, dequantize output
  void* q = nullptr;         // quantized data: int8_t / uint8_t / packed nibbles
  float* y = nullptr;        // fake-quant output
  uint8_t* mask = nullptr;   // fake-quant STE mask (1 = gradient passes), or null
  // Set by the drivers, never by callers: RN(1/s) per slot, present only when every scale lies in
  // [kQuantExactMinScale, kQuantExactMaxScale]. With it, the x86 / NEON kernels compute RN(x / s) without a divider
  // (reciprocal product + two FMA remainder corrections, Markstein; exact, see docs/quantization.md); without it
  // they divide. Either way the bits equal the reference's.
  const float* inv_scales = nullptr;
};

// The scale range of the divider-free quotient (2^−100 and 2^100; see docs/quantization.md for why it is exact).
constexpr float kQuantExactMinScale = 7.8886090522101181e-31f;  // 2^-100
constexpr float kQuantExactMaxScale = 1.2676506002282294e30f;   // 2^100

// One ISA's quantization kernels. Each processes the flat element range [e0, e1); the driver only cuts at
// multiples of `row_len` for int4 (so no two ranges share a byte) and merges min/max partials in a fixed order.
struct QuantKernel {
  Isa isa;
  const char* name_quantize;    // e.g. "quantize_f32s8_avx512" (the 8-bit and 4-bit forms share one entry)
  const char* name_dequantize;  // e.g. "dequantize_s8f32_avx512"
  const char* name_minmax;      // e.g. "minmax_f32_avx512"
  const char* name_fake_quant;  // e.g. "fake_quant_f32_avx512"
  // Return the number of NaN inputs seen in the range (0 = fine).
  int64_t (*quantize)(const QuantArgs& args, int64_t e0, int64_t e1);
  void (*dequantize)(const QuantArgs& args, int64_t e0, int64_t e1);
  int64_t (*fake_quant)(const QuantArgs& args, int64_t e0, int64_t e1);
  // Folds x[e0:e1) into mins/maxs (one slot per param index, pre-filled by the caller with +Inf/−Inf).
  // Returns the number of non-finite inputs seen.
  int64_t (*minmax)(const float* x, const QuantGeometry& geo, int64_t e0, int64_t e1, float* mins, float* maxs);
};

const QuantKernel& quant_ref() noexcept;
const QuantKernel& quant_avx2() noexcept;
const QuantKernel& quant_avx512() noexcept;
const QuantKernel& quant_neon() noexcept;

// Drivers: validate geometry/params, split over the thread pool, report NaN as kNonFinite.
Status quantize(const QuantKernel& kernel, const QuantArgs& args) noexcept;
Status dequantize(const QuantKernel& kernel, const QuantArgs& args) noexcept;
// fake_quantize ignores args.type and args.q: its [qmin, qmax] may be any range inside [−128, 255].
Status fake_quantize(const QuantKernel& kernel, const QuantArgs& args) noexcept;
// mins/maxs: [quant_param_count(geo)] outputs.
Status min_max(const QuantKernel& kernel, const float* x, const QuantGeometry& geo, float* mins, float* maxs) noexcept;

}  // namespace distiq
