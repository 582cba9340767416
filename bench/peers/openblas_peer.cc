// bench/peers/openblas_peer.cc — OpenBLAS sgemm peer (libopenblas-dev).
//
// gemm_f32 only: C[M,N] = A[M,K] · Wᵀ with W [N,K] row-major, i.e. cblas_sgemm(RowMajor, NoTrans, Trans, M, N, K,
// 1, A, K, W, K, 0, C, N) — the call a user holding nn.Linear-style weights would make. OpenBLAS has no public
// pre-packed sgemm API, so packing happens inside every call (that is what a user gets). Threads:
// openblas_set_num_threads(threads) before each timed batch. The launcher (peer.ts) removes OPENBLAS_CORETYPE and
// OPENBLAS_L2_SIZE from this process's environment so the kernel is auto-detected; `info` reports the core
// OpenBLAS picked (openblas_get_corename) and its build config.
#include <cblas.h>

#include "peer_common.h"

extern "C" {
// Declared by OpenBLAS's cblas.h; repeated so a netlib-style cblas.h (alternatives) fails at link, not compile.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
char* openblas_get_config(void);
int openblas_get_parallel(void);
}

namespace {

class SgemmCase final : public peer::Case {
 public:
  SgemmCase(const peer::GemmShape& s, int threads)
      : s_(s), threads_(threads), a_(static_cast<size_t>(s.m * s.k)), w_(static_cast<size_t>(s.n * s.k)),
        c_(static_cast<size_t>(s.m * s.n)) {
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t k = 0; k < s.k; ++k) a_[static_cast<size_t>(i * s.k + k)] = peer::fill_a_f32(i, k);
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t k = 0; k < s.k; ++k) w_[static_cast<size_t>(n * s.k + k)] = peer::fill_w_f32(n, k);
  }

  void execute() override {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(s_.m), static_cast<int>(s_.n),
                static_cast<int>(s_.k), 1.0f, a_.data(), static_cast<int>(s_.k), w_.data(), static_cast<int>(s_.k),
                0.0f, c_.data(), static_cast<int>(s_.n));
  }

  double time_iters(int64_t iters) override {
    openblas_set_num_threads(threads_);
    return peer::Case::time_iters(iters);
  }

  double checksum() const override { return peer::sum_of(c_.data(), c_.size()); }

  void describe(peer::Reply& r) override {
    openblas_set_num_threads(threads_);
    peer::Case::describe(r);
    r.set("impl", std::string("sgemm NT, core ") + openblas_get_corename());
  }

 private:
  peer::GemmShape s_;
  int threads_;
  std::vector<float> a_, w_, c_;
};

}  // namespace

namespace peer {

void peer_info(Reply& r) {
  std::string config = openblas_get_config();
  while (!config.empty() && config.back() == ' ') config.pop_back();
  r.set("lib", config);
  r.set("isa", openblas_get_corename());
  const int parallel = openblas_get_parallel();
  r.set("runtime", parallel == 0 ? "sequential" : parallel == 1 ? "pthreads" : "omp");
  r.set("max_threads", std::to_string(openblas_get_num_threads()));
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  r.set("coretype_env", core ? core : "");
}

std::unique_ptr<Case> peer_make_case(const Request& q, const std::string& kind, int threads) {
  if (kind != "gemm_f32")
    throw std::runtime_error("kind \"" + kind + "\" is not supported by the OpenBLAS peer (gemm_f32 only)");
  const GemmShape s = gemm_shape(q);
  if (s.m * s.k > 0x7fffffff || s.n * s.k > 0x7fffffff || s.m * s.n > 0x7fffffff)
    throw std::runtime_error("gemm operands too large for 32-bit BLAS indices");
  return std::make_unique<SgemmCase>(s, threads);
}

}  // namespace peer

int main() { return peer::run_peer_loop(); }
