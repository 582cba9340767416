// int8 GEMM cases aimed at the AMX kernel's edges (gemm_s8_amx.cc: 16-row tiles, 32 × 32 micro-tiles, K in
// tiles of 64, A staged per row chunk, stack slices without scratch), run on every SIMD level this CPU has (the
// amx level where it exists), each compared bit for bit with the reference: M tails 1..17 and around 32, N tails
// around 16 and 32, K tails around 64, s8×s8 extremes (±128, exact int64 check), 1/2/3 threads, the sliced path,
// and weights packed for another level being rejected.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "distiq/gemm_s8.h"
#include "distiq/kernels.h"
#include "distiq/threadpool.h"
#include "harness.h"
#if defined(__x86_64__) || defined(_M_X64)
#include "../kernels/gemm_s8/gemm_s8_amx.h"
#endif

namespace {

using distiq::GemmOut;
using distiq::GemmS8Args;
using distiq::GemmS8Kernel;
using distiq::Isa;
using distiq::PackedS8;
using distiq::Status;

constexpr uint8_t kGuardByte = 0x5C;
constexpr int64_t kGuardBytes = 64;

// A problem with its inputs, packed per kernel on demand.
struct Shape {
  int64_t m, n, k;
  bool a_signed;
};

struct Inputs {
  Shape s;
  int64_t lda, ldw, ldc;
  std::vector<uint8_t> a;  // exactly (m-1)·lda + k bytes: an overread is visible to ASan
  std::vector<int8_t> w;
  int32_t za, zw;
  std::vector<float> w_scale, bias;
  float a_scale, out_scale;
  int32_t out_zp;
  bool relu;
};

Inputs random_inputs(dqtest::Rng& rng, Shape s) {
  Inputs in;
  in.s = s;
  in.lda = s.k + static_cast<int64_t>(rng.next() % 3);
  in.ldw = s.k + static_cast<int64_t>(rng.next() % 2);
  in.ldc = s.n + static_cast<int64_t>(rng.next() % 3);
  in.a.resize(static_cast<size_t>((s.m - 1) * in.lda + s.k));
  for (auto& v : in.a) v = static_cast<uint8_t>(rng.next());
  in.w.resize(static_cast<size_t>((s.n - 1) * in.ldw + s.k));
  for (auto& v : in.w) v = static_cast<int8_t>(rng.next());
  in.za = s.a_signed ? rng.uniform_int(-128, 127) : rng.uniform_int(0, 255);
  in.zw = rng.next() % 3 == 0 ? 0 : rng.uniform_int(-128, 127);
  in.a_scale = rng.uniform(0.01f, 0.05f);
  in.w_scale.resize(rng.next() % 2 == 0 ? 1 : static_cast<size_t>(s.n));
  for (auto& v : in.w_scale) v = rng.uniform(0.005f, 0.02f);
  if (rng.next() % 2 == 0) {
    in.bias.resize(static_cast<size_t>(s.n));
    for (auto& v : in.bias) v = rng.uniform(-10.0f, 10.0f);
  }
  in.out_scale = 0.02f + 0.0005f * static_cast<float>(s.k);
  in.out_zp = rng.uniform_int(-10, 10);
  in.relu = rng.next() % 2 == 0;
  return in;
}

size_t elem_bytes(GemmOut out) { return out == GemmOut::kS32 || out == GemmOut::kF32 ? 4 : 1; }

// Packs for `kernel`, runs the driver, checks the guard bytes and returns C (between the guards).
std::vector<uint8_t> run(const GemmS8Kernel& kernel, const Inputs& in, GemmOut out, const char* what) {
  const Shape& s = in.s;
  std::vector<int32_t> sums(static_cast<size_t>(s.n));
  distiq::weight_row_sums_s8(in.w.data(), in.ldw, s.n, s.k, sums.data());
  std::unique_ptr<uint8_t[]> panels(new uint8_t[kernel.packed_bytes(s.n, s.k)]);
  kernel.pack(in.w.data(), in.ldw, s.n, s.k, panels.get());
  PackedS8 w;
  w.n = s.n, w.k = s.k, w.layout = kernel.isa, w.row_sums = sums.data(), w.panels = panels.get();
  const size_t c_bytes = static_cast<size_t>((s.m - 1) * in.ldc + s.n) * elem_bytes(out);
  std::vector<uint8_t> buf(c_bytes + 2 * kGuardBytes, kGuardByte);
  GemmS8Args args;
  args.m = s.m, args.a = in.a.data(), args.lda = in.lda, args.a_signed = s.a_signed, args.za = in.za;
  args.w = &w, args.zw = in.zw, args.out = out, args.c = buf.data() + kGuardBytes, args.ldc = in.ldc;
  args.a_scale = in.a_scale, args.w_scale = in.w_scale.data();
  args.w_scale_count = static_cast<int64_t>(in.w_scale.size());
  args.bias = in.bias.empty() ? nullptr : in.bias.data();
  args.relu = in.relu, args.out_scale = in.out_scale, args.out_zp = in.out_zp;
  const Status st = distiq::gemm_s8(kernel, args);
  DQ_CHECK(st == Status::kOk, what << " " << kernel.name_u8s8 << " status " << distiq::status_name(st));
  bool guards = true;
  for (int64_t i = 0; i < kGuardBytes; ++i) {
    guards &= buf[static_cast<size_t>(i)] == kGuardByte && buf[c_bytes + kGuardBytes + static_cast<size_t>(i)] == kGuardByte;
  }
  for (int64_t r = 0; r + 1 < s.m; ++r) {  // the ldc padding of each row but the last
    for (int64_t j = s.n; j < in.ldc; ++j) {
      for (size_t b = 0; b < elem_bytes(out); ++b) {
        guards &= buf[kGuardBytes + static_cast<size_t>(r * in.ldc + j) * elem_bytes(out) + b] == kGuardByte;
      }
    }
  }
  DQ_CHECK(guards, what << " " << kernel.name_u8s8 << " wrote outside C, m=" << s.m << " n=" << s.n << " k=" << s.k);
  return buf;
}

std::vector<const GemmS8Kernel*> simd_kernels() {
  std::vector<const GemmS8Kernel*> out;
  for (Isa level : distiq::supported_isas()) {
    const GemmS8Kernel* k = distiq::kernels_for(level).gemm_s8;
    if (k->isa != Isa::kRef && std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  }
  return out;
}

// Selects the amx kernel's path for the checks below (x86 only; elsewhere there is no amx kernel).
void set_amx_path(int path) {
#if defined(__x86_64__) || defined(_M_X64)
  distiq::gemm_s8_amx_set_test_path(static_cast<distiq::AmxTestPath>(path));
#else
  (void)path;
#endif
}

// The amx kernel's paths check() runs (AmxTestPath values): its own choice (small tiles on vpdpbusd) and tiles
// only, unless a test asks for one path.
std::vector<int> g_amx_paths = {0, 1};

// Every SIMD level vs the reference, one output kind; names the first differing element. The amx kernel runs once
// per entry of g_amx_paths.
void check(const Inputs& in, GemmOut out, const char* what) {
  const auto expected = run(distiq::gemm_s8_ref(), in, out, what);
  for (const GemmS8Kernel* k : simd_kernels()) {
    for (int path : k->isa == Isa::kAmx ? g_amx_paths : std::vector<int>{0}) {
      set_amx_path(path);
      const auto got = run(*k, in, out, what);
      set_amx_path(0);
      if (got == expected) continue;
      size_t at = 0;
      while (at < got.size() && got[at] == expected[at]) ++at;
      const int64_t e = static_cast<int64_t>((at - kGuardBytes) / elem_bytes(out));
      DQ_CHECK(false, what << " " << (in.s.a_signed ? k->name_s8s8 : k->name_u8s8) << " out "
                           << static_cast<int>(out) << " m=" << in.s.m << " n=" << in.s.n << " k=" << in.s.k
                           << " differs at (" << e / in.ldc << "," << e % in.ldc << ") path " << path << " seed "
                           << dqtest::base_seed());
    }
  }
}

void check_all_outputs(dqtest::Rng& rng, Shape s, const char* what) {
  const Inputs in = random_inputs(rng, s);
  for (GemmOut out : {GemmOut::kS32, GemmOut::kF32, GemmOut::kU8, GemmOut::kS8}) check(in, out, what);
}

}  // namespace

DQ_TEST("gemm_s8 amx: M tails 1..17 and around 32, 48, 64 (16-row tiles, 32-row blocks)") {
  dqtest::Rng rng(dqtest::base_seed() ^ 0xA301);
  for (int64_t m = 1; m <= 17; ++m) check_all_outputs(rng, {m, 40, 100, m % 2 == 0}, "m tail");
  for (int64_t m : {31, 32, 33, 47, 48, 49, 63, 64, 65, 97}) check_all_outputs(rng, {m, 33, 130, m % 2 == 1}, "m tail");
}

DQ_TEST("gemm_s8 amx: N tails around one and two B tiles") {
  dqtest::Rng rng(dqtest::base_seed() ^ 0xA302);
  for (int64_t n : {1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 95}) {
    for (bool s8 : {false, true}) check_all_outputs(rng, {19, n, 70, s8}, "n tail");
  }
}

DQ_TEST("gemm_s8 amx: K tails around the 64-byte tile depth") {
  dqtest::Rng rng(dqtest::base_seed() ^ 0xA303);
  for (int64_t k : {1, 2, 3, 4, 5, 31, 63, 64, 65, 66, 127, 128, 129, 191, 192, 193, 255, 256, 257, 320, 1000}) {
    for (bool s8 : {false, true}) check_all_outputs(rng, {35, 37, k, s8}, "k tail");
  }
}

DQ_TEST("gemm_s8 amx: int32 out with zero points 0 (whole tiles stored straight into C), strided C, tails") {
  dqtest::Rng rng(dqtest::base_seed() ^ 0xA304);
  const Shape shapes[] = {{32, 32, 64, false}, {64, 64, 200, true}, {65, 70, 130, false}, {96, 33, 1000, true},
                          {16, 48, 65, false},  {1, 64, 64, true},   {47, 97, 3, false},   {128, 160, 320, true}};
  for (const Shape& s : shapes) {
    Inputs in = random_inputs(rng, s);
    in.za = 0, in.zw = 0;
    for (int64_t pad : {0, 5}) {
      in.ldc = s.n + pad;
      check(in, GemmOut::kS32, "zero points 0");
    }
    in.zw = 1;  // one zero point off: the epilogue path, same shapes
    check(in, GemmOut::kS32, "zw 1");
  }
}

DQ_TEST("gemm_s8 amx: s8 x s8 and u8 x s8 extremes are exact (int64 check) on every level") {
  // All-(−128) A and W: Σ = 16384·K; A −128 against W 127: −16256·K; u8 255 against −128: −32640·K.
  struct Extreme {
    bool a_signed;
    uint8_t a;
    int8_t w;
  };
  const Extreme cases[] = {{true, 0x80, -128}, {true, 0x80, 127}, {true, 0x7F, -128}, {false, 255, -128}, {false, 255, 127}};
  for (const Extreme& e : cases) {
    for (int64_t k : {64, 65, 4095, 65536}) {
      Inputs in;
      in.s = {17, 18, k, e.a_signed};
      in.lda = k, in.ldw = k, in.ldc = 18;
      in.a.assign(static_cast<size_t>(17 * k), e.a);
      in.w.assign(static_cast<size_t>(18 * k), e.w);
      in.za = 0, in.zw = 0, in.w_scale = {1.0f}, in.a_scale = 1.0f, in.out_scale = 1.0f, in.out_zp = 0, in.relu = false;
      const int64_t av = e.a_signed ? static_cast<int8_t>(e.a) : e.a;
      const int64_t expected = av * e.w * k;
      for (const GemmS8Kernel* kern : simd_kernels()) {
        const auto buf = run(*kern, in, GemmOut::kS32, "extremes");
        bool all = true;
        for (int64_t i = 0; i < 17 * 18; ++i) {
          int32_t v;
          std::memcpy(&v, buf.data() + kGuardBytes + 4 * i, 4);
          all &= v == expected;
        }
        DQ_CHECK(all, kern->name_s8s8 << " a=" << av << " w=" << static_cast<int>(e.w) << " k=" << k
                                      << " expected " << expected << " everywhere");
      }
    }
  }
}

DQ_TEST("gemm_s8 amx: 1, 2 and 3 threads give the reference's bits (cuts at multiples of 32 rows/columns)") {
  dqtest::Rng rng(dqtest::base_seed() ^ 0xA305);
  const int before = distiq::get_num_threads();
  for (const Shape s : {Shape{150, 301, 333, false}, Shape{97, 130, 2000, true}, Shape{40, 1000, 257, false}}) {
    const Inputs in = random_inputs(rng, s);
    for (GemmOut out : {GemmOut::kS32, GemmOut::kF32, GemmOut::kU8}) {
      const auto expected = run(distiq::gemm_s8_ref(), in, out, "threads");
      for (int t : {1, 2, 3}) {
        distiq::set_num_threads(t);
        for (const GemmS8Kernel* k : simd_kernels()) {
          DQ_CHECK(run(*k, in, out, "threads") == expected,
                   k->name_u8s8 << " threads " << t << " m=" << s.m << " n=" << s.n << " k=" << s.k);
        }
      }
    }
  }
  distiq::set_num_threads(before);
}

DQ_TEST("gemm_s8 amx: the path without staging scratch (stack slices of 256 k) equals ref") {
#if defined(__x86_64__) || defined(_M_X64)
  dqtest::Rng rng(dqtest::base_seed() ^ 0xA306);
  g_amx_paths = {static_cast<int>(distiq::AmxTestPath::kSliced)};
  for (const Shape s : {Shape{1, 17, 1, false}, Shape{17, 33, 255, true}, Shape{33, 40, 257, false},
                        Shape{70, 50, 700, true}, Shape{5, 20, 64, false}}) {
    check_all_outputs(rng, s, "sliced");
  }
  g_amx_paths = {0, 1};
#endif
}

DQ_TEST("gemm_s8 amx: weights packed for another level are kLayoutMismatch") {
  const std::vector<const GemmS8Kernel*> kernels = simd_kernels();
  std::vector<int32_t> sums(4, 0);
  std::vector<uint8_t> panels(4096, 0);
  for (const GemmS8Kernel* packer : kernels) {
    for (const GemmS8Kernel* runner : kernels) {
      if (packer == runner) continue;
      PackedS8 w;
      w.n = 4, w.k = 3, w.layout = packer->isa, w.row_sums = sums.data(), w.panels = panels.data();
      uint8_t a[6] = {};
      int32_t c[8] = {};
      GemmS8Args args;
      args.m = 2, args.a = a, args.lda = 3, args.w = &w, args.c = c, args.ldc = 4;
      DQ_CHECK(distiq::gemm_s8(*runner, args) == Status::kLayoutMismatch,
               runner->name_u8s8 << " accepted weights packed for " << packer->name_u8s8);
    }
  }
}
