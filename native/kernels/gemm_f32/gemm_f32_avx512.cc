// gemm_f32_avx512: placeholder tile (scalar loops, bit-identical to the ref) until the register-blocked kernel lands.
#include <cmath>

#include "distiq/gemm_f32.h"

namespace distiq {
namespace {

void gemm_f32_avx512_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t i = m0; i < m1; ++i) {
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < g.k; ++p) {
        const float a = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        const float b = g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        acc = std::fmaf(a, b, acc);
      }
      float r = g.alpha * acc;
      float* c = g.c + i * g.ldc + j;
      if (g.beta != 0.0f) r = std::fmaf(g.beta, *c, r);
      *c = r;
    }
  }
}

const GemmF32Kernel kKernel{Isa::kAvx512, "gemm_f32_avx512", 8, 16, gemm_f32_avx512_tile};

}  // namespace

const GemmF32Kernel& gemm_f32_avx512() noexcept { return kKernel; }

}  // namespace distiq
