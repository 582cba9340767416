// gemm_f32 driver: checks the arguments, handles the degenerate shapes, then runs one ISA kernel's tile function
// over the thread pool (distiq::parallel_for_2d), cutting only M and N at the kernel's m_step / n_step. K is never
// split, so each element's fmaf chain is the same sequence whatever the thread count or tiling.
//
// Argument rules (anything else is kInvalidArgument, nothing is touched):
//   m, n, k ≥ 0; lda ≥ (trans_a ? m : k), ldb ≥ (trans_b ? k : n), ldc ≥ n; alpha, beta any float;
//   a and b may be null only when m·n·k = 0 (then they are not read), c only when m·n = 0.
// k = 0 follows the contract expression with an empty chain: acc = 0, r = alpha·0 (a signed zero, or NaN when
// alpha is not finite), and when β ≠ 0, r = fmaf(β, C, r). So β = 0 gives C = α·0 (normally 0) without reading C.
#include <cmath>
#include <cstdint>

#include "distiq/gemm_f32.h"
#include "distiq/threadpool.h"

namespace distiq {
namespace {

// The k = 0 case, written once here so no kernel needs an empty-K path.
void scale_c_only(const GemmF32Args& g) {
  const float r0 = g.alpha * 0.0f;
  for (int64_t i = 0; i < g.m; ++i) {
    float* c = g.c + i * g.ldc;
    for (int64_t j = 0; j < g.n; ++j) c[j] = g.beta != 0.0f ? std::fmaf(g.beta, c[j], r0) : r0;
  }
}

}  // namespace

Status gemm_f32(const GemmF32Kernel& kernel, const GemmF32Args& g) noexcept {
  if (g.m < 0 || g.n < 0 || g.k < 0) return Status::kInvalidArgument;
  const int64_t a_row = g.trans_a ? g.m : g.k;
  const int64_t b_row = g.trans_b ? g.k : g.n;
  if (g.lda < a_row || g.ldb < b_row || g.ldc < g.n) return Status::kInvalidArgument;
  const bool reads_ab = g.m > 0 && g.n > 0 && g.k > 0;
  if (reads_ab && (g.a == nullptr || g.b == nullptr)) return Status::kInvalidArgument;
  if (g.c == nullptr && g.m > 0 && g.n > 0) return Status::kInvalidArgument;
  if (kernel.tile == nullptr) return Status::kInvalidArgument;
  if (g.m == 0 || g.n == 0) return Status::kOk;
  if (g.k == 0) {
    scale_c_only(g);
    return Status::kOk;
  }
  try {
    parallel_for_2d(g.m, g.n, kernel.m_step, kernel.n_step,
                    [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { kernel.tile(g, m0, m1, n0, n1); });
  } catch (...) {
    // Only thread creation inside the pool can throw (std::system_error / bad_alloc).
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

}  // namespace distiq
