// The one native thread pool (DESIGN §4). Ops split work into independent chunks whose boundaries do not depend
// on the thread count, so results are identical for any setting.
#pragma once

#include <cstdint>
#include <functional>

namespace distiq {

// Threads used by parallel_for, including the caller. Default: std::thread::hardware_concurrency().
int get_num_threads() noexcept;
// n ≥ 1; values above kMaxThreads are clamped.
void set_num_threads(int n);
constexpr int kMaxThreads = 256;

// Runs fn(begin, end) over [0, count) cut into chunks of `grain` items (the last may be shorter); chunks are
// distributed over the pool. Chunk boundaries depend only on count and grain. If the pool is busy with another
// caller (e.g. an async op on a libuv thread), the chunks run on the calling thread instead: same results.
void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Runs fn(m0, m1, n0, n1) over a 2-D grid of tiles (M cut at multiples of m_step, N at multiples of n_step),
// choosing a tile size from the problem and thread count; each output element belongs to exactly one tile.
void parallel_for_2d(int64_t m, int64_t n, int64_t m_step, int64_t n_step,
                     const std::function<void(int64_t, int64_t, int64_t, int64_t)>& fn);

}  // namespace distiq
