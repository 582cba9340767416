// bench/peers/onednn_peer.cc — oneDNN matmul peer (libdnnl-dev, OpenMP runtime).
//
// What a real user with a fixed model would do: one matmul primitive per shape, created once; the weights W [N,K]
// (row-major, i.e. a [K,N] tensor with strides {1,K}) are reordered ONCE into the layout the primitive asks for
// (weights descriptor with format_tag::any), then only src/dst are bound at each execution. Zero points 0, no
// scales, int32 dst for the int8 kinds. Threads: omp_set_num_threads(threads) before creating the primitive and
// before each timed batch. `info` reports the oneDNN version and the effective ISA (honours ONEDNN_MAX_CPU_ISA /
// DNNL_MAX_CPU_ISA); each setup reply carries the primitive's impl_info_str() ("brg:avx512_core_vnni", ...) and
// the weights layout it asked for ("weights_format", e.g. "BA16a64b4a": pre-packed VNNI panels; "ba" = plain).
#include <omp.h>

#include <algorithm>

#include <oneapi/dnnl/dnnl.hpp>

#include "peer_common.h"

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

const char* isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::all: return "all";
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
  }
  return "unknown";
}

// oneDNN's tag notation for a blocked layout, e.g. "BA16a64b4a" (outer dims by decreasing stride, upper case when
// the dim is also blocked, then the inner blocks), plus "+extra" when the layout carries compensation data.
std::string format_string(const memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked) return "format_kind " + std::to_string(static_cast<int>(d.format_kind));
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  std::vector<int> order(static_cast<size_t>(d.ndims));
  for (int i = 0; i < d.ndims; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::string out;
  for (int dim : order) {
    bool blocked = false;
    for (int j = 0; j < b.inner_nblks; ++j) blocked = blocked || b.inner_idxs[j] == dim;
    out += static_cast<char>((blocked ? 'A' : 'a') + dim);
  }
  for (int j = 0; j < b.inner_nblks; ++j) out += std::to_string(b.inner_blks[j]) + static_cast<char>('a' + b.inner_idxs[j]);
  if (d.extra.flags != 0) out += "+extra";
  return out;
}

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

class MatmulCase final : public peer::Case {
 public:
  MatmulCase(const std::string& kind, const peer::GemmShape& s, int threads)
      : shape_(s), threads_(threads), stream_(cpu_engine()) {
    const dt a_dt = kind == "gemm_u8s8" ? dt::u8 : kind == "gemm_s8s8" ? dt::s8 : dt::f32;
    const dt w_dt = kind == "gemm_f32" ? dt::f32 : dt::s8;
    const dt c_dt = kind == "gemm_f32" ? dt::f32 : dt::s32;
    is_f32_ = kind == "gemm_f32";
    const memory::dims a_dims{s.m, s.k}, w_dims{s.k, s.n}, c_dims{s.m, s.n};
    memory::desc a_md(a_dims, a_dt, tag::ab);
    memory::desc w_any(w_dims, w_dt, tag::any);
    memory::desc c_md(c_dims, c_dt, tag::ab);

    omp_set_num_threads(threads_);
    auto& eng = cpu_engine();
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_any, c_md), eng);
    impl_ = pd.impl_info_str();
    prim_ = dnnl::matmul(pd);

    a_mem_ = memory(a_md, eng);
    c_mem_ = memory(c_md, eng);
    memory w_user(memory::desc(w_dims, w_dt, tag::ba), eng);  // W [N,K] row-major == [K,N] with strides {1,K}
    fill(kind, w_user);
    w_mem_ = memory(pd.weights_desc(), eng);
    weights_format_ = format_string(pd.weights_desc());
    dnnl::reorder(w_user, w_mem_).execute(stream_, w_user, w_mem_);
    stream_.wait();
  }

  void execute() override {
    prim_.execute(stream_, {{DNNL_ARG_SRC, a_mem_}, {DNNL_ARG_WEIGHTS, w_mem_}, {DNNL_ARG_DST, c_mem_}});
    stream_.wait();
  }

  double time_iters(int64_t iters) override {
    omp_set_num_threads(threads_);
    return peer::Case::time_iters(iters);
  }

  double checksum() const override {
    const size_t count = static_cast<size_t>(shape_.m * shape_.n);
    if (is_f32_) return peer::sum_of(static_cast<const float*>(c_mem_.get_data_handle()), count);
    return peer::sum_of(static_cast<const int32_t*>(c_mem_.get_data_handle()), count);
  }

  void describe(peer::Reply& r) override {
    omp_set_num_threads(threads_);
    peer::Case::describe(r);
    r.set("impl", impl_);
    r.set("weights_format", weights_format_);
  }

 private:
  void fill(const std::string& kind, memory& w_user) {
    const int64_t M = shape_.m, N = shape_.n, K = shape_.k;
    void* a = a_mem_.get_data_handle();
    void* w = w_user.get_data_handle();  // physical layout [N][K]
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k) {
        if (kind == "gemm_u8s8") static_cast<uint8_t*>(a)[i * K + k] = peer::fill_a_u8(i, k);
        else if (kind == "gemm_s8s8") static_cast<int8_t*>(a)[i * K + k] = peer::fill_a_s8(i, k);
        else static_cast<float*>(a)[i * K + k] = peer::fill_a_f32(i, k);
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        if (is_f32_) static_cast<float*>(w)[n * K + k] = peer::fill_w_f32(n, k);
        else static_cast<int8_t*>(w)[n * K + k] = peer::fill_w_s8(n, k);
      }
  }

  peer::GemmShape shape_;
  int threads_;
  bool is_f32_ = false;
  dnnl::stream stream_;
  dnnl::matmul prim_;
  memory a_mem_, w_mem_, c_mem_;
  std::string impl_, weights_format_;
};

}  // namespace

namespace peer {

void peer_info(Reply& r) {
  const dnnl_version_t* v = dnnl_version();
  char lib[64];
  std::snprintf(lib, sizeof lib, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  r.set("lib", lib);
  r.set("isa", isa_name(dnnl::get_effective_cpu_isa()));
  r.set("runtime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "tbb" : "other");
  r.set("hash", v->hash ? v->hash : "");
  const char* env = std::getenv("ONEDNN_MAX_CPU_ISA");
  if (env == nullptr) env = std::getenv("DNNL_MAX_CPU_ISA");
  r.set("max_cpu_isa_env", env ? env : "");
  r.set("omp_max_threads", std::to_string(omp_get_max_threads()));
}

std::unique_ptr<Case> peer_make_case(const Request& q, const std::string& kind, int threads) {
  if (!is_gemm_kind(kind))
    throw std::runtime_error("kind \"" + kind + "\" is not supported by the oneDNN peer (gemm_u8s8, gemm_s8s8, gemm_f32)");
  return std::make_unique<MatmulCase>(kind, gemm_shape(q), threads);
}

}  // namespace peer

int main() { return peer::run_peer_loop(); }
