// int8 GEMM tests: the reference against an independent int64 computation, then every ISA level this CPU runs
// against the reference, bit for bit, for all four output kinds, u8×s8 and s8×s8, per-tensor and per-channel
// scales, bias and ReLU, shapes around every tile edge, strided A/C, the K limit, zero points at the ends of their
// ranges, and thread-count independence. Outputs sit between guard bytes that must stay untouched.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "distiq/gemm_s8.h"
#include "distiq/kernels.h"
#include "distiq/threadpool.h"
#include "harness.h"

namespace {

using distiq::GemmOut;
using distiq::GemmS8Args;
using distiq::GemmS8Kernel;
using distiq::Isa;
using distiq::PackedS8;
using distiq::Status;

constexpr uint8_t kSentinel = 0xA5;
constexpr size_t kGuard = 64;

const char* out_name(GemmOut o) {
  switch (o) {
    case GemmOut::kS32: return "s32";
    case GemmOut::kF32: return "f32";
    case GemmOut::kU8: return "u8";
    default: return "s8";
  }
}

size_t elem_size(GemmOut o) { return (o == GemmOut::kS32 || o == GemmOut::kF32) ? 4 : 1; }

// One problem: A [m,k] (row stride lda, exactly sized heap buffer so ASan sees any overread), W [n,k] (row stride
// ldw), zero points, and an epilogue.
struct Problem {
  int64_t m = 1, n = 1, k = 1, lda = 1, ldw = 1, ldc = 1;
  bool a_signed = false;
  int32_t za = 0, zw = 0;
  std::vector<uint8_t> a;  // raw bytes (u8 or s8)
  std::vector<int8_t> w;
  float a_scale = 1.0f;
  std::vector<float> w_scale{1.0f};
  std::vector<float> bias;  // empty = no bias
  bool relu = false;
  float out_scale = 1.0f;
  int32_t out_zp = 0;
};

Problem make_problem(dqtest::Rng& rng, int64_t m, int64_t n, int64_t k, bool a_signed, int64_t lda_pad = 0,
                     int64_t ldc_pad = 0) {
  Problem p;
  p.m = m, p.n = n, p.k = k, p.a_signed = a_signed;
  p.lda = k + lda_pad;
  p.ldw = k + (rng.next() % 3);
  p.ldc = n + ldc_pad;
  p.a.resize(static_cast<size_t>(m > 0 ? (m - 1) * p.lda + k : 0));
  for (auto& v : p.a) v = static_cast<uint8_t>(rng.next());
  p.w.resize(static_cast<size_t>(n > 0 ? (n - 1) * p.ldw + k : 0));
  for (auto& v : p.w) v = static_cast<int8_t>(rng.next());
  p.za = a_signed ? rng.uniform_int(-128, 127) : rng.uniform_int(0, 255);
  p.zw = rng.uniform_int(-128, 127);
  if (rng.next() % 4 == 0) p.zw = 0;  // the common symmetric-weights case skips the row sums
  return p;
}

// Random epilogue parameters; scales sized so requantized outputs land across the whole 8-bit range.
void randomize_epilogue(dqtest::Rng& rng, Problem& p) {
  const float typical = std::sqrt(static_cast<float>(std::max<int64_t>(p.k, 1))) * 100.0f;
  p.a_scale = rng.uniform(0.01f, 0.1f);
  if (rng.next() % 2 == 0) {
    p.w_scale.assign(1, rng.uniform(0.005f, 0.05f));
  } else {
    p.w_scale.resize(static_cast<size_t>(p.n));
    for (auto& s : p.w_scale) s = rng.uniform(0.005f, 0.05f);
  }
  p.bias.clear();
  if (rng.next() % 2 == 0) {
    p.bias.resize(static_cast<size_t>(p.n));
    for (auto& b : p.bias) b = rng.uniform(-20.0f, 20.0f);
  }
  p.relu = rng.next() % 2 == 0;
  p.out_scale = typical * p.a_scale * 0.02f / 100.0f + 1e-3f;
  p.out_zp = rng.uniform_int(-20, 20);
}

struct Packed {
  std::vector<int32_t> row_sums;
  std::unique_ptr<uint8_t[]> panels;
  PackedS8 view;
};

std::unique_ptr<Packed> pack(const GemmS8Kernel& kernel, const Problem& p) {
  auto out = std::make_unique<Packed>();
  out->row_sums.resize(static_cast<size_t>(p.n));
  distiq::weight_row_sums_s8(p.w.data(), p.ldw, p.n, p.k, out->row_sums.data());
  const size_t bytes = kernel.packed_bytes(p.n, p.k);
  out->panels.reset(new uint8_t[bytes + 1]);
  kernel.pack(p.w.data(), p.ldw, p.n, p.k, out->panels.get());
  out->view.n = p.n;
  out->view.k = p.k;
  out->view.layout = kernel.isa;
  out->view.row_sums = out->row_sums.data();
  out->view.panels = out->panels.get();
  return out;
}

GemmS8Args make_args(const Problem& p, const PackedS8& w, GemmOut out, void* c) {
  GemmS8Args args;
  args.m = p.m;
  args.a = p.a.data();
  args.lda = p.lda;
  args.a_signed = p.a_signed;
  args.za = p.za;
  args.w = &w;
  args.zw = p.zw;
  args.out = out;
  args.c = c;
  args.ldc = p.ldc;
  args.a_scale = p.a_scale;
  args.w_scale = p.w_scale.data();
  args.w_scale_count = static_cast<int64_t>(p.w_scale.size());
  args.bias = p.bias.empty() ? nullptr : p.bias.data();
  args.relu = p.relu;
  args.out_scale = p.out_scale;
  args.out_zp = p.out_zp;
  return args;
}

// Runs one kernel and returns the whole C buffer (guards included, unwritten elements left as the sentinel).
// Checks that the guards and the ldc padding were not written.
std::vector<uint8_t> run(const GemmS8Kernel& kernel, const Problem& p, GemmOut out, const char* label) {
  auto packed = pack(kernel, p);
  const size_t es = elem_size(out);
  const size_t c_bytes = static_cast<size_t>(p.m > 0 ? ((p.m - 1) * p.ldc + p.n) : 0) * es;
  std::vector<uint8_t> buf(c_bytes + 2 * kGuard, kSentinel);
  const GemmS8Args args = make_args(p, packed->view, out, buf.data() + kGuard);
  const Status st = distiq::gemm_s8(kernel, args);
  DQ_CHECK(st == Status::kOk, label << " " << kernel.name_u8s8 << " status " << distiq::status_name(st));
  bool guards_ok = true;
  for (size_t i = 0; i < kGuard; ++i) guards_ok &= buf[i] == kSentinel && buf[kGuard + c_bytes + i] == kSentinel;
  for (int64_t i = 0; i + 1 < p.m; ++i) {
    for (int64_t j = p.n; j < p.ldc; ++j) {
      for (size_t b = 0; b < es; ++b) guards_ok &= buf[kGuard + (i * p.ldc + j) * es + b] == kSentinel;
    }
  }
  DQ_CHECK(guards_ok, label << " " << kernel.name_u8s8 << " wrote outside C (m=" << p.m << " n=" << p.n
                            << " k=" << p.k << " ldc=" << p.ldc << ")");
  return buf;
}

// Compares a level's C against the reference's, element by element, naming the first difference.
void expect_same(const std::vector<uint8_t>& ref, const std::vector<uint8_t>& got, const Problem& p, GemmOut out,
                 const GemmS8Kernel& kernel, const char* label) {
  if (ref == got) return;
  const size_t es = elem_size(out);
  for (size_t off = 0; off < ref.size(); off += es) {
    if (std::memcmp(&ref[off], &got[off], es) != 0) {
      const int64_t e = static_cast<int64_t>((off - kGuard) / es);
      int32_t rv = 0, gv = 0;
      std::memcpy(&rv, &ref[off], es);
      std::memcpy(&gv, &got[off], es);
      DQ_CHECK(false, label << " " << (p.a_signed ? kernel.name_s8s8 : kernel.name_u8s8) << " out=" << out_name(out)
                            << " m=" << p.m << " n=" << p.n << " k=" << p.k << " lda=" << p.lda << " ldc=" << p.ldc
                            << " za=" << p.za << " zw=" << p.zw << " at (" << e / p.ldc << "," << e % p.ldc
                            << ") ref bits " << rv << " got bits " << gv << " seed " << dqtest::base_seed());
      return;
    }
  }
}

std::vector<const GemmS8Kernel*> simd_levels() {
  std::vector<const GemmS8Kernel*> out;
  for (Isa level : distiq::supported_isas()) {
    const GemmS8Kernel* k = distiq::kernels_for(level).gemm_s8;
    if (k->isa == Isa::kRef) continue;
    if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  }
  return out;
}

// Every level vs the reference for one problem and every output kind.
void check_all_levels(Problem p, const char* label, dqtest::Rng& rng) {
  const GemmS8Kernel& ref = distiq::gemm_s8_ref();
  for (GemmOut out : {GemmOut::kS32, GemmOut::kF32, GemmOut::kU8, GemmOut::kS8}) {
    if (out != GemmOut::kS32) randomize_epilogue(rng, p);
    const auto expected = run(ref, p, out, label);
    for (const GemmS8Kernel* k : simd_levels()) expect_same(expected, run(*k, p, out, label), p, out, *k, label);
  }
}

const int64_t kDims[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127};
constexpr size_t kDimCount = sizeof(kDims) / sizeof(kDims[0]);

DQ_TEST("gemm_s8: reference equals an independent int64 computation mod 2^32") {
  dqtest::Rng rng(101);
  const GemmS8Kernel& ref = distiq::gemm_s8_ref();
  for (int trial = 0; trial < 60; ++trial) {
    const bool a_signed = trial % 2 == 1;
    Problem p = make_problem(rng, kDims[rng.next() % kDimCount], kDims[rng.next() % kDimCount],
                             kDims[rng.next() % kDimCount], a_signed, rng.next() % 3, rng.next() % 3);
    const auto got = run(ref, p, GemmOut::kS32, "ref-vs-int64");
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        int64_t s = 0;
        for (int64_t kk = 0; kk < p.k; ++kk) {
          const int64_t a = a_signed ? static_cast<int8_t>(p.a[i * p.lda + kk]) : p.a[i * p.lda + kk];
          s += (a - p.za) * (static_cast<int64_t>(p.w[j * p.ldw + kk]) - p.zw);
        }
        int32_t c;
        std::memcpy(&c, &got[kGuard + (i * p.ldc + j) * 4], 4);
        DQ_CHECK(c == static_cast<int32_t>(static_cast<uint32_t>(s)), "ref (" << i << "," << j << ") " << c
                                                                             << " expected " << s);
      }
    }
  }
}

DQ_TEST("gemm_s8: reference epilogue follows the documented expressions") {
  dqtest::Rng rng(102);
  const GemmS8Kernel& ref = distiq::gemm_s8_ref();
  for (int trial = 0; trial < 40; ++trial) {
    Problem p = make_problem(rng, 1 + rng.next() % 5, 1 + rng.next() % 40, 1 + rng.next() % 50, trial % 2 == 0);
    randomize_epilogue(rng, p);
    const auto acc = run(ref, p, GemmOut::kS32, "epilogue");
    const auto f32 = run(ref, p, GemmOut::kF32, "epilogue");
    const auto u8 = run(ref, p, GemmOut::kU8, "epilogue");
    const auto s8 = run(ref, p, GemmOut::kS8, "epilogue");
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        const int64_t e = i * p.ldc + j;
        int32_t c;
        std::memcpy(&c, &acc[kGuard + e * 4], 4);
        const float ws = p.w_scale.size() == 1 ? p.w_scale[0] : p.w_scale[j];
        float y = std::fmaf(static_cast<float>(c), p.a_scale * ws, p.bias.empty() ? 0.0f : p.bias[j]);
        if (p.relu && y < 0.0f) y = 0.0f;
        float yf;
        std::memcpy(&yf, &f32[kGuard + e * 4], 4);
        DQ_CHECK(std::memcmp(&y, &yf, 4) == 0 || (y == 0.0f && yf == 0.0f), "f32 (" << i << "," << j << ")");
        const float q = std::nearbyintf(y / p.out_scale) + static_cast<float>(p.out_zp);
        const int32_t qu = static_cast<int32_t>(std::min(255.0f, std::max(0.0f, q)));
        const int32_t qs = static_cast<int32_t>(std::min(127.0f, std::max(-128.0f, q)));
        DQ_CHECK(u8[kGuard + e] == qu, "u8 (" << i << "," << j << ") " << int(u8[kGuard + e]) << " vs " << qu);
        DQ_CHECK(static_cast<int8_t>(s8[kGuard + e]) == qs, "s8 (" << i << "," << j << ")");
      }
    }
  }
}

DQ_TEST("gemm_s8: every level equals ref on the m x n shape grid (all outputs, u8s8 and s8s8)") {
  dqtest::Rng rng(103);
  for (size_t im = 0; im < kDimCount; ++im) {
    for (size_t in = 0; in < kDimCount; ++in) {
      const int64_t k = kDims[(im * 7 + in * 3) % kDimCount];
      const bool a_signed = (im + in) % 2 == 1;
      check_all_levels(make_problem(rng, kDims[im], kDims[in], k, a_signed), "grid", rng);
    }
  }
}

DQ_TEST("gemm_s8: every level equals ref for every K around the group and vector widths") {
  dqtest::Rng rng(104);
  for (size_t ik = 0; ik < kDimCount; ++ik) {
    for (bool a_signed : {false, true}) {
      const int64_t m = kDims[(ik * 5 + 3) % kDimCount], n = kDims[(ik * 11 + 1) % kDimCount];
      check_all_levels(make_problem(rng, m, n, kDims[ik], a_signed), "k-sweep", rng);
    }
  }
  for (int64_t k : {0, 128, 129, 255, 256, 257, 1000, 1023, 4099}) {
    for (bool a_signed : {false, true}) check_all_levels(make_problem(rng, 9, 37, k, a_signed), "k-large", rng);
  }
}

DQ_TEST("gemm_s8: strided A and C (lda > k, ldc > n)") {
  dqtest::Rng rng(105);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t m = 1 + rng.next() % 20, n = 1 + rng.next() % 70, k = 1 + rng.next() % 90;
    check_all_levels(make_problem(rng, m, n, k, trial % 2 == 0, 1 + rng.next() % 9, 1 + rng.next() % 17), "strided",
                     rng);
  }
}

DQ_TEST("gemm_s8: zero points at both ends of their ranges") {
  dqtest::Rng rng(106);
  for (bool a_signed : {false, true}) {
    const int32_t za_ends[2] = {a_signed ? -128 : 0, a_signed ? 127 : 255};
    for (int32_t za : za_ends) {
      for (int32_t zw : {-128, 127, 0}) {
        Problem p = make_problem(rng, 13, 35, 300, a_signed, 2, 1);
        p.za = za;
        p.zw = zw;
        // Extreme data as well: A and W at the ends of their ranges in some rows.
        for (int64_t kk = 0; kk < p.k; ++kk) {
          p.a[kk] = a_signed ? 0x80 : 0xFF;
          p.a[p.lda + kk] = a_signed ? 0x7F : 0x00;
          p.w[kk] = -128;
          p.w[p.ldw + kk] = 127;
        }
        check_all_levels(p, "zero-point-ends", rng);
      }
    }
  }
}

// K = 65536 with every product at its extreme: the result must be the exact value, on every level.
void check_k_limit_value(bool a_signed, uint8_t a_byte, int8_t w_value, int32_t expected) {
  dqtest::Rng rng(107);
  Problem p = make_problem(rng, 3, 35, distiq::kGemmS8MaxK, a_signed);
  p.za = 0;
  p.zw = 0;
  std::fill(p.a.begin(), p.a.end(), a_byte);
  std::fill(p.w.begin(), p.w.end(), w_value);
  std::vector<const GemmS8Kernel*> all{&distiq::gemm_s8_ref()};
  for (const GemmS8Kernel* k : simd_levels()) all.push_back(k);
  for (const GemmS8Kernel* k : all) {
    const auto c = run(*k, p, GemmOut::kS32, "k-limit");
    bool ok = true;
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        int32_t v;
        std::memcpy(&v, &c[kGuard + (i * p.ldc + j) * 4], 4);
        ok &= v == expected;
      }
    }
    DQ_CHECK(ok, k->name_u8s8 << " K=65536 signed=" << a_signed << " expected " << expected);
  }
}

DQ_TEST("gemm_s8: K = 65536 extremes give the exact value on every level") {
  check_k_limit_value(false, 255, -128, -2139095040);   // 255·(−128)·65536
  check_k_limit_value(false, 255, 127, 2122383360);     // 255·127·65536
  check_k_limit_value(true, 0x80, -128, 1073741824);    // (−128)·(−128)·65536 = 2^30
  check_k_limit_value(true, 0x80, 127, -1065353216);    // (−128)·127·65536
}

DQ_TEST("gemm_s8: K = 65536 with zero points wraps identically on every level") {
  dqtest::Rng rng(108);
  for (bool a_signed : {false, true}) {
    Problem p = make_problem(rng, 2, 19, distiq::kGemmS8MaxK, a_signed);
    p.za = a_signed ? 127 : 255;
    p.zw = 127;
    check_all_levels(p, "k-limit-wrap", rng);
  }
}

DQ_TEST("gemm_s8: long K on the blocked paths (row chunks, s8 rows flipped once, column blocks)") {
  dqtest::Rng rng(112);
  for (bool a_signed : {true, false}) {
    // 31 rows: several row blocks in a chunk; 70 columns at this K: several L2 column blocks.
    check_all_levels(make_problem(rng, 31, 21, distiq::kGemmS8MaxK - 3, a_signed, 5, 2), "long-k-rows", rng);
    check_all_levels(make_problem(rng, 6, 70, distiq::kGemmS8MaxK - 1, a_signed, 1, 3), "long-k-cols", rng);
  }
}

DQ_TEST("gemm_s8: GEMV rows 1-4 and blocked paths across column blocks, row chunks and K tails") {
  dqtest::Rng rng(113);
  // K = 4093..4096: every K tail; 2100 columns at this K span several L2 column blocks (the next block is
  // prefetched while one is computed) and end in a 4-column tail; m = 1..4 takes the GEMV tiles.
  for (int64_t m = 1; m <= 4; ++m) {
    const int64_t k = 4092 + m;
    check_all_levels(make_problem(rng, m, 2100, k, m % 2 == 0, m % 3, 1), "gemv-blocks", rng);
  }
  check_all_levels(make_problem(rng, 2, 2100, 4096, true, 0, 0), "gemv-blocks-k4096", rng);
  // Row counts that cut into uneven row blocks and more than one row chunk (chunks of ≤ 112 rows).
  for (int64_t m : {113, 126, 141}) {
    check_all_levels(make_problem(rng, m, 530, 1021 + m % 3, m % 2 == 1, 2, 3), "row-chunks", rng);
  }
}

// s8×s8 at the ends of the range (every A byte −128 or 127, every W byte −128 or 127, alternating by row/column
// and k) with zero points at the ends too: the +128 flip and the Σ w·128 correction must stay exact.
DQ_TEST("gemm_s8: s8 x s8 extremes equal ref on every level and thread count") {
  dqtest::Rng rng(114);
  const int saved = distiq::get_num_threads();
  const std::array<int64_t, 3> shapes[] = {{1, 4100, 2049}, {3, 2050, 4097}, {130, 300, 259}};
  for (const auto& shape : shapes) {
    Problem p = make_problem(rng, shape[0], shape[1], shape[2], true, 1, 2);
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t kk = 0; kk < p.k; ++kk) p.a[i * p.lda + kk] = ((i + kk) % 3 == 0) ? 0x7F : 0x80;
    }
    for (int64_t j = 0; j < p.n; ++j) {
      for (int64_t kk = 0; kk < p.k; ++kk) p.w[j * p.ldw + kk] = ((j * 7 + kk) % 5 == 0) ? 127 : -128;
    }
    p.za = shape[0] == 3 ? -128 : 0;
    p.zw = shape[0] == 3 ? 127 : 0;
    distiq::set_num_threads(1);
    const auto expected = run(distiq::gemm_s8_ref(), p, GemmOut::kS32, "s8-extremes");
    for (const GemmS8Kernel* k : simd_levels()) {
      for (int threads : {1, 2, 3}) {
        distiq::set_num_threads(threads);
        expect_same(expected, run(*k, p, GemmOut::kS32, "s8-extremes"), p, GemmOut::kS32, *k, "s8-extremes");
      }
    }
  }
  distiq::set_num_threads(saved);
}

DQ_TEST("gemm_s8: K above the limit is kLimitExceeded, other bad arguments are rejected") {
  const int32_t sums[4] = {};
  const uint8_t panels[16] = {};
  const uint8_t a[16] = {};
  int32_t c[16];
  float scale = 1.0f;
  for (Isa level : distiq::supported_isas()) {
    const GemmS8Kernel& kernel = *distiq::kernels_for(level).gemm_s8;
    PackedS8 w;
    w.n = 1;
    w.k = distiq::kGemmS8MaxK + 1;
    w.layout = kernel.isa;
    w.row_sums = sums;
    w.panels = panels;
    GemmS8Args args;
    args.m = 1;
    args.a = a;
    args.lda = w.k;
    args.w = &w;
    args.c = c;
    args.ldc = 1;
    args.w_scale = &scale;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kLimitExceeded, kernel.name_u8s8);
    w.k = 4;
    args.lda = 4;
    w.layout = kernel.isa == Isa::kRef ? Isa::kAvx2 : Isa::kRef;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kLayoutMismatch, kernel.name_u8s8);
    w.layout = kernel.isa;
    args.lda = 3;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kInvalidArgument, kernel.name_u8s8 << " lda < k");
    args.lda = 4;
    args.ldc = 0;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kInvalidArgument, kernel.name_u8s8 << " ldc < n");
    args.ldc = 1;
    args.m = -1;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kInvalidArgument, kernel.name_u8s8 << " m < 0");
    args.m = 0;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kOk, kernel.name_u8s8 << " m = 0 is a no-op");
    args.m = 1;
    args.out = GemmOut::kF32;
    args.w_scale_count = 2;
    DQ_CHECK(distiq::gemm_s8(kernel, args) == Status::kInvalidArgument, kernel.name_u8s8 << " w_scale_count");
  }
}

DQ_TEST("gemm_s8: results do not depend on the thread count") {
  dqtest::Rng rng(109);
  const int saved = distiq::get_num_threads();
  for (bool a_signed : {false, true}) {
    Problem p = make_problem(rng, 77, 211, 601, a_signed, 3, 5);  // above the serial cutoff (8M MACs)
    randomize_epilogue(rng, p);
    std::vector<const GemmS8Kernel*> all{&distiq::gemm_s8_ref()};
    for (const GemmS8Kernel* k : simd_levels()) all.push_back(k);
    for (const GemmS8Kernel* k : all) {
      for (GemmOut out : {GemmOut::kS32, GemmOut::kF32, GemmOut::kU8}) {
        distiq::set_num_threads(1);
        const auto one = run(*k, p, out, "threads=1");
        distiq::set_num_threads(2);
        const auto two = run(*k, p, out, "threads=2");
        distiq::set_num_threads(3);
        const auto three = run(*k, p, out, "threads=3");
        expect_same(one, two, p, out, *k, "threads 1 vs 2");
        expect_same(one, three, p, out, *k, "threads 1 vs 3");
      }
    }
  }
  distiq::set_num_threads(saved);
}

DQ_TEST("gemm_s8: large shape with two threads equals ref") {
  dqtest::Rng rng(110);
  const int saved = distiq::get_num_threads();
  distiq::set_num_threads(2);
  for (bool a_signed : {false, true}) check_all_levels(make_problem(rng, 131, 259, 517, a_signed, 1, 3), "large", rng);
  distiq::set_num_threads(saved);
}

DQ_TEST("gemm_s8: NaN and infinite bias follow the reference clamps") {
  dqtest::Rng rng(111);
  Problem p = make_problem(rng, 5, 21, 33, false);
  randomize_epilogue(rng, p);
  p.bias.assign(static_cast<size_t>(p.n), 0.0f);
  for (int64_t j = 0; j < p.n; ++j) p.bias[j] = j % 3 == 0 ? NAN : j % 3 == 1 ? INFINITY : -INFINITY;
  const GemmS8Kernel& ref = distiq::gemm_s8_ref();
  for (bool relu : {false, true}) {
    p.relu = relu;
    for (GemmOut out : {GemmOut::kF32, GemmOut::kU8, GemmOut::kS8}) {
      const auto expected = run(ref, p, out, "nan-bias");
      for (const GemmS8Kernel* k : simd_levels()) expect_same(expected, run(*k, p, out, "nan-bias"), p, out, *k, "nan-bias");
    }
  }
}

}  // namespace
