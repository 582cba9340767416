// gemm_f32_ref: the scalar specification of fp32 GEMM (see distiq/gemm_f32.h).
//
// Contract: C[i,j] = α·Σ_p op(A)[i,p]·op(B)[p,j] + β·C[i,j], row-major with leading dimensions, every element
// computed as
//   acc = 0; for p = 0..k-1 (increasing): acc = fmaf(op(A)[i,p], op(B)[p,j], acc)
//   r = alpha * acc; if (beta != 0) r = fmaf(beta, C[i,j], r); C[i,j] = r
// Every SIMD path evaluates exactly this expression, so they are all bit-identical to this file. β = 0 never reads
// C. No tails, no overreads: plain loops over the requested tile.
#include <cmath>

#include "distiq/gemm_f32.h"

namespace distiq {
namespace {

void gemm_f32_ref_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
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

const GemmF32Kernel kGemmF32Ref{Isa::kRef, "gemm_f32_ref", 1, 1, gemm_f32_ref_tile};

}  // namespace

const GemmF32Kernel& gemm_f32_ref() noexcept { return kGemmF32Ref; }

}  // namespace distiq
