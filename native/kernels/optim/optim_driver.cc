// Driver of the fused Adam / AdamW step: validates, then splits the elements over the pool at fixed 64 Ki
// boundaries (tensors below one chunk run on the calling thread). Element-wise, so the split never changes results.
#include <cmath>
#include <cstdint>
#include <new>

#include "distiq/optim.h"
#include "distiq/threadpool.h"

namespace distiq {
namespace {

constexpr int64_t kGrain = int64_t{1} << 16;

bool overlaps(const void* a, const void* b, int64_t bytes) {
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + static_cast<uintptr_t>(bytes) && pb < pa + static_cast<uintptr_t>(bytes);
}

bool scalars_finite(const AdamStep& s) {
  const float all[] = {s.decay, s.l2, s.b1, s.c1, s.b2, s.c2, s.step_size, s.inv_bc2, s.eps};
  for (float x : all) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

}  // namespace

Status adam_step(const OptimKernel& kernel, const AdamStep& s, float* p, const float* g, float* m, float* v,
                 int64_t n) noexcept {
  if (n < 0 || n > (int64_t{1} << 60) || !scalars_finite(s)) return Status::kInvalidArgument;
  if (n == 0) return Status::kOk;
  if (p == nullptr || g == nullptr || m == nullptr || v == nullptr) return Status::kInvalidArgument;
  const void* ptrs[] = {p, g, m, v};
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b) {
      if (overlaps(ptrs[a], ptrs[b], n * 4)) return Status::kInvalidArgument;
    }
  }
  if (n <= kGrain) {
    kernel.adam(s, p, g, m, v, n);
    return Status::kOk;
  }
  try {
    parallel_for(n, kGrain, [&](int64_t i0, int64_t i1) { kernel.adam(s, p + i0, g + i0, m + i0, v + i0, i1 - i0); });
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

}  // namespace distiq
