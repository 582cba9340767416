// softmax_kl_f32_avx512 / softmax_f32_avx512 — the fused distillation loss and softmax on 16-lane zmm vectors.
//
// Contract: distiq/softmax_kl.h; the row algorithm (one read per pass, block-wise online max + Σexp, lane merge,
// gradient pass) is shared with avx2 in softmax_kl_rows.h. This file supplies the vector ops:
//  * exp, specified for x ≤ 0 (every argument the kernels form is x − max ≤ 0, or −Inf): results below FLT_MIN
//    (x < ln(FLT_MIN) = −87.3365, −Inf) are exactly 0 (zero-masked: no underflow, so no microcode assist);
//    n = round(x·log2 e) (an FMA with a 1.5·2^23 addend); r = x − n·ln2 (two-constant Cody–Waite split, FMA), so
//    |r| ≤ ln2/2; e^r ≈ 1 + r·Q(r) with Q of degree 5 (coefficients fitted for minimal relative error on that
//    interval, 6 FMAs in Horner form); the result is scaled by 2^n with vscalefps (−Inf → 0, the probability of a
//    masked class).
//  * log (only for Z ≥ 1, one vector per row): x = m·2^e (vgetexpps / vgetmantps), m folded into [√½, √2),
//    f = m − 1, log x = f − f²/2 + f³·P(f) + e·ln2 with a degree-8 P (Cephes logf coefficients).
//  Measured max error vs glibc expf/logf (native/test/test_softmax_kl.cc "exp/log accuracy", all floats in
//  [−104, 0] for exp, a dense sweep of [1, 2^24] for log): see docs/softmax-kl.md.
// Tails: masked loads (inactive lanes filled with −Inf, i.e. probability 0) and masked stores; masked-out lanes
// are never touched, so there is no overread past the end of a row. Gathers for the sparse teacher are masked too.
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

struct V512 {
  using F = __m512;
  using B = __mmask16;
  static constexpr int kLanes = 16;

  static constexpr int kAlignBytes = 64;
  static void stream(float* p, F v) { _mm512_stream_ps(p, v); }  // p aligned to kAlignBytes
  static void fence() { _mm_sfence(); }
  static void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static F load_part(const float* p, int n) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(-kInfF), static_cast<__mmask16>((1u << n) - 1u), p);
  }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void store_part(float* p, F v, int n) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
  }
  // {a, b, c, 1, 1, …}
  static F lanes3(float a, float b, float c) {
    return _mm512_mask_mov_ps(_mm512_set1_ps(1.0f), 0x0007, _mm512_castps128_ps512(_mm_setr_ps(a, b, c, 1.0f)));
  }
  // e·e, 0 where e < 2^−63 (zero-masked: the subnormal square is never formed).
  static F square_flush(F e) {
    return _mm512_maskz_mul_ps(_mm512_cmp_ps_mask(e, _mm512_set1_ps(1.0842022e-19f), _CMP_GE_OQ), e, e);
  }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }

  // NaN or +Inf lanes.
  static B is_bad(F x) { return _mm512_cmp_ps_mask(x, _mm512_set1_ps(kInfF), _CMP_NLT_UQ); }
  static B no_bad() { return 0; }
  static B or_bad(B a, B b) { return static_cast<B>(a | b); }
  static bool any_bad(B b) { return b != 0; }

  // −Inf lanes → 0, so a fully masked lane accumulates exp(x − 0) = 0 instead of NaN.
  static F safe_max(F m) {
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(m, _mm512_set1_ps(-kInfF), _CMP_EQ_OQ), _mm512_setzero_ps());
  }
  // acc + e·d where e > 0; lanes with e = 0 (teacher probability 0) are left alone, even if d is ±Inf.
  static F fmadd_where_pos(F e, F d, F acc) {
    return _mm512_mask3_fmadd_ps(e, d, acc, _mm512_cmp_ps_mask(e, _mm512_setzero_ps(), _CMP_GT_OQ));
  }
  static F sub_one_at(F x, int lane) {
    return _mm512_mask_sub_ps(x, static_cast<__mmask16>(1u << lane), x, _mm512_set1_ps(1.0f));
  }
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }

  // s[idx[l]] for the first n lanes (0 elsewhere); sets *bad if an index is outside [0, cols).
  static F gather_part(const float* s, const int32_t* idx, int n, int64_t cols, bool* bad) {
    const __mmask16 live = static_cast<__mmask16>((1u << n) - 1u);
    const __m512i id = _mm512_maskz_loadu_epi32(live, idx);
    __mmask16 ok = _mm512_mask_cmpge_epi32_mask(live, id, _mm512_setzero_si512());
    if (cols <= INT32_MAX) ok = _mm512_mask_cmplt_epi32_mask(ok, id, _mm512_set1_epi32(static_cast<int32_t>(cols)));
    if (ok != live) *bad = true;
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), ok, id, s, 4);
  }

  static F exp(F x0) {
    // Results below FLT_MIN (x < ln(FLT_MIN), −Inf, the −Inf fill of row tails) are flushed to exactly 0 by the
    // zero-masked vscalefps: computing them would underflow, and every underflowing lane costs a microcode assist
    // (≈ 150 cycles; it made rows of 10 classes ≈ 20× slower). The reference's subnormal results there are
    // < 1.2e-38, which the tolerances' absolute floor covers (avx2 flushes them the same way).
    const __mmask16 normal = _mm512_cmp_ps_mask(x0, _mm512_set1_ps(-87.3365402f), _CMP_GE_OQ);
    const F x = x0;  // masked-off lanes may turn NaN (−Inf − −Inf); the zero-masked vscalefps discards them
    // n = round(x·log2 e): adding 1.5·2^23 in the FMA rounds to an integer (cheaper than vrndscaleps).
    const F magic = _mm512_set1_ps(12582912.0f);
    const F n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), magic);
    F r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    F q = _mm512_set1_ps(0.0013843650231137872f);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.00837415549904108f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.04166800156235695f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.16666431725025177f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.4999999403953552f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(normal, _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f)), n);
  }

  // Natural log of positive normal floats.
  static F log(F x) {
    F e = _mm512_getexp_ps(x);                                     // floor(log2 x)
    F m = _mm512_getmant_ps(x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);  // [1, 2)
    const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356237f), _CMP_GT_OQ);
    m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
    e = _mm512_mask_add_ps(e, big, e, _mm512_set1_ps(1.0f));
    const F f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f));
    const F z = _mm512_mul_ps(f, f);
    F p = _mm512_set1_ps(7.0376836292e-2f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.1514610310e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.1676998740e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.2420140846e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.4249322787e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.6668057665e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.0000714765e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.4999993993e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.3333331174e-1f));
    F y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);                     // f³·P(f)
    y = _mm512_fmadd_ps(e, _mm512_set1_ps(-2.12194440e-4f), y);
    y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
    F r = _mm512_add_ps(f, y);
    return _mm512_fmadd_ps(e, _mm512_set1_ps(0.693359375f), r);
  }
};

int64_t softmax_kl_f32_avx512(const SoftmaxKlArgs& a, int64_t r0, int64_t r1) {
  return softmax_kl_rows<V512>(a, r0, r1);
}

int64_t softmax_f32_avx512(const float* x, int64_t cols, float* out, bool log, int64_t r0, int64_t r1) {
  return softmax_rows<V512>(x, cols, out, log, r0, r1);
}

void exp_f32_avx512(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) store_row<V512>(y, i, n, V512::exp(load_row<V512>(x, i, n)));
}

void log_f32_avx512(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const int m = n - i < 16 ? static_cast<int>(n - i) : 16;
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), static_cast<__mmask16>((1u << m) - 1u), x + i);
    store_row<V512>(y, i, n, V512::log(v));
  }
}

}  // namespace

const SoftmaxKernel& softmax_avx512() noexcept {
  static const SoftmaxKernel k{Isa::kAvx512,       "softmax_kl_f32_avx512", "softmax_f32_avx512",
                              softmax_kl_f32_avx512, softmax_f32_avx512,      exp_f32_avx512,
                              log_f32_avx512};
  return k;
}

}  // namespace distiq
