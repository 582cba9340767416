// Fused Adam / AdamW step, AVX-512: 16 floats per step, a masked step for the tail. The exact sequence of
// native/include/distiq/optim.h with plain mul/add (no FMA), correctly rounded sqrt/div: bit-exact with the ref.
#include <immintrin.h>

#include "distiq/optim.h"

namespace distiq {
namespace {

template <bool kL2>
inline void step16(const AdamStep& s, float* p, const float* g, float* m, float* v, __mmask16 k) {
  const __m512 pv = _mm512_maskz_loadu_ps(k, p);
  const __m512 gv = _mm512_maskz_loadu_ps(k, g);
  const __m512 mv = _mm512_maskz_loadu_ps(k, m);
  const __m512 vv = _mm512_maskz_loadu_ps(k, v);
  const __m512 p1 = _mm512_mul_ps(pv, _mm512_set1_ps(s.decay));
  const __m512 gi = kL2 ? _mm512_add_ps(gv, _mm512_mul_ps(_mm512_set1_ps(s.l2), p1)) : gv;
  const __m512 m1 = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(s.b1), mv), _mm512_mul_ps(_mm512_set1_ps(s.c1), gi));
  const __m512 v1 = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(s.b2), vv),
                                  _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(s.c2), gi), gi));
  const __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(v1), _mm512_set1_ps(s.inv_bc2)), _mm512_set1_ps(s.eps));
  const __m512 p2 = _mm512_sub_ps(p1, _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(s.step_size), m1), den));
  _mm512_mask_storeu_ps(p, k, p2);
  _mm512_mask_storeu_ps(m, k, m1);
  _mm512_mask_storeu_ps(v, k, v1);
}

template <bool kL2>
void adam_run(const AdamStep& s, float* p, const float* g, float* m, float* v, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) step16<kL2>(s, p + i, g + i, m + i, v + i, 0xFFFF);
  if (i < n) step16<kL2>(s, p + i, g + i, m + i, v + i, static_cast<__mmask16>((1u << (n - i)) - 1));
}

void adam_avx512(const AdamStep& s, float* p, const float* g, float* m, float* v, int64_t n) {
  if (s.l2 == 0.0f) {
    adam_run<false>(s, p, g, m, v, n);
  } else {
    adam_run<true>(s, p, g, m, v, n);
  }
}

}  // namespace

const OptimKernel& optim_avx512() noexcept {
  static const OptimKernel k{Isa::kAvx512, "adam_f32_avx512", adam_avx512};
  return k;
}

}  // namespace distiq
