// The scalar specification of the fused Adam / AdamW step (native/include/distiq/optim.h has the sequence).
#include <cmath>

#include "distiq/optim.h"

namespace distiq {
namespace {

void adam_ref(const AdamStep& s, float* p, const float* g, float* m, float* v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float p1 = p[i] * s.decay;
    const float gi = s.l2 == 0.0f ? g[i] : g[i] + s.l2 * p1;
    const float m1 = s.b1 * m[i] + s.c1 * gi;
    const float v1 = s.b2 * v[i] + (s.c2 * gi) * gi;
    const float den = std::sqrt(v1) * s.inv_bc2 + s.eps;
    p[i] = p1 - (s.step_size * m1) / den;
    m[i] = m1;
    v[i] = v1;
  }
}

}  // namespace

const OptimKernel& optim_ref() noexcept {
  static const OptimKernel k{Isa::kRef, "adam_f32_ref", adam_ref};
  return k;
}

}  // namespace distiq
