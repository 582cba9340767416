// gemm_f32 driver: checks the arguments, handles the degenerate shapes, then runs one ISA kernel's tile function
// over the thread pool (distiq::parallel_for_2d), cutting only M and N at multiples of the kernel's m_step /
// n_step. K is never split, so each element's fmaf chain is the same sequence whatever the thread count or tiling.
//
// Thread split: small products run on the calling thread (waking the pool costs more than they take). Larger ones
// get one tile per thread, arranged as a tm × tn grid that minimises the panels packed twice: every tile packs the
// op(A) rows and op(B) columns it covers, so cutting N repeats A's packing (≈ M·K) and cutting M repeats B's
// (≈ K·N; only re-read, not re-packed, when B is prepacked).
//
// Argument rules (anything else is kInvalidArgument, nothing is touched):
//   m, n, k ≥ 0; lda ≥ (trans_a ? m : k), ldb ≥ (trans_b ? k : n), ldc ≥ n; alpha, beta any float;
//   a and b may be null only when m·n·k = 0 (then they are not read), c only when m·n = 0;
//   b_panel ≥ 0, and when > 0 it equals kernel.pack_nr and trans_b is false (ldb is then not used).
// k = 0 follows the contract expression with an empty chain: acc = 0, r = alpha·0 (a signed zero, or NaN when
// alpha is not finite), and when β ≠ 0, r = fmaf(β, C, r). So β = 0 gives C = α·0 (normally 0) without reading C.
#include <cmath>
#include <cstdint>

#include "distiq/gemm_f32.h"
#include "distiq/threadpool.h"

namespace distiq {
namespace {

// Below this many flops per extra thread, one thread is faster (a pool wake-up is a few microseconds).
constexpr double kMinFlopsPerThread = 4.0e6;

struct Grid {
  int64_t tm = 1, tn = 1;
};

Grid choose_grid(const GemmF32Args& g, int64_t m_step, int64_t n_step, int threads) {
  const int64_t m_units = (g.m + m_step - 1) / m_step;
  const int64_t n_units = (g.n + n_step - 1) / n_step;
  const double flops = 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
  int64_t use = static_cast<int64_t>(flops / kMinFlopsPerThread);
  if (use > threads) use = threads;
  if (use > m_units * n_units) use = m_units * n_units;
  Grid best;
  if (use <= 1) return best;
  double best_cost = -1.0;
  for (int64_t tm = 1; tm <= use; ++tm) {
    if (use % tm != 0) continue;
    const int64_t tn = use / tm;
    if (tm > m_units || tn > n_units) continue;
    // Repeated packing, plus a penalty for short tiles (fewer rows per tile than two micro-kernel strips).
    // A prepacked B is not packed again by each row tile, only read (shared through L3): a quarter of the weight.
    const double b_weight = g.b_panel > 0 ? 0.25 : 1.0;
    double cost = static_cast<double>(tn) * static_cast<double>(g.m) +
                  b_weight * static_cast<double>(tm) * static_cast<double>(g.n);
    if (g.m / tm < 2 * m_step) cost *= 4.0;
    if (best_cost < 0.0 || cost < best_cost) {
      best_cost = cost;
      best.tm = tm;
      best.tn = tn;
    }
  }
  return best;
}

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
  if (g.b_panel < 0) return Status::kInvalidArgument;
  if (g.b_panel > 0 && (g.b_panel != kernel.pack_nr || g.trans_b)) return Status::kInvalidArgument;
  if (g.lda < a_row || (g.b_panel == 0 && g.ldb < b_row) || g.ldc < g.n) return Status::kInvalidArgument;
  const bool reads_ab = g.m > 0 && g.n > 0 && g.k > 0;
  if (reads_ab && (g.a == nullptr || g.b == nullptr)) return Status::kInvalidArgument;
  if (g.c == nullptr && g.m > 0 && g.n > 0) return Status::kInvalidArgument;
  if (kernel.tile == nullptr) return Status::kInvalidArgument;
  if (g.m == 0 || g.n == 0) return Status::kOk;
  if (g.k == 0) {
    scale_c_only(g);
    return Status::kOk;
  }
  const int64_t m_step = kernel.m_step > 0 ? kernel.m_step : 1;
  const int64_t n_step = kernel.n_step > 0 ? kernel.n_step : 1;
  const Grid grid = choose_grid(g, m_step, n_step, get_num_threads());
  if (grid.tm * grid.tn == 1) {
    kernel.tile(g, 0, g.m, 0, g.n);
    return Status::kOk;
  }
  // Tile extents: whole steps, so parallel_for_2d (which cuts at multiples of the steps it is given) forms exactly
  // the tm × tn grid.
  const int64_t m_units = (g.m + m_step - 1) / m_step;
  const int64_t n_units = (g.n + n_step - 1) / n_step;
  const int64_t m_per = (m_units + grid.tm - 1) / grid.tm * m_step;
  const int64_t n_per = (n_units + grid.tn - 1) / grid.tn * n_step;
  try {
    parallel_for_2d(g.m, g.n, m_per, n_per,
                    [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { kernel.tile(g, m0, m1, n0, n1); });
  } catch (...) {
    // Only thread creation inside the pool can throw (std::system_error / bad_alloc).
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

size_t gemm_f32_packed_floats(const GemmF32Kernel& kernel, int64_t k, int64_t n) noexcept {
  if (k <= 0 || n <= 0) return 0;
  const int64_t nr = kernel.pack_nr;
  const int64_t cols = nr > 0 ? (n + nr - 1) / nr * nr : n;
  return static_cast<size_t>(k) * static_cast<size_t>(cols);
}

Status gemm_f32_pack_b(const GemmF32Kernel& kernel, bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb,
                       float* dst) noexcept {
  if (k < 0 || n < 0 || kernel.pack_nr < 0) return Status::kInvalidArgument;
  if (k == 0 || n == 0) return Status::kOk;
  if (b == nullptr || dst == nullptr || ldb < (trans_b ? k : n)) return Status::kInvalidArgument;
  // op(B)[p, j]: b[p·ldb + j], or b[j·ldb + p] when transposed. Packing is done once per weight matrix, so plain
  // loops do; the transposed case walks 16 × 16 blocks so both sides stay in cache.
  const int64_t nr = kernel.pack_nr > 0 ? kernel.pack_nr : n;  // plain layout: one strip of n columns
  constexpr int64_t kBlock = 16;
  for (int64_t j0 = 0; j0 < n; j0 += nr) {
    const int64_t cols = (n - j0) < nr ? (n - j0) : nr;
    float* strip = dst + j0 * k;  // strip j0/nr starts at (j0/nr)·k·nr floats
    if (!trans_b) {
      for (int64_t p = 0; p < k; ++p) {
        const float* src = b + p * ldb + j0;
        float* d = strip + p * nr;
        for (int64_t c = 0; c < cols; ++c) d[c] = src[c];
        for (int64_t c = cols; c < nr; ++c) d[c] = 0.0f;
      }
      continue;
    }
    for (int64_t p0 = 0; p0 < k; p0 += kBlock) {
      const int64_t p1 = (k - p0) < kBlock ? k : p0 + kBlock;
      for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
        const int64_t c1 = (cols - c0) < kBlock ? cols : c0 + kBlock;
        for (int64_t c = c0; c < c1; ++c) {
          const float* src = b + (j0 + c) * ldb;
          for (int64_t p = p0; p < p1; ++p) strip[p * nr + c] = src[p];
        }
      }
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t c = cols; c < nr; ++c) strip[p * nr + c] = 0.0f;
    }
  }
  return Status::kOk;
}

void gemm_f32_use_packed(const GemmF32Kernel& kernel, const float* packed, GemmF32Args* g) noexcept {
  g->b = packed;
  g->trans_b = false;
  if (kernel.pack_nr > 0) {
    g->b_panel = kernel.pack_nr;
    g->ldb = kernel.pack_nr;
  } else {
    g->b_panel = 0;
    g->ldb = g->n;
  }
}

}  // namespace distiq
