// The native thread pool: n−1 persistent workers plus the calling thread. One job at a time; a caller that finds
// the pool busy (an async op on a libuv thread while the main thread runs another) runs its chunks itself.
// Chunks are claimed dynamically, but their boundaries depend only on (count, grain), and kernels compute every
// output element inside one chunk, so results never depend on scheduling or thread count.
// Waking a sleeping thread (futex + scheduler, an IPI under a hypervisor) costs tens of microseconds, so both sides
// first poll for up to kSpin (yielding the CPU between polls) before sleeping: a worker that just finished waits
// there for the next job, and the caller waits there for the last worker. Back-to-back calls (a model's layers, a
// benchmark loop) then never pay a wake-up.
#include "distiq/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace distiq {
namespace {

constexpr std::chrono::microseconds kSpin{100};

// Polls `ready` (yielding between polls) until it holds or kSpin has passed; returns whether it held.
template <typename Ready>
bool spin_until(Ready ready) {
  const auto end = std::chrono::steady_clock::now() + kSpin;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::yield();
  }
  return true;
}

class ThreadPool {
 public:
  ThreadPool() {
    const unsigned hw = std::thread::hardware_concurrency();
    threads_ = std::clamp(static_cast<int>(hw == 0 ? 1 : hw), 1, kMaxThreads);
  }
  ~ThreadPool() { stop_workers(); }

  int threads() const { return threads_.load(); }

  // Never waits for a running job (an async op may hold the pool for seconds, and this is called from the JS
  // thread): the count takes effect at the next job, which resizes the workers; an idle pool shrinks at once.
  void set_threads(int n) {
    threads_.store(std::clamp(n, 1, kMaxThreads));
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (busy.owns_lock()) fit_workers(threads_.load() - 1);
  }

  void run(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (count <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    const int64_t chunks = (count + grain - 1) / grain;
    const int n = threads_.load();
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (chunks == 1 || n == 1 || !busy.owns_lock()) {
      if (n == 1 && busy.owns_lock()) fit_workers(0);  // a set_threads(1) that came during a job
      for (int64_t c = 0; c < chunks; ++c) fn(c * grain, std::min(count, (c + 1) * grain));
      return;
    }
    fit_workers(n - 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = &fn;
      count_ = count;
      grain_ = grain;
      chunks_ = chunks;
      next_.store(0);
      active_.store(static_cast<int>(workers_.size()));
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    work();
    spin_until([&] { return active_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return active_.load(std::memory_order_relaxed) == 0; });
    fn_ = nullptr;
  }

 private:
  void work() {
    for (;;) {
      const int64_t c = next_.fetch_add(1);
      if (c >= chunks_) return;
      (*fn_)(c * grain_, std::min(count_, (c + 1) * grain_));
    }
  }

  // Called with busy_ held: makes the worker count n.
  void fit_workers(int n) {
    if (static_cast<int>(workers_.size()) == n) return;
    stop_workers();
    if (n == 0) return;
    stopping_.store(false);
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_generation_at_start_ = generation_.load();
    }
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { worker_loop_from(seen_generation_at_start_); });
  }

  void worker_loop_from(uint64_t start) {
    uint64_t seen = start;
    for (;;) {
      spin_until([&] {
        return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      });
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
        if (stopping_.load()) return;
        seen = generation_.load();
      }
      work();
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (active_.fetch_sub(1) == 1) done_.notify_one();
      }
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stopping_.store(false);
  }

  std::atomic<int> threads_{1};
  std::mutex busy_;  // held for a whole job
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  // Written under mu_; atomic so that the spinning side can poll without the lock.
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{0};
  uint64_t seen_generation_at_start_ = 0;
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t count_ = 0, grain_ = 1, chunks_ = 0;
  alignas(64) std::atomic<int64_t> next_{0};  // own cache line: every thread claims chunks here
};

ThreadPool& pool() {
  // Leaked on purpose: worker threads must not be joined during static destruction at process exit.
  static ThreadPool* p = new ThreadPool();
  return *p;
}

}  // namespace

int get_num_threads() noexcept { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }

void parallel_for(int64_t count, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  pool().run(count, grain, fn);
}

void parallel_for_2d(int64_t m, int64_t n, int64_t m_step, int64_t n_step,
                     const std::function<void(int64_t, int64_t, int64_t, int64_t)>& fn) {
  if (m <= 0 || n <= 0) return;
  m_step = std::max<int64_t>(m_step, 1);
  n_step = std::max<int64_t>(n_step, 1);
  const int threads = get_num_threads();
  // Tile counts: prefer splitting N (weights stay per-thread), then M when N has too few steps.
  const int64_t n_units = (n + n_step - 1) / n_step;
  const int64_t m_units = (m + m_step - 1) / m_step;
  const int64_t want = static_cast<int64_t>(threads) * 4;
  int64_t n_tiles = std::min<int64_t>(n_units, want);
  int64_t m_tiles = std::min<int64_t>(m_units, std::max<int64_t>(1, want / std::max<int64_t>(n_tiles, 1)));
  if (threads == 1) n_tiles = m_tiles = 1;
  const int64_t n_per = ((n_units + n_tiles - 1) / n_tiles) * n_step;
  const int64_t m_per = ((m_units + m_tiles - 1) / m_tiles) * m_step;
  const int64_t nt = (n + n_per - 1) / n_per, mt = (m + m_per - 1) / m_per;
  parallel_for(nt * mt, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t mi = t / nt, ni = t % nt;
      fn(mi * m_per, std::min(m, (mi + 1) * m_per), ni * n_per, std::min(n, (ni + 1) * n_per));
    }
  });
}

}  // namespace distiq
