// fp32 GEMM tests: every ISA level this CPU runs vs gemm_f32_ref, BIT-EXACT (the contract fixes every element's
// expression, see distiq/gemm_f32.h), over all four (transA, transB) combinations, the shape catalogue around the
// micro-tile sizes (m, n, k ∈ {1..10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 200}), multi-block shapes (K
// beyond one K block, M/N beyond one cache block), strided lda/ldb/ldc, α ∈ {1, 0.5, −2}, β ∈ {0, 1, 0.25}, k = 0,
// and 1 vs 2 threads. β = 0 runs on a NaN-filled C to prove C is not read; stride gaps and the elements after C
// hold a sentinel that must survive.
//
// The ref itself is checked against a double-precision product with the ruy-style tolerance
//   |ref − exact| ≤ 64 · 2^-23 · max|exact| · sqrt(K)
// (float32 rounding of a K-term sum grows like sqrt(K)·eps for random signs; 64 leaves room for α/β rounding and
// unlucky cancellation while still catching a wrong index or a dropped term, which errs by O(max|exact|)).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <limits>
#include <string>
#include <vector>

#include "distiq/gemm_f32.h"
#include "distiq/isa.h"
#include "distiq/kernels.h"
#include "distiq/threadpool.h"
#include "harness.h"

namespace {

using distiq::GemmF32Args;
using distiq::GemmF32Kernel;
using distiq::Status;

constexpr float kSentinel = -12345.5f;
const float kNaN = std::numeric_limits<float>::quiet_NaN();

const int64_t kShapes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97, 127, 200};
constexpr int kShapeCount = sizeof(kShapes) / sizeof(kShapes[0]);
// α, β ∈ {1, 0.5, −2} / {0, 1, 0.25} from the brief, plus non-powers of two: a power-of-two β makes β·C exact, so
// fmaf(β, C, r) and β·C + r agree and a missing FMA in the epilogue would go unnoticed.
const float kAlphas[] = {1.0f, 0.5f, -2.0f, 0.7f};
const float kBetas[] = {0.0f, 1.0f, 0.25f, -0.3f};

bool same_bits(float x, float y) {
  uint32_t a, b;
  std::memcpy(&a, &x, 4);
  std::memcpy(&b, &y, 4);
  return a == b;
}

// The contract's equality between paths: identical bits, except that a NaN only has to be a NaN (which of two
// meeting NaN payloads survives depends on the instruction's operand order; see distiq/gemm_f32.h).
bool same_result(float x, float y) { return same_bits(x, y) || (std::isnan(x) && std::isnan(y)); }

float nan_with_payload(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// One problem: stored operands with padding (strides), plus the initial C (NaN when β = 0).
struct Problem {
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
  std::vector<float> a, b, c0;

  Problem(bool ta_, bool tb_, int64_t m_, int64_t n_, int64_t k_, int64_t pad, float alpha_, float beta_,
          uint64_t seed)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_), alpha(alpha_), beta(beta_) {
    dqtest::Rng rng(seed);
    const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    lda = a_cols + pad;
    ldb = b_cols + pad;
    ldc = n + pad;
    a.assign(static_cast<size_t>(a_rows * lda), kNaN);  // gaps hold NaN: reading one would poison the result
    b.assign(static_cast<size_t>(b_rows * ldb), kNaN);
    for (int64_t r = 0; r < a_rows; ++r)
      for (int64_t c = 0; c < a_cols; ++c) a[r * lda + c] = rng.uniform(-1.0f, 1.0f);
    for (int64_t r = 0; r < b_rows; ++r)
      for (int64_t c = 0; c < b_cols; ++c) b[r * ldb + c] = rng.uniform(-1.0f, 1.0f);
    c0.assign(static_cast<size_t>(m * ldc + 16), kSentinel);  // 16 guard elements after the last row
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c0[i * ldc + j] = beta == 0.0f ? kNaN : rng.uniform(-1.0f, 1.0f);
  }

  GemmF32Args args(std::vector<float>& c) const {
    GemmF32Args g;
    g.trans_a = ta;
    g.trans_b = tb;
    g.m = m;
    g.n = n;
    g.k = k;
    g.alpha = alpha;
    g.a = a.data();
    g.lda = lda;
    g.b = b.data();
    g.ldb = ldb;
    g.beta = beta;
    g.c = c.data();
    g.ldc = ldc;
    return g;
  }

  std::vector<float> run(const GemmF32Kernel& kernel, Status* status) const {
    std::vector<float> c = c0;
    *status = distiq::gemm_f32(kernel, args(c));
    return c;
  }

  // The same product with op(B) prepacked for `kernel` (gemm_f32_pack_b, gemm_f32_use_packed). The packed buffer
  // is followed by guard elements that packing must leave alone.
  std::vector<float> run_packed(const GemmF32Kernel& kernel, Status* status) const {
    const size_t floats = distiq::gemm_f32_packed_floats(kernel, k, n);
    std::vector<float> packed(floats + 16, kSentinel);
    *status = distiq::gemm_f32_pack_b(kernel, tb, k, n, b.data(), ldb, packed.data());
    if (*status != Status::kOk) return {};
    for (size_t e = floats; e < packed.size(); ++e) {
      if (!same_bits(packed[e], kSentinel)) {
        DQ_CHECK(false, kernel.name << ": gemm_f32_pack_b wrote past its size (" << describe() << ")");
        break;
      }
    }
    std::vector<float> c = c0;
    GemmF32Args g = args(c);
    distiq::gemm_f32_use_packed(kernel, packed.data(), &g);
    *status = distiq::gemm_f32(kernel, g);
    return c;
  }

  std::string describe() const {
    std::ostringstream os;
    os << "transA=" << ta << " transB=" << tb << " m=" << m << " n=" << n << " k=" << k << " lda=" << lda
       << " ldb=" << ldb << " ldc=" << ldc << " alpha=" << alpha << " beta=" << beta << " seed=" << dqtest::base_seed();
    return os.str();
  }
};

// Compares every element of `got` (including gaps and guards) with `want`, bit for bit. Returns false on the first
// mismatch (reported).
bool expect_identical(const std::vector<float>& got, const std::vector<float>& want, const Problem& p,
                      const char* what) {
  for (size_t e = 0; e < want.size(); ++e) {
    if (!same_result(got[e], want[e])) {
      const int64_t i = static_cast<int64_t>(e) / p.ldc, j = static_cast<int64_t>(e) % p.ldc;
      DQ_CHECK(false, what << ": C[" << i << "," << j << "] = " << std::setprecision(9) << got[e] << ", ref "
                           << want[e] << " ("
                           << p.describe() << ")");
      return false;
    }
  }
  return true;
}

// The ref output must write exactly C[0:m, 0:n] and leave the gaps and guards alone; with finite inputs and β = 0
// no NaN may survive (the NaN-filled C was not read).
bool expect_written(const std::vector<float>& c, const Problem& p) {
  for (size_t e = 0; e < c.size(); ++e) {
    const int64_t i = static_cast<int64_t>(e) / p.ldc, j = static_cast<int64_t>(e) % p.ldc;
    const bool inside = i < p.m && j < p.n;
    if (inside ? std::isnan(c[e]) : !same_bits(c[e], kSentinel)) {
      DQ_CHECK(false, "element " << e << (inside ? " is NaN" : " outside C changed") << " (" << p.describe() << ")");
      return false;
    }
  }
  return true;
}

// Every SIMD level against the ref for one problem, with B as given and prepacked (every level, the ref too).
void check_levels(const Problem& p) {
  Status s;
  const std::vector<float> want = p.run(distiq::gemm_f32_ref(), &s);
  DQ_CHECK(s == Status::kOk, "ref status " << static_cast<int>(s));
  if (!expect_written(want, p)) return;
  const GemmF32Kernel* done = nullptr;
  for (distiq::Isa level : distiq::supported_isas()) {
    const GemmF32Kernel& kernel = *distiq::kernels_for(level).gemm_f32;
    if (&kernel == done) continue;  // levels without their own gemm_f32 kernel reuse the one below
    done = &kernel;
    if (&kernel != &distiq::gemm_f32_ref()) {
      const std::vector<float> got = p.run(kernel, &s);
      DQ_CHECK(s == Status::kOk, kernel.name << " status " << static_cast<int>(s));
      expect_identical(got, want, p, kernel.name);
    }
    const std::vector<float> packed = p.run_packed(kernel, &s);
    DQ_CHECK(s == Status::kOk, kernel.name << " packed status " << static_cast<int>(s));
    if (s == Status::kOk) expect_identical(packed, want, p, (std::string(kernel.name) + " packed B").c_str());
  }
}

// The shape catalogue: every (m, n) pair, k rotating through the list, α/β/stride rotating too.
void catalogue(bool ta, bool tb) {
  int counter = 0;
  for (int mi = 0; mi < kShapeCount; ++mi) {
    for (int ni = 0; ni < kShapeCount; ++ni) {
      const int64_t k = kShapes[(mi * 7 + ni * 3 + (ta ? 5 : 0) + (tb ? 11 : 0)) % kShapeCount];
      const float alpha = kAlphas[counter % 4];
      const float beta = kBetas[(counter / 4) % 4];
      const int64_t pad = (counter / 16) % 3 == 1 ? 3 : ((counter / 16) % 3 == 2 ? 17 : 0);
      check_levels(Problem(ta, tb, kShapes[mi], kShapes[ni], k, pad, alpha, beta, 1000 + counter));
      ++counter;
    }
  }
  // Every k of the list against a few fixed (m, n), so each k meets both tails and full tiles.
  for (int ki = 0; ki < kShapeCount; ++ki) {
    for (int64_t mn : {int64_t{1}, int64_t{13}, int64_t{33}}) {
      check_levels(Problem(ta, tb, mn, 47 - mn, kShapes[ki], ki % 2 == 0 ? 0 : 5, kAlphas[ki % 4],
                           kBetas[(ki / 4) % 4], 5000 + ki));
    }
  }
}

DQ_TEST("gemm_f32: every level == ref, A·B") { catalogue(false, false); }
DQ_TEST("gemm_f32: every level == ref, A·Bᵀ") { catalogue(false, true); }
DQ_TEST("gemm_f32: every level == ref, Aᵀ·B") { catalogue(true, false); }
DQ_TEST("gemm_f32: every level == ref, Aᵀ·Bᵀ") { catalogue(true, true); }

// Shapes past one cache block: K over several K blocks (accumulators parked in C, with and without β), M past the
// M block, N past the N block, strided.
DQ_TEST("gemm_f32: multi-block shapes == ref") {
  struct Shape {
    int64_t m, n, k;
  };
  // Blocks (see the ISA files): KC 256 (AVX2) / 512 (AVX-512); M blocks of 3072 rows, or 288 (AVX2) / 480 (AVX-512)
  // when β ≠ 0 and K spans several K blocks (the old C is saved per block); NC 192 (AVX2) / 512 (AVX-512). Each shape runs
  // with all four β values (one per transpose combination).
  const Shape shapes[] = {{13, 37, 385},  {30, 70, 777},  {250, 40, 100}, {20, 530, 50},  {61, 45, 1100},
                          {257, 529, 400}, {490, 40, 300}, {27, 1030, 300}, {3100, 20, 8}, {300, 30, 280}};
  int counter = 0;
  for (const Shape& sh : shapes) {
    for (int t = 0; t < 4; ++t) {
      const float beta = kBetas[counter % 4];
      check_levels(Problem(t & 1, t & 2, sh.m, sh.n, sh.k, counter % 2 ? 9 : 0, kAlphas[counter % 4], beta,
                           9000 + counter));
      ++counter;
    }
  }
}

// The blocking as built: K cut into ⌈K/KC⌉ blocks of equal length (AVX2, KC 256: 257 → 129 + 128, 513 → 3 × 171,
// 784 → 4 × 196; AVX-512, KC 512: 513 → 257 + 256, 784 → 2 × 392, 1025 → 342 + 342 + 341), Ã packed one MR strip at
// a time (with the next strip prefetched: M = MR·s ± 1 ends a block mid-strip), N past the AVX-512 N block of 512
// (and 1024) with a partial last strip, the β ≠ 0 M block (480 rows on AVX-512, 288 on AVX2)
// crossed by a multi-K product, a wide Aᵀ (lda > 512 keeps A packed on narrow tiles), and tiles of ≤ 24 rows (a
// stored Bᵀ transposed one strip per N block, A read in place). All four transposes.
DQ_TEST("gemm_f32: K-block splits, strip and block edges == ref") {
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{25, 33, 257},  {130, 70, 513}, {37, 1061, 784}, {13, 40, 520}, {485, 48, 300},
                          {23, 45, 600},  {600, 20, 70},  {97, 1030, 9},   {5, 1061, 300}, {24, 100, 700},
                          {40, 530, 1025}};
  int counter = 0;
  for (const Shape& sh : shapes) {
    for (int t = 0; t < 4; ++t) {
      const float beta = kBetas[(counter + 1) % 4];
      check_levels(Problem(t & 1, t & 2, sh.m, sh.n, sh.k, counter % 3 == 0 ? 0 : 7, kAlphas[(counter + 2) % 4],
                           beta, 11000 + counter));
      ++counter;
    }
  }
}

// Results must not depend on the thread count (the driver splits only M and N): shapes that the driver cuts along
// N, along M, and into a 3-tile grid.
DQ_TEST("gemm_f32: 1 thread == 2 threads == 3 threads, every level") {
  const int before = distiq::get_num_threads();
  struct Shape {
    int64_t m, n, k;
  };
  const Shape shapes[] = {{131, 150, 420}, {300, 40, 200}, {50, 700, 90}};
  for (distiq::Isa level : distiq::supported_isas()) {
    const GemmF32Kernel& kernel = *distiq::kernels_for(level).gemm_f32;
    int counter = 0;
    for (const Shape& sh : shapes) {
      for (int t = 0; t < 4; ++t, ++counter) {
        const Problem p(t & 1, t & 2, sh.m, sh.n, sh.k, 3, -2.0f, t % 2 ? -0.3f : 0.0f, 777 + counter);
        Status s1, s2, s3;
        distiq::set_num_threads(1);
        const std::vector<float> one = p.run(kernel, &s1);
        distiq::set_num_threads(2);
        const std::vector<float> two = p.run(kernel, &s2);
        distiq::set_num_threads(3);
        const std::vector<float> three = p.run(kernel, &s3);
        DQ_CHECK(s1 == Status::kOk && s2 == Status::kOk && s3 == Status::kOk, "status");
        expect_identical(two, one, p, kernel.name);
        expect_identical(three, one, p, kernel.name);
        // Prepacked B: same bits at every thread count too (the driver cuts N at multiples of the packed strips).
        distiq::set_num_threads(2);
        const std::vector<float> two_packed = p.run_packed(kernel, &s2);
        distiq::set_num_threads(3);
        const std::vector<float> three_packed = p.run_packed(kernel, &s3);
        DQ_CHECK(s2 == Status::kOk && s3 == Status::kOk, "packed status");
        expect_identical(two_packed, one, p, kernel.name);
        expect_identical(three_packed, one, p, kernel.name);
      }
    }
  }
  distiq::set_num_threads(before);
}

// The ref (the spec) against a double-precision product, with the tolerance documented at the top of this file.
DQ_TEST("gemm_f32: ref within 64·2^-23·max|exact|·sqrt(K) of a double product") {
  int counter = 0;
  for (int64_t k : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{200}, int64_t{1000}}) {
    for (int t = 0; t < 4; ++t) {
      const float alpha = kAlphas[counter % 4], beta = kBetas[(counter / 4) % 4];
      const Problem p(t & 1, t & 2, 19, 23, k, 2, alpha, beta, 3000 + counter++);
      Status s;
      const std::vector<float> got = p.run(distiq::gemm_f32_ref(), &s);
      std::vector<double> exact(static_cast<size_t>(p.m * p.n));
      double max_abs = 0.0;
      for (int64_t i = 0; i < p.m; ++i) {
        for (int64_t j = 0; j < p.n; ++j) {
          double acc = 0.0;
          for (int64_t q = 0; q < k; ++q) {
            const double a = p.ta ? p.a[q * p.lda + i] : p.a[i * p.lda + q];
            const double b = p.tb ? p.b[j * p.ldb + q] : p.b[q * p.ldb + j];
            acc += a * b;
          }
          double r = static_cast<double>(alpha) * acc;
          if (beta != 0.0f) r += static_cast<double>(beta) * p.c0[i * p.ldc + j];
          exact[i * p.n + j] = r;
          max_abs = std::fmax(max_abs, std::fabs(r));
        }
      }
      const double tol = 64.0 * std::ldexp(1.0, -23) * max_abs * std::sqrt(static_cast<double>(k));
      for (int64_t i = 0; i < p.m; ++i) {
        for (int64_t j = 0; j < p.n; ++j) {
          const double d = std::fabs(got[i * p.ldc + j] - exact[i * p.n + j]);
          if (!(d <= tol)) {
            DQ_CHECK(false, "C[" << i << "," << j << "] off by " << d << " > " << tol << " (" << p.describe() << ")");
            i = p.m;
            break;
          }
        }
      }
    }
  }
}

// k = 0: acc = 0, so C = α·0 (β = 0, C not read) or fmaf(β, C, α·0); every level goes through the driver.
DQ_TEST("gemm_f32: k = 0 follows the contract expression") {
  for (distiq::Isa level : distiq::supported_isas()) {
    const GemmF32Kernel& kernel = *distiq::kernels_for(level).gemm_f32;
    for (float beta : kBetas) {
      for (float alpha : kAlphas) {
        const Problem p(false, false, 5, 19, 0, 1, alpha, beta, 42);
        Status s;
        const std::vector<float> got = p.run(kernel, &s);
        DQ_CHECK(s == Status::kOk, "status");
        for (int64_t i = 0; i < p.m; ++i) {
          for (int64_t j = 0; j < p.n; ++j) {
            const float r0 = alpha * 0.0f;
            const float want = beta != 0.0f ? std::fmaf(beta, p.c0[i * p.ldc + j], r0) : r0;
            DQ_CHECK(same_bits(got[i * p.ldc + j], want),
                     kernel.name << " C[" << i << "," << j << "] = " << got[i * p.ldc + j] << ", want " << want);
          }
          DQ_CHECK(same_bits(got[i * p.ldc + p.n], kSentinel), "stride gap written");
        }
      }
    }
  }
}

// Special values flow through the same expression on every path: Inf·0 and Inf − Inf give NaN, NaNs (with distinct
// payloads) spread along their rows/columns, and every other element keeps the ref's exact bits.
DQ_TEST("gemm_f32: Inf/NaN inputs give the ref's results") {
  for (int t = 0; t < 4; ++t) {
    for (float beta : {0.0f, 0.5f}) {
      Problem p(t & 1, t & 2, 29, 35, 40, 0, 1.0f, beta, 60 + t);
      p.a[3] = std::numeric_limits<float>::infinity();
      p.a[17] = -std::numeric_limits<float>::infinity();
      p.a[100] = nan_with_payload(0xFFC00003u);
      p.b[5] = kNaN;
      p.b[40] = 0.0f;
      p.b[333] = nan_with_payload(0x7FC00002u);
      p.c0[7] = std::numeric_limits<float>::infinity();
      p.c0[36] = nan_with_payload(0x7FC00005u);
      Status s;
      const std::vector<float> want = p.run(distiq::gemm_f32_ref(), &s);
      int nans = 0;
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t j = 0; j < p.n; ++j) nans += std::isnan(want[i * p.ldc + j]) ? 1 : 0;
      DQ_CHECK(nans > 0 && nans < p.m * p.n, "the NaN pattern should be partial, got " << nans);
      for (distiq::Isa level : distiq::supported_isas()) {
        const GemmF32Kernel& kernel = *distiq::kernels_for(level).gemm_f32;
        expect_identical(p.run(kernel, &s), want, p, kernel.name);
      }
    }
  }
}

DQ_TEST("gemm_f32: driver rejects bad arguments and touches nothing") {
  std::vector<float> a(64, 1.0f), b(64, 1.0f), c(64, kSentinel);
  const GemmF32Kernel& kernel = *distiq::kernels_for(distiq::best_isa()).gemm_f32;
  auto base = [&] {
    GemmF32Args g;
    g.m = 4;
    g.n = 4;
    g.k = 4;
    g.a = a.data();
    g.lda = 4;
    g.b = b.data();
    g.ldb = 4;
    g.c = c.data();
    g.ldc = 4;
    return g;
  };
  GemmF32Args g = base();
  DQ_CHECK(distiq::gemm_f32(kernel, g) == Status::kOk, "valid call");
  DQ_CHECK(c[0] == 4.0f, "valid call result " << c[0]);
  std::fill(c.begin(), c.end(), kSentinel);
  const auto expect_invalid = [&](GemmF32Args bad, const char* what) {
    DQ_CHECK(distiq::gemm_f32(kernel, bad) == Status::kInvalidArgument, what);
    for (float x : c) {
      if (!same_bits(x, kSentinel)) {
        DQ_CHECK(false, what << ": C was written");
        break;
      }
    }
  };
  g = base(); g.m = -1; expect_invalid(g, "m < 0");
  g = base(); g.n = -1; expect_invalid(g, "n < 0");
  g = base(); g.k = -1; expect_invalid(g, "k < 0");
  g = base(); g.lda = 3; expect_invalid(g, "lda < k");
  g = base(); g.trans_a = true; g.m = 5; g.lda = 4; expect_invalid(g, "lda < m with transA");
  g = base(); g.ldb = 3; expect_invalid(g, "ldb < n");
  g = base(); g.trans_b = true; g.k = 5; g.ldb = 4; g.lda = 5; expect_invalid(g, "ldb < k with transB");
  g = base(); g.ldc = 3; expect_invalid(g, "ldc < n");
  g = base(); g.a = nullptr; expect_invalid(g, "null a");
  g = base(); g.b = nullptr; expect_invalid(g, "null b");
  g = base(); g.c = nullptr; expect_invalid(g, "null c");
  // A prepacked B must come from this kernel's layout, and is never transposed.
  g = base(); g.b_panel = -1; expect_invalid(g, "b_panel < 0");
  if (kernel.pack_nr > 0) {
    g = base(); g.b_panel = kernel.pack_nr + 16; expect_invalid(g, "b_panel of another layout");
    g = base(); g.b_panel = kernel.pack_nr; g.trans_b = true; expect_invalid(g, "b_panel with trans_b");
  }
  DQ_CHECK(distiq::gemm_f32_pack_b(kernel, false, -1, 4, b.data(), 4, c.data()) == Status::kInvalidArgument,
           "pack: k < 0");
  DQ_CHECK(distiq::gemm_f32_pack_b(kernel, false, 4, 4, nullptr, 4, c.data()) == Status::kInvalidArgument,
           "pack: null b");
  DQ_CHECK(distiq::gemm_f32_pack_b(kernel, true, 5, 4, b.data(), 4, c.data()) == Status::kInvalidArgument,
           "pack: ldb < k with transB");
  DQ_CHECK(distiq::gemm_f32_pack_b(kernel, false, 4, 4, b.data(), 4, nullptr) == Status::kInvalidArgument,
           "pack: null dst");
  for (float x : c) DQ_CHECK(same_bits(x, kSentinel), "a rejected pack wrote");
  // Empty products may pass null operands.
  g = base(); g.m = 0; g.a = nullptr; g.c = nullptr;
  DQ_CHECK(distiq::gemm_f32(kernel, g) == Status::kOk, "m = 0 with null a and c");
  g = base(); g.k = 0; g.a = nullptr; g.b = nullptr; g.lda = 0; g.ldb = 4;
  DQ_CHECK(distiq::gemm_f32(kernel, g) == Status::kOk, "k = 0 with null a and b");
  DQ_CHECK(same_bits(c[0], 0.0f), "k = 0, beta = 0 gives +0, got " << c[0]);
}

}  // namespace
