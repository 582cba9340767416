// bench/peers/machine_peer.cc — the machine's own limits: SIMD peak loops and a STREAM-like copy.
//
// Built with plain g++ -O2 (no -march): each SIMD loop lives in a function with its own target attribute and is
// only called after a runtime check (cpuid feature bits AND the OS-enabled state in XCR0), so the program never
// SIGILLs; an unsupported kind gets an error reply.
//
// Peak kinds (register-only, no memory traffic inside the loop):
//   peak_vnni_zmm  vpdpbusd zmm (AVX-512 VNNI), 20 independent accumulator chains
//   peak_vnni_ymm  {vex} vpdpbusd ymm (AVX-VNNI; VEX encoding, so only ymm0-15: 12 chains)
//   peak_fma_zmm   vfmadd231ps zmm, 20 chains
//   peak_fma_ymm   vfmadd231ps ymm (AVX2+FMA), 12 chains
// Chains ≥ latency × ports (vpdpbusd: 5 cycles × 2 ports = 10; vfmadd231ps: 4 × 2 = 8), so both ports stay busy.
// One "iteration" = kTrips trips through the block of chains on EACH thread; ops_per_iter (setup reply) counts
// every thread: vpdpbusd = lanes × 4 MACs × 2 ops (zmm 128, ymm 64); vfmadd231ps = lanes × 2 (zmm 32, ymm 16).
// threads > 1: the same loop on that many std::threads released together by a spin barrier; the time of an
// iteration batch is (last thread's end − first thread's start).
//
// copy: a STREAM-like copy of `bytes` bytes from one buffer to another (both 64-byte aligned, pages touched at
// setup). The harness converts to GB/s as 2·bytes/time (STREAM convention: write-allocate traffic not counted).
// Default mode "memcpy": STREAM's Copy kernel `c[j] = a[j]` compiled by g++ -O2 IS a memcpy call (GCC's loop
// distribution turns the loop into memcpy; with OpenMP each thread memcpy's its chunk), and glibc's memcpy uses
// rep movsb below its x86_non_temporal_threshold (181 MiB here) and non-temporal stores above — so that is what
// STREAM copy realistically does here. Also available (setup field "mode"): "nt" = our own AVX-512/AVX2 loop with streaming stores,
// "store" = the same loop with ordinary stores (pays the read-for-ownership). threads > 1 split the buffer in
// 64-byte-aligned contiguous chunks, one per thread.
#include <immintrin.h>
#include <cpuid.h>

#include <atomic>
#include <thread>

#include "peer_common.h"

namespace {

// ---- CPU features (cpuid + XCR0) ------------------------------------------------------------------------------
struct Features {
  bool avx2_fma = false;    // AVX2 + FMA, OS saves YMM
  bool avx512 = false;      // AVX-512 F/BW/VL, OS saves ZMM + opmask
  bool avx512vnni = false;  // + AVX512_VNNI
  bool avxvnni = false;     // AVX-VNNI (VEX-encoded vpdpbusd), OS saves YMM
};

uint64_t read_xcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

Features detect() {
  Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  const bool avx512_vnni = (c >> 11) & 1;
  unsigned a1, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  const bool avx_vnni = (a1 >> 4) & 1;
  f.avx2_fma = os_ymm && avx2 && fma;
  f.avx512 = os_zmm && f.avx2_fma && avx512f && avx512bw && avx512vl;
  f.avx512vnni = f.avx512 && avx512_vnni;
  f.avxvnni = f.avx2_fma && avx_vnni;
  return f;
}

const Features& features() {
  static const Features f = detect();
  return f;
}

// ---- peak loops -----------------------------------------------------------------------------------------------
constexpr int64_t kTrips = 8192;
constexpr int kChainsZmm = 20;
constexpr int kChainsYmm = 12;

// The loops are inline asm so the chain count is exactly what is written (GCC spills arrays of vector
// accumulators). Accumulators start at zero; the FMA chains compute acc += 0.999 * 1e-7 (stays a small normal
// float, never denormal or infinite); the integer chains wrap harmlessly. The asm is volatile, nothing is returned.
#define DQ_R4(op, a, b, r0, r1, r2, r3) op " " a ", " b ", " r0 "\n\t" op " " a ", " b ", " r1 "\n\t" \
  op " " a ", " b ", " r2 "\n\t" op " " a ", " b ", " r3 "\n\t"
// zmm: sources in zmm30 (from %[x]) / zmm31 (from %[y]), chains zmm0-19. ymm (VEX: ymm0-15 only): sources
// ymm14 / ymm15, chains ymm0-11. `bcast` broadcasts a 32-bit memory operand, `mov` copies a register.
#define DQ_ZMM_LOOP(bcast, mov, op)                                                                               \
  bcast " %[x], %%zmm30\n\t" bcast " %[y], %%zmm31\n\tvpxord %%zmm0, %%zmm0, %%zmm0\n\t"                         \
  mov " %%zmm0, %%zmm1\n\t" mov " %%zmm0, %%zmm2\n\t" mov " %%zmm0, %%zmm3\n\t" mov " %%zmm0, %%zmm4\n\t"          \
  mov " %%zmm0, %%zmm5\n\t" mov " %%zmm0, %%zmm6\n\t" mov " %%zmm0, %%zmm7\n\t" mov " %%zmm0, %%zmm8\n\t"          \
  mov " %%zmm0, %%zmm9\n\t" mov " %%zmm0, %%zmm10\n\t" mov " %%zmm0, %%zmm11\n\t" mov " %%zmm0, %%zmm12\n\t"       \
  mov " %%zmm0, %%zmm13\n\t" mov " %%zmm0, %%zmm14\n\t" mov " %%zmm0, %%zmm15\n\t" mov " %%zmm0, %%zmm16\n\t"      \
  mov " %%zmm0, %%zmm17\n\t" mov " %%zmm0, %%zmm18\n\t" mov " %%zmm0, %%zmm19\n\t"                                 \
  ".p2align 5\n1:\n\t"                                                                                           \
  DQ_R4(op, "%%zmm31", "%%zmm30", "%%zmm0", "%%zmm1", "%%zmm2", "%%zmm3")                                         \
  DQ_R4(op, "%%zmm31", "%%zmm30", "%%zmm4", "%%zmm5", "%%zmm6", "%%zmm7")                                         \
  DQ_R4(op, "%%zmm31", "%%zmm30", "%%zmm8", "%%zmm9", "%%zmm10", "%%zmm11")                                       \
  DQ_R4(op, "%%zmm31", "%%zmm30", "%%zmm12", "%%zmm13", "%%zmm14", "%%zmm15")                                     \
  DQ_R4(op, "%%zmm31", "%%zmm30", "%%zmm16", "%%zmm17", "%%zmm18", "%%zmm19")                                     \
  "dec %[n]\n\tjnz 1b\n\tvzeroupper\n\t"
#define DQ_ZMM_CLOBBERS                                                                                             \
  "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",  \
      "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm30", "xmm31"
#define DQ_YMM_LOOP(bcast, op)                                                                                    \
  bcast " %[x], %%ymm14\n\t" bcast " %[y], %%ymm15\n\tvpxor %%ymm0, %%ymm0, %%ymm0\n\t"                          \
  "vmovdqa %%ymm0, %%ymm1\n\tvmovdqa %%ymm0, %%ymm2\n\tvmovdqa %%ymm0, %%ymm3\n\tvmovdqa %%ymm0, %%ymm4\n\t"         \
  "vmovdqa %%ymm0, %%ymm5\n\tvmovdqa %%ymm0, %%ymm6\n\tvmovdqa %%ymm0, %%ymm7\n\tvmovdqa %%ymm0, %%ymm8\n\t"         \
  "vmovdqa %%ymm0, %%ymm9\n\tvmovdqa %%ymm0, %%ymm10\n\tvmovdqa %%ymm0, %%ymm11\n\t"                                \
  ".p2align 5\n1:\n\t"                                                                                           \
  DQ_R4(op, "%%ymm15", "%%ymm14", "%%ymm0", "%%ymm1", "%%ymm2", "%%ymm3")                                         \
  DQ_R4(op, "%%ymm15", "%%ymm14", "%%ymm4", "%%ymm5", "%%ymm6", "%%ymm7")                                         \
  DQ_R4(op, "%%ymm15", "%%ymm14", "%%ymm8", "%%ymm9", "%%ymm10", "%%ymm11")                                       \
  "dec %[n]\n\tjnz 1b\n\tvzeroupper\n\t"
#define DQ_YMM_CLOBBERS                                                                                             \
  "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm14",  \
      "xmm15"

const int32_t kOnesU8 = 0x01010101;  // four u8/s8 ones: vpdpbusd inputs
const float kFmaA = 0.999f, kFmaB = 1e-7f;

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), noinline)) void loop_vnni_zmm(int64_t trips) {
  __asm__ volatile(DQ_ZMM_LOOP("vpbroadcastd", "vmovdqa64", "vpdpbusd")
                   : [n] "+r"(trips) : [x] "m"(kOnesU8), [y] "m"(kOnesU8) : DQ_ZMM_CLOBBERS);
}

__attribute__((target("avx512f,avx512bw,avx512vl"), noinline)) void loop_fma_zmm(int64_t trips) {
  __asm__ volatile(DQ_ZMM_LOOP("vbroadcastss", "vmovaps", "vfmadd231ps")
                   : [n] "+r"(trips) : [x] "m"(kFmaA), [y] "m"(kFmaB) : DQ_ZMM_CLOBBERS);
}

__attribute__((target("avx2,fma,avxvnni"), noinline)) void loop_vnni_ymm(int64_t trips) {
  __asm__ volatile(DQ_YMM_LOOP("vpbroadcastd", "%{vex%} vpdpbusd")
                   : [n] "+r"(trips) : [x] "m"(kOnesU8), [y] "m"(kOnesU8) : DQ_YMM_CLOBBERS);
}

__attribute__((target("avx2,fma"), noinline)) void loop_fma_ymm(int64_t trips) {
  __asm__ volatile(DQ_YMM_LOOP("vbroadcastss", "vfmadd231ps")
                   : [n] "+r"(trips) : [x] "m"(kFmaA), [y] "m"(kFmaB) : DQ_YMM_CLOBBERS);
}
#undef DQ_R4
#undef DQ_ZMM_LOOP
#undef DQ_ZMM_CLOBBERS
#undef DQ_YMM_LOOP
#undef DQ_YMM_CLOBBERS

// ---- threads: run `body(thread_index)` on `threads` threads released together; returns the wall span in ns ----
template <typename Body>
double run_parallel(int threads, Body body) {
  if (threads == 1) {
    const double t0 = peer::now_ns();
    body(0);
    return peer::now_ns() - t0;
  }
  std::atomic<int> ready{0};
  std::vector<double> start(threads), end(threads);
  std::vector<std::thread> pool;
  auto worker = [&](int t) {
    ready.fetch_add(1);
    while (ready.load(std::memory_order_acquire) < threads) _mm_pause();
    start[t] = peer::now_ns();
    body(t);
    end[t] = peer::now_ns();
  };
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& th : pool) th.join();
  double s = start[0], e = end[0];
  for (int t = 1; t < threads; ++t) { s = std::min(s, start[t]); e = std::max(e, end[t]); }
  return e - s;
}

class PeakCase final : public peer::Case {
 public:
  PeakCase(void (*loop)(int64_t), double ops_per_trip, const char* impl, int threads)
      : loop_(loop), ops_per_trip_(ops_per_trip), impl_(impl), threads_(threads) {}

  double time_iters(int64_t iters) override {
    const double ns = run_parallel(threads_, [&](int) { loop_(iters * kTrips); });
    return ns / static_cast<double>(iters);
  }

  void describe(peer::Reply& r) override {
    time_iters(1);  // warm the loop and the clock
    r.set_num("ops_per_iter", ops_per_trip_ * static_cast<double>(kTrips) * threads_);
    r.set("impl", impl_);
  }

 private:
  void (*loop_)(int64_t);
  double ops_per_trip_;
  const char* impl_;
  int threads_;
};

// ---- copy -----------------------------------------------------------------------------------------------------
// 256 (zmm) / 128 (ymm) bytes per step: four loads, then four stores (streaming when kNt), the tail by memcpy.
// Both buffers are 64-byte aligned and chunks start on 64-byte boundaries, so aligned loads/stores are used
// (GCC's generic tuning would split unaligned 256-bit ones into 128-bit halves).
template <bool kNt>
__attribute__((target("avx512f"))) void copy_avx512(char* dst, const char* src, size_t bytes) {
  size_t i = 0;
  for (; i + 256 <= bytes; i += 256) {
    const __m512i v0 = _mm512_load_si512(src + i), v1 = _mm512_load_si512(src + i + 64);
    const __m512i v2 = _mm512_load_si512(src + i + 128), v3 = _mm512_load_si512(src + i + 192);
    if (kNt) {
      _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + i), v0);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + i + 64), v1);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + i + 128), v2);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(dst + i + 192), v3);
    } else {
      _mm512_store_si512(dst + i, v0);
      _mm512_store_si512(dst + i + 64, v1);
      _mm512_store_si512(dst + i + 128, v2);
      _mm512_store_si512(dst + i + 192, v3);
    }
  }
  if (kNt) _mm_sfence();
  std::memcpy(dst + i, src + i, bytes - i);
}

template <bool kNt>
__attribute__((target("avx2"))) void copy_avx2(char* dst, const char* src, size_t bytes) {
  size_t i = 0;
  for (; i + 128 <= bytes; i += 128) {
    const __m256i* s = reinterpret_cast<const __m256i*>(src + i);
    __m256i* d = reinterpret_cast<__m256i*>(dst + i);
    const __m256i v0 = _mm256_load_si256(s), v1 = _mm256_load_si256(s + 1);
    const __m256i v2 = _mm256_load_si256(s + 2), v3 = _mm256_load_si256(s + 3);
    if (kNt) {
      _mm256_stream_si256(d, v0);
      _mm256_stream_si256(d + 1, v1);
      _mm256_stream_si256(d + 2, v2);
      _mm256_stream_si256(d + 3, v3);
    } else {
      _mm256_store_si256(d, v0);
      _mm256_store_si256(d + 1, v1);
      _mm256_store_si256(d + 2, v2);
      _mm256_store_si256(d + 3, v3);
    }
  }
  if (kNt) _mm_sfence();
  std::memcpy(dst + i, src + i, bytes - i);
}

struct AlignedFree {
  void operator()(char* p) const { std::free(p); }
};

class CopyCase final : public peer::Case {
 public:
  CopyCase(int64_t bytes, int threads, const std::string& mode) : bytes_(static_cast<size_t>(bytes)), threads_(threads) {
    if (mode == "memcpy") mode_ = Mode::kMemcpy;
    else if (mode == "nt") mode_ = Mode::kNt;
    else if (mode == "store") mode_ = Mode::kStore;
    else throw std::runtime_error("\"mode\" must be memcpy, nt or store, received \"" + mode + "\"");
    if (mode_ != Mode::kMemcpy && !features().avx2_fma)
      throw std::runtime_error("copy mode \"" + mode + "\" needs AVX2, not available on this CPU/OS");
    const size_t alloc = (bytes_ + 63) / 64 * 64;
    src_.reset(static_cast<char*>(std::aligned_alloc(64, alloc)));
    dst_.reset(static_cast<char*>(std::aligned_alloc(64, alloc)));
    if (!src_ || !dst_) throw std::bad_alloc();
    for (size_t i = 0; i < bytes_; ++i) src_.get()[i] = static_cast<char>(i * 131u >> 3);
    std::memset(dst_.get(), 0, bytes_);
    // 64-byte aligned contiguous chunks, one per thread.
    const size_t lines = (bytes_ + 63) / 64;
    for (int t = 0; t <= threads_; ++t) bounds_.push_back(std::min(bytes_, lines * t / threads_ * 64));
    impl_ = mode_ == Mode::kMemcpy ? "glibc memcpy"
            : features().avx512 ? (mode_ == Mode::kNt ? "avx512 loads + streaming stores" : "avx512 loads + stores")
                                : (mode_ == Mode::kNt ? "avx2 loads + streaming stores" : "avx2 loads + stores");
    mode_name_ = mode;
  }

  double time_iters(int64_t iters) override {
    const double ns = run_parallel(threads_, [&](int t) {
      const size_t lo = bounds_[t], n = bounds_[t + 1] - lo;
      char* d = dst_.get() + lo;
      const char* s = src_.get() + lo;
      for (int64_t it = 0; it < iters; ++it) copy_chunk(d, s, n);
    });
    return ns / static_cast<double>(iters);
  }

  int64_t mismatches() const {  // cheap proof that the copy happened: compare a sample of bytes
    const size_t step = std::max<size_t>(1, bytes_ / 4096);
    int64_t count = 0;
    for (size_t i = 0; i < bytes_; i += step) count += src_.get()[i] != dst_.get()[i];
    count += src_.get()[bytes_ - 1] != dst_.get()[bytes_ - 1];
    return count;
  }

  void describe(peer::Reply& r) override {
    time_iters(1);
    if (mismatches() != 0) throw std::runtime_error("copy self-check failed: destination differs from source");
    r.set("mode", mode_name_);
    r.set("impl", impl_);
  }

 private:
  enum class Mode { kMemcpy, kNt, kStore };

  void copy_chunk(char* d, const char* s, size_t n) const {
    const bool avx512 = features().avx512;
    if (mode_ == Mode::kMemcpy) std::memcpy(d, s, n);
    else if (mode_ == Mode::kNt) avx512 ? copy_avx512<true>(d, s, n) : copy_avx2<true>(d, s, n);
    else avx512 ? copy_avx512<false>(d, s, n) : copy_avx2<false>(d, s, n);
  }

  size_t bytes_;
  int threads_;
  Mode mode_ = Mode::kMemcpy;
  std::string mode_name_, impl_;
  std::unique_ptr<char, AlignedFree> src_, dst_;
  std::vector<size_t> bounds_;
};

}  // namespace

namespace peer {

void peer_info(Reply& r) {
  const Features& f = features();
  r.set("lib", "machine (g++ " __VERSION__ ")");
  std::string isa;
  auto add = [&](bool on, const char* name) { if (on) isa += (isa.empty() ? "" : ",") + std::string(name); };
  add(f.avx2_fma, "avx2");
  add(f.avxvnni, "avxvnni");
  add(f.avx512, "avx512");
  add(f.avx512vnni, "avx512vnni");
  r.set("isa", isa);
  r.set("runtime", "std::thread");
  r.set("hardware_threads", std::to_string(std::thread::hardware_concurrency()));
  char cpu[49] = {0};
  unsigned regs[12];
  if (__get_cpuid(0x80000002, &regs[0], &regs[1], &regs[2], &regs[3]) &&
      __get_cpuid(0x80000003, &regs[4], &regs[5], &regs[6], &regs[7]) &&
      __get_cpuid(0x80000004, &regs[8], &regs[9], &regs[10], &regs[11])) {
    std::memcpy(cpu, regs, 48);
  }
  std::string name(cpu);
  const size_t first = name.find_first_not_of(' ');
  r.set("cpu", first == std::string::npos ? "" : name.substr(first));
}

std::unique_ptr<Case> peer_make_case(const Request& q, const std::string& kind, int threads) {
  const Features& f = features();
  auto unsupported = [&](const char* need) {
    return std::runtime_error("kind \"" + kind + "\" needs " + need + ", not available on this CPU/OS");
  };
  if (kind == "peak_vnni_zmm") {
    if (!f.avx512vnni) throw unsupported("AVX-512 VNNI");
    return std::make_unique<PeakCase>(loop_vnni_zmm, kChainsZmm * 16 * 4 * 2.0, "vpdpbusd zmm x20 chains", threads);
  }
  if (kind == "peak_vnni_ymm") {
    if (!f.avxvnni) throw unsupported("AVX-VNNI");
    return std::make_unique<PeakCase>(loop_vnni_ymm, kChainsYmm * 8 * 4 * 2.0, "{vex} vpdpbusd ymm x12 chains", threads);
  }
  if (kind == "peak_fma_zmm") {
    if (!f.avx512) throw unsupported("AVX-512");
    return std::make_unique<PeakCase>(loop_fma_zmm, kChainsZmm * 16 * 2.0, "vfmadd231ps zmm x20 chains", threads);
  }
  if (kind == "peak_fma_ymm") {
    if (!f.avx2_fma) throw unsupported("AVX2+FMA");
    return std::make_unique<PeakCase>(loop_fma_ymm, kChainsYmm * 8 * 2.0, "vfmadd231ps ymm x12 chains", threads);
  }
  if (kind == "copy") {
    const int64_t bytes = q.get_int("bytes", 1, int64_t{1} << 33, 0);
    const std::string mode = q.str.count("mode") ? q.get_str("mode") : "memcpy";
    return std::make_unique<CopyCase>(bytes, threads, mode);
  }
  throw std::runtime_error("kind \"" + kind +
                           "\" is not supported by the machine peer (peak_vnni_zmm, peak_vnni_ymm, peak_fma_zmm, "
                           "peak_fma_ymm, copy)");
}

}  // namespace peer

int main() { return peer::run_peer_loop(); }
