// int4 weight-only GEMM/GEMV with int8 activations (dynamic per-row quantization): the llama.cpp Q4-style path.
//
//   y[m, n] = Σ_k x[m, k] · W[n, k]      with W ≈ s[n, g] · (q[n, k] − z[n, g]),  g = k / group
//
// Weights. W [N, K] (a Linear weight: output channel = row) is given as 4-bit codes plus one float32 scale per
// (row, group) and optionally a zero point per (row, group):
//   - signed codes q ∈ [−8, 7] (int4, the full range: any signed scheme's codes are accepted, including the
//     symmetric [−7, 7] RTN of pack_s4_from_float), zero points z ∈ [−8, 7] or none (z = 0);
//   - unsigned codes q ∈ [0, 15] (uint4, asymmetric schemes), zero points z ∈ [0, 15] or none (z = 0).
// Internally both are u = q + 8 (signed) or u = q (unsigned), u ∈ [0, 15], with z' shifted the same way, so
// q − z = u − z' with |u − z'| ≤ 15 and every path computes Σ a·(u − z') = Σ a·u − z'·Σ a exactly in int32.
// Groups: contiguous runs of `group` elements along K (group ≥ 1; group ≥ K means one group per row, i.e.
// per-channel); the last group of a row is short when group does not divide K. G = ceil(K / group) groups per row.
// Limit: the effective group length min(group, K) ≤ kGemmS4MaxGroup (keeps 127·15·len < 2^31); beyond it is
// kLimitExceeded. K itself is not limited further (groups accumulate in float).
// Any group size works; the SIMD layouts round each group up to a multiple of 8 internally (zero-padded), so group
// sizes that are multiples of 8 (32, 64, 128, or K itself for per-channel) waste nothing.
//
// Activations. x [M, K] float32 (row stride lda) is quantized per row, exactly like the quantize family's
// symmetric int8 (true division, round half to even):
//   absmax = max_k |x[m, k]|;  a_scale[m] = absmax / 127.0f;
//   a[m, k] = a_scale[m] > 0 ? clamp(nearbyintf(x[m, k] / a_scale[m]), −127, 127) : 0
// (an all-zero row — or one whose absmax/127 underflows to 0 — has a_scale 0 and all a = 0, so y = bias).
// NaN or ±Inf anywhere in x is kNonFinite (the output is then unspecified).
//
// The exact float expression (identical on every path, so outputs are bit-exact across ISAs and thread counts):
//   dot_g = Σ_{k in group g} a[m, k] · (u[n, k] − z'[n, g])                      (exact int32)
//   acc = 0.0f;  for g = 0 .. G−1 in order:  acc = fmaf((float)dot_g, s[n, g], acc)
//   y[m, n] = fmaf(acc, a_scale[m], bias ? bias[n] : 0.0f)
// (float)dot_g rounds to nearest even (exact whenever |dot_g| < 2^24).
//
// Packing. Weights are packed once into the private layout of one ISA's kernel (PackedS4 records it); using them
// with another kernel is kLayoutMismatch. Sources: already-quantized codes in DESIGN §3 int4 storage (rows of
// ceil(K/2) bytes, element 2i in the low nibble of byte i, 2i+1 in the high nibble) + scales [N, G] + optional
// zero points [N, G] (GemmS4Codes), or float weights (pack_s4_from_float: symmetric round-to-nearest, see there).
#pragma once

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq {

constexpr int64_t kGemmS4MaxGroup = int64_t{1} << 20;

// Quantized weights as the user holds them (the pack source).
struct GemmS4Codes {
  int64_t n = 0, k = 0, group = 0;  // group ≥ 1 (values ≥ k mean per-channel)
  bool is_signed = true;            // int4 codes (low nibble two's complement) vs uint4
  const uint8_t* codes = nullptr;   // [n, ceil(k/2)] bytes, DESIGN §3 nibble order; pad nibbles ignored
  const float* scales = nullptr;    // [n, G] finite
  const int32_t* zero_points = nullptr;  // [n, G] in the code range, or null (z = 0)
};

// Groups per row for (k, group): ceil(k / group) (0 when k == 0); −1 if group < 1 or k < 0.
int64_t gemm_s4_groups(int64_t k, int64_t group) noexcept;

// Checks a GemmS4Codes (dims, group limit, scales finite, zero points and — through the codes — nothing else: every
// nibble is a valid code). kInvalidArgument / kLimitExceeded / kNonFinite.
Status gemm_s4_check_codes(const GemmS4Codes& src) noexcept;

// A view of packed weights; the bytes are owned by the caller (the addon's PackedWeightsS4 object).
struct PackedS4 {
  int64_t n = 0, k = 0, group = 0;
  Isa layout = Isa::kRef;
  bool has_zp = false;   // per-(row, group) zero points stored; else z' = zp_const everywhere
  int32_t zp_const = 0;  // z' when !has_zp: 8 for signed codes without zero points, 0 for unsigned
  bool scales_f16 = false;  // the layout stores the scales as float16 (only when every one converts exactly)
  const uint8_t* data = nullptr;  // kernel-private layout, packed_bytes(...) bytes
};

// The activations of one call, quantized by the driver (kernel.quantize_rows) into per-thread scratch.
struct GemmS4Run {
  int64_t m = 0;
  const PackedS4* w = nullptr;
  const int8_t* aq = nullptr;    // [m, kq]: per row, each group's values then zeros up to the kernel's padded length
  int64_t kq = 0;                // row stride of aq (kernel.padded_k)
  const float* a_scale = nullptr;  // [m]
  const int32_t* a_gsum = nullptr;  // [m, G]: Σ_{k in g} a[m, k]
  const float* bias = nullptr;   // [n] or null
  float* y = nullptr;            // [m, n], row stride ldy
  int64_t ldy = 0;
};

struct GemmS4Kernel {
  Isa isa;
  const char* name;  // e.g. "gemm_s4_avx512vnni"
  int64_t m_step, n_step;
  // Padded row length of the quantized activations (and of each packed weight row) for (k, group).
  int64_t (*padded_k)(int64_t k, int64_t group);
  // Bytes pack() writes for these (checked) codes; depends on dims, zero points and, for layouts that store float16
  // scales when every scale is exactly representable, on the scale values.
  size_t (*packed_bytes)(const GemmS4Codes& src);
  // Packs checked codes into dst (packed_bytes bytes, any alignment) and fills the view's has_zp / zp_const /
  // scales_f16.
  void (*pack)(const GemmS4Codes& src, uint8_t* dst, PackedS4* view);
  // Quantizes rows [m0, m1) of x (row stride lda, k columns) into aq (stride kq), a_scale and a_gsum (stride G).
  // Returns the number of non-finite inputs seen (0 = fine).
  int64_t (*quantize_rows)(const float* x, int64_t lda, int64_t k, int64_t group, int64_t m0, int64_t m1,
                           int8_t* aq, int64_t kq, float* a_scale, int32_t* a_gsum);
  // y[m0:m1, n0:n1] completely (all groups, epilogue included); same bits for an element in any tile.
  void (*tile)(const GemmS4Run& run, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
};

const GemmS4Kernel& gemm_s4_ref() noexcept;
const GemmS4Kernel& gemm_s4_avx2() noexcept;
const GemmS4Kernel& gemm_s4_avxvnni() noexcept;
const GemmS4Kernel& gemm_s4_avx512() noexcept;
const GemmS4Kernel& gemm_s4_avx512vnni() noexcept;
const GemmS4Kernel& gemm_s4_neon() noexcept;
const GemmS4Kernel& gemm_s4_neondot() noexcept;

// Packs checked codes with `kernel`: dst must hold kernel.packed_bytes(src) bytes.
// Returns kInvalidArgument / kLimitExceeded / kNonFinite for bad codes (see gemm_s4_check_codes); fills *view.
Status pack_s4(const GemmS4Kernel& kernel, const GemmS4Codes& src, uint8_t* dst, PackedS4* view) noexcept;

// Symmetric round-to-nearest int4 of float weights w [n, k] (row stride ldw), per group:
//   s[n, g] = max_{k in g} |w| / 7.0f, or with f16_scales that value rounded to the nearest float16 (half to
//             even; the llama.cpp Q4_0 convention: the SIMD layouts then store 2 bytes per scale instead of 4);
//             a zero (or float16-underflowing) s becomes 1.0f, so an all-zero group codes to 0 with a finite scale
//   q = clamp(nearbyintf(w / s), −7, 7)
// writing codes (DESIGN §3 storage, [n, ceil(k/2)] bytes, pad nibble 0) and scales [n, G]. kNonFinite for NaN/Inf
// (and for a float16 scale that overflows, i.e. max |w| / 7 > 65504).
Status quantize_s4_rtn(const float* w, int64_t ldw, int64_t n, int64_t k, int64_t group, bool f16_scales,
                       uint8_t* codes, float* scales) noexcept;

// float ↔ float16 (IEEE binary16) in plain scalar code: f32_to_f16_rne rounds half to even (overflow → ±Inf);
// f32_fits_f16 is true when the conversion is exact.
uint16_t f32_to_f16_rne(float f) noexcept;
float f16_to_f32(uint16_t h) noexcept;
bool f32_fits_f16(float f) noexcept;

// The GEMM: quantizes x per row, then y = the expression above, split over the thread pool (M and N only).
Status gemm_s4(const GemmS4Kernel& kernel, const PackedS4& w, const float* x, int64_t m, int64_t lda,
               const float* bias, float* y, int64_t ldy) noexcept;

}  // namespace distiq
