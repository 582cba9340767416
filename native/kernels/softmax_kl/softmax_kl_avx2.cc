// softmax_kl_f32_avx2 / softmax_f32_avx2 — the fused distillation loss and softmax on 8-lane ymm vectors
// (AVX2 + FMA).
//
// Contract: distiq/softmax_kl.h; the row algorithm (one read per pass, block-wise online max + Σexp, lane merge,
// gradient pass) is shared with avx512 in softmax_kl_rows.h. This file supplies the vector ops:
//  * exp: inputs below ln(FLT_MIN) = −87.3365 give exactly 0 (so −Inf → 0, the probability of a masked class; the
//    reference's subnormal results there are < 1.2e-38); otherwise x ≤ 88; n = round(x·log2 e) ∈ [−126, 127]
//    (one FMA with a 1.5·2^23 + 127 "magic" addend, which also leaves n + 127 ready to shift into an exponent);
//    r = x − n·ln2 (two-constant Cody–Waite split, FMA), |r| ≤ ln2/2; e^r ≈ 1 + r·Q(r) with Q of degree 5
//    (coefficients fitted for minimal relative error on that interval, 6 FMAs in Horner form); times 2^n built in
//    the exponent bits (a float multiply, so results that fall into the subnormal range round correctly).
//  * log (only for Z ≥ 1, one vector per row): exponent and mantissa from the bits, mantissa folded into
//    [√½, √2), f = m − 1, log x = f − f²/2 + f³·P(f) + e·ln2 with a degree-8 P (Cephes logf coefficients).
//  Measured max error vs glibc expf/logf: see docs/softmax-kl.md and the "exp/log accuracy" C++ test.
// Tails: vmaskmovps loads (inactive lanes filled with −Inf, i.e. probability 0) and stores; masked-out lanes are
// never touched, so there is no overread past the end of a row. Gathers for the sparse teacher are masked too.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "distiq/scratch.h"
#include "distiq/softmax_kl.h"

namespace distiq {
namespace {

#include "softmax_kl_rows.h"

struct V256 {
  using F = __m256;
  using B = __m256;  // lane masks as all-ones floats
  static constexpr int kLanes = 8;

  static __m256i iota() { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
  static __m256i first(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), iota()); }

  static constexpr int kAlignBytes = 32;
  static void stream(float* p, F v) { _mm256_stream_ps(p, v); }  // p aligned to kAlignBytes
  static void fence() { _mm_sfence(); }
  static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static F load_part(const float* p, int n) {
    const __m256i live = first(n);
    return _mm256_blendv_ps(_mm256_set1_ps(-kInfF), _mm256_maskload_ps(p, live), _mm256_castsi256_ps(live));
  }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void store_part(float* p, F v, int n) { _mm256_maskstore_ps(p, first(n), v); }
  // {a, b, c, 1, 1, …}
  static F lanes3(float a, float b, float c) { return _mm256_setr_ps(a, b, c, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f); }
  // e·e, 0 where e < 2^−63 (such e are zeroed first: the subnormal square is never formed).
  static F square_flush(F e) {
    const F k = _mm256_and_ps(e, _mm256_cmp_ps(e, _mm256_set1_ps(1.0842022e-19f), _CMP_GE_OQ));
    return _mm256_mul_ps(k, k);
  }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }

  // NaN or +Inf lanes.
  static B is_bad(F x) { return _mm256_cmp_ps(x, _mm256_set1_ps(kInfF), _CMP_NLT_UQ); }
  static B no_bad() { return _mm256_setzero_ps(); }
  static B or_bad(B a, B b) { return _mm256_or_ps(a, b); }
  static bool any_bad(B b) { return _mm256_movemask_ps(b) != 0; }

  // −Inf lanes → 0, so a fully masked lane accumulates exp(x − 0) = 0 instead of NaN.
  static F safe_max(F m) {
    return _mm256_blendv_ps(m, _mm256_setzero_ps(), _mm256_cmp_ps(m, _mm256_set1_ps(-kInfF), _CMP_EQ_OQ));
  }
  // acc + e·d where e > 0; lanes with e = 0 (teacher probability 0) are left alone, even if d is ±Inf.
  static F fmadd_where_pos(F e, F d, F acc) {
    return _mm256_blendv_ps(acc, _mm256_fmadd_ps(e, d, acc), _mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_GT_OQ));
  }
  static F sub_one_at(F x, int lane) {
    const __m256 at = _mm256_castsi256_ps(_mm256_cmpeq_epi32(iota(), _mm256_set1_epi32(lane)));
    return _mm256_sub_ps(x, _mm256_and_ps(at, _mm256_set1_ps(1.0f)));
  }
  static float hmax(F v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
  }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }

  // s[idx[l]] for the first n lanes (0 elsewhere); sets *bad if an index is outside [0, cols).
  static F gather_part(const float* s, const int32_t* idx, int n, int64_t cols, bool* bad) {
    const __m256i live = first(n);
    const __m256i id = _mm256_maskload_epi32(idx, live);
    __m256i ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), id), live);
    if (cols <= INT32_MAX) ok = _mm256_and_si256(ok, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(cols)), id));
    if (_mm256_movemask_ps(_mm256_castsi256_ps(ok)) != _mm256_movemask_ps(_mm256_castsi256_ps(live))) *bad = true;
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), s, id, _mm256_castsi256_ps(ok), 4);
  }

  static F exp(F x0) {
    const F lo = _mm256_set1_ps(-87.3365402f);  // ≈ ln(FLT_MIN): 2^n stays a normal float
    const F x = _mm256_min_ps(_mm256_max_ps(x0, lo), _mm256_set1_ps(88.0f));
    // n = round(x·log2 e) with the "magic number" trick: adding 1.5·2^23 + 127 rounds to an integer and leaves
    // n + 127 in the low mantissa bits of t, which one shift moves into the exponent field to build 2^n.
    const F magic = _mm256_set1_ps(12582912.0f + 127.0f);
    const F t = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic);
    const F n = _mm256_sub_ps(t, magic);
    F r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    F q = _mm256_set1_ps(0.0013843650231137872f);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.00837415549904108f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.04166800156235695f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.16666431725025177f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.4999999403953552f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
    const F p = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_castps_si256(t), 23);  // (n + 127) << 23 = 2^n
    const F y = _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
    return _mm256_and_ps(y, _mm256_cmp_ps(x0, lo, _CMP_GE_OQ));  // below ln(FLT_MIN), −Inf and NaN → 0
  }

  // Natural log of positive normal floats.
  static F log(F x) {
    const __m256i bits = _mm256_castps_si256(x);
    F e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127)));
    F m = _mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
    const F big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
    e = _mm256_add_ps(e, _mm256_and_ps(big, _mm256_set1_ps(1.0f)));
    const F f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
    const F z = _mm256_mul_ps(f, f);
    F p = _mm256_set1_ps(7.0376836292e-2f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
    F y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);  // f³·P(f)
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    const F r = _mm256_add_ps(f, y);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), r);
  }
};

int64_t softmax_kl_f32_avx2(const SoftmaxKlArgs& a, int64_t r0, int64_t r1) { return softmax_kl_rows<V256>(a, r0, r1); }

int64_t softmax_f32_avx2(const float* x, int64_t cols, float* out, bool log, int64_t r0, int64_t r1) {
  return softmax_rows<V256>(x, cols, out, log, r0, r1);
}

void exp_f32_avx2(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) store_row<V256>(y, i, n, V256::exp(load_row<V256>(x, i, n)));
}

void log_f32_avx2(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 8) {
    const int m = n - i < 8 ? static_cast<int>(n - i) : 8;
    const __m256 v = _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_maskload_ps(x + i, V256::first(m)),
                                      _mm256_castsi256_ps(V256::first(m)));
    store_row<V256>(y, i, n, V256::log(v));
  }
}

}  // namespace

const SoftmaxKernel& softmax_avx2() noexcept {
  static const SoftmaxKernel k{Isa::kAvx2,       "softmax_kl_f32_avx2", "softmax_f32_avx2", softmax_kl_f32_avx2,
                              softmax_f32_avx2, exp_f32_avx2,          log_f32_avx2};
  return k;
}

}  // namespace distiq
