// The thread pool: chunk coverage at any thread count, and set_num_threads never waiting for a running job
// (it is called from the JS thread while an async op may hold the pool for seconds).
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "distiq/threadpool.h"
#include "harness.h"

DQ_TEST("threadpool: every item is visited exactly once for 1, 2 and 3 threads") {
  const int saved = distiq::get_num_threads();
  for (int threads : {1, 2, 3}) {
    distiq::set_num_threads(threads);
    for (int64_t count : {1, 7, 64, 1001}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(count));
        distiq::parallel_for(count, grain, [&](int64_t b, int64_t e) {
          DQ_CHECK(e - b <= grain && b < e, "chunk [" << b << ", " << e << ") with grain " << grain);
          for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
        });
        int wrong = 0;
        for (auto& s : seen) wrong += s.load() != 1;
        DQ_CHECK(wrong == 0, wrong << " items not visited exactly once (count " << count << ", grain " << grain
                                   << ", threads " << threads << ")");
      }
    }
  }
  distiq::set_num_threads(saved);
}

DQ_TEST("threadpool: set_num_threads during a running job returns without waiting for it") {
  const int saved = distiq::get_num_threads();
  distiq::set_num_threads(2);
  std::atomic<bool> started{false}, release{false}, timed_out{false};
  // The job's chunks wait until the main thread's set_num_threads has returned. If set_num_threads waited for the
  // job, neither could proceed: the chunks give up after a generous deadline and the test reports the deadlock.
  std::thread job([&] {
    distiq::parallel_for(4, 1, [&](int64_t, int64_t) {
      started.store(true);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!release.load()) {
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out.store(true);
          return;
        }
        std::this_thread::yield();
      }
    });
  });
  while (!started.load()) std::this_thread::yield();
  distiq::set_num_threads(1);
  release.store(true);
  job.join();
  DQ_CHECK(!timed_out.load(), "set_num_threads(1) blocked until the running job ended");
  DQ_CHECK(distiq::get_num_threads() == 1, "thread count after the job: " << distiq::get_num_threads());
  // The pool still works after resizing in both directions.
  for (int threads : {1, 3, 2}) {
    distiq::set_num_threads(threads);
    std::atomic<int64_t> sum{0};
    distiq::parallel_for(100, 7, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
    });
    DQ_CHECK(sum.load() == 4950, "sum " << sum.load() << " at " << threads << " threads");
  }
  distiq::set_num_threads(saved);
}
