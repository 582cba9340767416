// softmax_kl_f32_neon / softmax_f32_neon — the fused distillation loss and softmax on 4-lane float32x4 vectors
// (AArch64 Advanced SIMD, armv8.0-a: every arm64 level, Pi 4 included).
//
// Contract: distiq/softmax_kl.h, within the tolerance of docs/softmax-kl.md. The row algorithm (one read per
// pass, block-wise online max + Σexp, lane merge, gradient pass) is softmax_kl_rows.h, shared with the x86
// kernels and included into this file's anonymous namespace; this file supplies the vector ops, and its exp/log
// are the same polynomials as the x86 files (so every level has the same error budget):
//  * exp: inputs below ln(FLT_MIN) = −87.3365 give exactly 0 (−Inf → 0: a masked class); otherwise x ≤ 88;
//    n = round-half-even(x·log2 e) (vrndnq_f32); r = x − n·ln2 in two Cody–Waite steps (vfmsq_f32);
//    e^r ≈ 1 + r·Q(r), Q of degree 5 in Horner form (vfmaq_f32); times 2^n built in the exponent bits (a float
//    multiply). NaN inputs are cleared by the final "x ≥ ln(FLT_MIN)" mask like the x86 path.
//  * log (positive normal inputs): exponent and mantissa from the bits, mantissa folded into [√½, √2),
//    f = m − 1, log x = f − f²/2 + f³·P(f) + e·ln2 with a degree-8 P (Cephes logf coefficients).
// Masks are uint32x4_t lane masks. Tails: lane-by-lane loads (missing lanes = −Inf, probability 0) and stores,
// so nothing past the end of a row is read or written; sparse-teacher gathers are scalar and range-checked.
// NEON has no non-temporal store intrinsic: the header's "stream" stores are plain stores here.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "distiq/scratch.h"
#include "distiq/softmax_kl.h"

namespace distiq {
namespace {

#include "softmax_kl_rows.h"

struct VNeon {
  using F = float32x4_t;
  using B = uint32x4_t;  // lane masks (all ones = true)
  static constexpr int kLanes = 4;
  static constexpr int kAlignBytes = 16;

  static void prefetch(const float* p) { __builtin_prefetch(p, 1, 3); }
  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float v) { return vdupq_n_f32(v); }
  static F load(const float* p) { return vld1q_f32(p); }
  // The first n (1..3) lanes from p, −Inf in the others; reads only p[0..n).
  static F load_part(const float* p, int n) {
    F v = vdupq_n_f32(-kInfF);
    v = vld1q_lane_f32(p, v, 0);
    if (n > 1) v = vld1q_lane_f32(p + 1, v, 1);
    if (n > 2) v = vld1q_lane_f32(p + 2, v, 2);
    return v;
  }
  static void store(float* p, F v) { vst1q_f32(p, v); }
  static void store_part(float* p, F v, int n) {
    vst1q_lane_f32(p, v, 0);
    if (n > 1) vst1q_lane_f32(p + 1, v, 1);
    if (n > 2) vst1q_lane_f32(p + 2, v, 2);
  }
  static void stream(float* p, F v) { vst1q_f32(p, v); }
  static void fence() {}
  // {a, b, c, 1}
  static F lanes3(float a, float b, float c) {
    return vsetq_lane_f32(c, vsetq_lane_f32(b, vsetq_lane_f32(a, vdupq_n_f32(1.0f), 0), 1), 2);
  }
  // e·e, 0 where e < 2^−63 (such e are zeroed first: the subnormal square is never formed).
  static F square_flush(F e) {
    const F k = vbslq_f32(vcgeq_f32(e, vdupq_n_f32(1.0842022e-19f)), e, vdupq_n_f32(0.0f));
    return vmulq_f32(k, k);
  }
  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F max(F a, F b) { return vmaxq_f32(a, b); }

  // NaN or +Inf lanes: !(x < +Inf).
  static B is_bad(F x) { return vmvnq_u32(vcltq_f32(x, vdupq_n_f32(kInfF))); }
  static B no_bad() { return vdupq_n_u32(0); }
  static B or_bad(B a, B b) { return vorrq_u32(a, b); }
  static bool any_bad(B b) { return vmaxvq_u32(b) != 0; }

  // −Inf lanes → 0, so a fully masked lane accumulates exp(x − 0) = 0 instead of NaN.
  static F safe_max(F m) { return vbslq_f32(vceqq_f32(m, vdupq_n_f32(-kInfF)), vdupq_n_f32(0.0f), m); }
  // acc + e·d where e > 0; lanes with e = 0 (teacher probability 0) are left alone, even if d is ±Inf.
  static F fmadd_where_pos(F e, F d, F acc) { return vbslq_f32(vcgtq_f32(e, vdupq_n_f32(0.0f)), vfmaq_f32(acc, e, d), acc); }
  static F sub_one_at(F x, int lane) {
    static const uint32_t kIota[4] = {0, 1, 2, 3};
    const B at = vceqq_u32(vld1q_u32(kIota), vdupq_n_u32(static_cast<uint32_t>(lane)));
    return vsubq_f32(x, vreinterpretq_f32_u32(vandq_u32(at, vreinterpretq_u32_f32(vdupq_n_f32(1.0f)))));
  }
  static float hmax(F v) { return vmaxvq_f32(v); }
  static float hsum(F v) { return vaddvq_f32(v); }

  // s[idx[l]] for the first n lanes (0 elsewhere); sets *bad if an index is outside [0, cols).
  static F gather_part(const float* s, const int32_t* idx, int n, int64_t cols, bool* bad) {
    float lanes[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int l = 0; l < n; ++l) {
      const int64_t i = idx[l];
      if (i < 0 || i >= cols) {
        *bad = true;
      } else {
        lanes[l] = s[i];
      }
    }
    return vld1q_f32(lanes);
  }

  static F exp(F x0) {
    const F lo = vdupq_n_f32(-87.3365402f);  // ≈ ln(FLT_MIN): 2^n stays a normal float
    const F x = vminq_f32(vmaxq_f32(x0, lo), vdupq_n_f32(88.0f));
    const F n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    F r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    F q = vdupq_n_f32(0.0013843650231137872f);
    q = vfmaq_f32(vdupq_n_f32(0.00837415549904108f), q, r);
    q = vfmaq_f32(vdupq_n_f32(0.04166800156235695f), q, r);
    q = vfmaq_f32(vdupq_n_f32(0.16666431725025177f), q, r);
    q = vfmaq_f32(vdupq_n_f32(0.4999999403953552f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.0f), q, r);
    const F p = vfmaq_f32(vdupq_n_f32(1.0f), q, r);
    // n is integral and in [−126, 127] (NaN lanes give garbage here, cleared by the mask below).
    const int32x4_t bits = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const F y = vmulq_f32(p, vreinterpretq_f32_s32(bits));
    const B keep = vcgeq_f32(x0, lo);  // below ln(FLT_MIN), −Inf and NaN → 0
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(y), keep));
  }

  // Natural log of positive normal floats.
  static F log(F x) {
    const uint32x4_t bits = vreinterpretq_u32_f32(x);
    F e = vcvtq_f32_s32(vsubq_s32(vreinterpretq_s32_u32(vshrq_n_u32(bits, 23)), vdupq_n_s32(127)));
    F m = vreinterpretq_f32_u32(vorrq_u32(vandq_u32(bits, vdupq_n_u32(0x007fffff)), vdupq_n_u32(0x3f800000)));
    const B big = vcgtq_f32(m, vdupq_n_f32(1.41421356237f));
    m = vbslq_f32(big, vmulq_f32(m, vdupq_n_f32(0.5f)), m);
    e = vaddq_f32(e, vreinterpretq_f32_u32(vandq_u32(big, vreinterpretq_u32_f32(vdupq_n_f32(1.0f)))));
    const F f = vsubq_f32(m, vdupq_n_f32(1.0f));
    const F z = vmulq_f32(f, f);
    F p = vdupq_n_f32(7.0376836292e-2f);
    p = vfmaq_f32(vdupq_n_f32(-1.1514610310e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(1.1676998740e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(-1.2420140846e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(1.4249322787e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(-1.6668057665e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(2.0000714765e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(-2.4999993993e-1f), p, f);
    p = vfmaq_f32(vdupq_n_f32(3.3333331174e-1f), p, f);
    F y = vmulq_f32(vmulq_f32(p, f), z);  // f³·P(f)
    y = vfmaq_f32(y, e, vdupq_n_f32(-2.12194440e-4f));
    y = vfmsq_f32(y, z, vdupq_n_f32(0.5f));
    const F r = vaddq_f32(f, y);
    return vfmaq_f32(r, e, vdupq_n_f32(0.693359375f));
  }
};

int64_t softmax_kl_f32_neon(const SoftmaxKlArgs& a, int64_t r0, int64_t r1) { return softmax_kl_rows<VNeon>(a, r0, r1); }

int64_t softmax_f32_neon(const float* x, int64_t cols, float* out, bool log, int64_t r0, int64_t r1) {
  return softmax_rows<VNeon>(x, cols, out, log, r0, r1);
}

void exp_f32_neon(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += VNeon::kLanes) store_row<VNeon>(y, i, n, VNeon::exp(load_row<VNeon>(x, i, n)));
}

void log_f32_neon(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += VNeon::kLanes) {
    float lanes[4] = {1.0f, 1.0f, 1.0f, 1.0f};  // log(1) = 0 in the unused lanes of a tail
    const int m = n - i < VNeon::kLanes ? static_cast<int>(n - i) : VNeon::kLanes;
    for (int l = 0; l < m; ++l) lanes[l] = x[i + l];
    store_row<VNeon>(y, i, n, VNeon::log(vld1q_f32(lanes)));
  }
}

}  // namespace

const SoftmaxKernel& softmax_neon() noexcept {
  static const SoftmaxKernel k{Isa::kNeon,       "softmax_kl_f32_neon", "softmax_f32_neon", softmax_kl_f32_neon,
                              softmax_f32_neon, exp_f32_neon,          log_f32_neon};
  return k;
}

}  // namespace distiq
