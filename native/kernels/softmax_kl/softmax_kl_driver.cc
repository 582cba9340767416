// Drivers of the softmax family: softmax_kl() (the fused distillation loss) and softmax() / log-softmax.
// They validate the arguments (→ kInvalidArgument), split whole rows over the thread pool and turn the kernels'
// bad-row counts into kNonFinite. Rows are independent and every row is computed inside one chunk by one thread,
// so results never depend on the thread count.
//
// Labels and top-k indices are range-checked here, before any kernel runs, so an out-of-range value is reported
// as kInvalidArgument; the kernels re-check them anyway (they never index outside a row) and count them as bad.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cmath>
#include <new>

#include "distiq/softmax_kl.h"
#include "distiq/threadpool.h"

namespace distiq {
namespace {

// Rows per chunk: about 64 Ki elements of student logits, at least one row.
int64_t grain_rows(int64_t cols) { return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1)); }

bool shape_ok(int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0) return false;
  if (rows == 0) return true;
  int64_t n = 0;
  return cols >= 1 && !__builtin_mul_overflow(rows, cols, &n) && n <= (int64_t{1} << 60);  // bytes fit int64
}

// True when the byte ranges [a, a + an) and [b, b + bn) overlap (null or empty ranges never do).
bool overlaps(const void* a, int64_t an, const void* b, int64_t bn) {
  if (a == nullptr || b == nullptr || an <= 0 || bn <= 0) return false;
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + static_cast<uintptr_t>(bn) && pb < pa + static_cast<uintptr_t>(an);
}

Status check_kl_args(const SoftmaxKlArgs& a) {
  if (!shape_ok(a.rows, a.cols)) return Status::kInvalidArgument;
  if (!(std::isfinite(a.temperature) && a.temperature > 0.0f)) return Status::kInvalidArgument;
  if (!(a.alpha >= 0.0f && a.alpha <= 1.0f)) return Status::kInvalidArgument;
  if (!std::isfinite(a.grad_scale)) return Status::kInvalidArgument;
  const bool sparse = a.topk_index != nullptr || a.topk_logits != nullptr;
  if (sparse) {
    if (a.teacher != nullptr) return Status::kInvalidArgument;  // dense xor sparse
    if (a.topk_index == nullptr || a.topk_logits == nullptr) return Status::kInvalidArgument;
    if (a.rows > 0 && (a.topk < 1 || a.topk > a.cols)) return Status::kInvalidArgument;
  } else if (a.topk != 0) {
    return Status::kInvalidArgument;
  }
  if (a.rows == 0) return Status::kOk;
  if (a.student == nullptr || a.loss == nullptr) return Status::kInvalidArgument;
  // Outputs never share memory with inputs or each other (the kernels use the gradient row as scratch).
  const int64_t n = a.rows * a.cols * 4, nk = a.rows * a.topk * 4;
  const struct {
    const void* p;
    int64_t bytes;
  } inputs[] = {{a.student, n}, {a.teacher, n}, {a.topk_index, nk}, {a.topk_logits, nk}, {a.labels, a.rows * 4}};
  for (const auto& in : inputs) {
    if (overlaps(a.grad, n, in.p, in.bytes) || overlaps(a.loss, a.rows * 4, in.p, in.bytes)) {
      return Status::kInvalidArgument;
    }
  }
  if (overlaps(a.grad, n, a.loss, a.rows * 4)) return Status::kInvalidArgument;
  if (a.labels != nullptr) {
    for (int64_t r = 0; r < a.rows; ++r) {
      if (a.labels[r] < 0 || a.labels[r] >= a.cols) return Status::kInvalidArgument;
    }
  }
  if (sparse) {
    const int64_t n = a.rows * a.topk;  // ≤ rows·cols, no overflow
    for (int64_t i = 0; i < n; ++i) {
      if (a.topk_index[i] < 0 || a.topk_index[i] >= a.cols) return Status::kInvalidArgument;
    }
  }
  return Status::kOk;
}

}  // namespace

Status softmax_kl(const SoftmaxKernel& kernel, const SoftmaxKlArgs& args) noexcept {
  const Status st = check_kl_args(args);
  if (st != Status::kOk || args.rows == 0) return st;
  std::atomic<int64_t> bad{0};
  try {
    parallel_for(args.rows, grain_rows(args.cols), [&](int64_t r0, int64_t r1) {
      const int64_t n = kernel.softmax_kl(args, r0, r1);
      if (n != 0) bad.fetch_add(n, std::memory_order_relaxed);
    });
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return bad.load() == 0 ? Status::kOk : Status::kNonFinite;
}

Status softmax(const SoftmaxKernel& kernel, const float* x, int64_t rows, int64_t cols, float* out, bool log) noexcept {
  if (!shape_ok(rows, cols)) return Status::kInvalidArgument;
  if (rows == 0) return Status::kOk;
  if (x == nullptr || out == nullptr) return Status::kInvalidArgument;
  if (out != x && overlaps(out, rows * cols * 4, x, rows * cols * 4)) return Status::kInvalidArgument;
  std::atomic<int64_t> bad{0};
  try {
    parallel_for(rows, grain_rows(cols), [&](int64_t r0, int64_t r1) {
      const int64_t n = kernel.softmax(x, cols, out, log, r0, r1);
      if (n != 0) bad.fetch_add(n, std::memory_order_relaxed);
    });
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return bad.load() == 0 ? Status::kOk : Status::kNonFinite;
}

}  // namespace distiq
