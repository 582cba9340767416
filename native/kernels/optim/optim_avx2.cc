// Fused Adam / AdamW step, AVX2: 8 floats per step, masked loads/stores for the tail. The exact sequence of
// native/include/distiq/optim.h with plain mul/add (no FMA), correctly rounded sqrt/div: bit-exact with the ref.
#include <immintrin.h>

#include "distiq/optim.h"

namespace distiq {
namespace {

template <bool kL2>
inline void step8(const AdamStep& s, float* p, const float* g, float* m, float* v, __m256i mask, bool full) {
  const __m256 pv = full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
  const __m256 gv = full ? _mm256_loadu_ps(g) : _mm256_maskload_ps(g, mask);
  const __m256 mv = full ? _mm256_loadu_ps(m) : _mm256_maskload_ps(m, mask);
  const __m256 vv = full ? _mm256_loadu_ps(v) : _mm256_maskload_ps(v, mask);
  const __m256 p1 = _mm256_mul_ps(pv, _mm256_set1_ps(s.decay));
  const __m256 gi = kL2 ? _mm256_add_ps(gv, _mm256_mul_ps(_mm256_set1_ps(s.l2), p1)) : gv;
  const __m256 m1 = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(s.b1), mv), _mm256_mul_ps(_mm256_set1_ps(s.c1), gi));
  const __m256 v1 = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(s.b2), vv),
                                  _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(s.c2), gi), gi));
  const __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(v1), _mm256_set1_ps(s.inv_bc2)), _mm256_set1_ps(s.eps));
  const __m256 p2 = _mm256_sub_ps(p1, _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(s.step_size), m1), den));
  if (full) {
    _mm256_storeu_ps(p, p2);
    _mm256_storeu_ps(m, m1);
    _mm256_storeu_ps(v, v1);
  } else {
    _mm256_maskstore_ps(p, mask, p2);
    _mm256_maskstore_ps(m, mask, m1);
    _mm256_maskstore_ps(v, mask, v1);
  }
}

template <bool kL2>
void adam_run(const AdamStep& s, float* p, const float* g, float* m, float* v, int64_t n) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) step8<kL2>(s, p + i, g + i, m + i, v + i, all, true);
  if (i < n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), lane);
    step8<kL2>(s, p + i, g + i, m + i, v + i, mask, false);
  }
}

void adam_avx2(const AdamStep& s, float* p, const float* g, float* m, float* v, int64_t n) {
  if (s.l2 == 0.0f) {
    adam_run<false>(s, p, g, m, v, n);
  } else {
    adam_run<true>(s, p, g, m, v, n);
  }
}

}  // namespace

const OptimKernel& optim_avx2() noexcept {
  static const OptimKernel k{Isa::kAvx2, "adam_f32_avx2", adam_avx2};
  return k;
}

}  // namespace distiq
