// Tests of the softmax family: every supported level's softmax_kl / softmax against the reference (the spec), the
// reference against a float64 oracle, the vector exp/log accuracy, argument and non-finite handling, thread-count
// invariance and guarded outputs.
//
// Tolerances (derived in docs/softmax-kl.md, "Tolerances"). With eps = 2^-23 and c = kTolFactor·(1 + log2 cols):
//  loss:  |L − L_ref| ≤ c·eps·( α·T²·(1 + Σ q_i|b_i − a_i| + |m_a| + |m_b| + |log Z_a| + |log Z_b|)
//                              + (1−α)·(1 + |m_1| + |s_y| + |log Z_1|) )
//         i.e. relative to the magnitudes that cancel inside the row loss (a = s/T, b = t/T, m = max, Z = Σ exp);
//  grad:  |g_i − g_ref,i| ≤ c·eps·|grad_scale|·( α·T·(p_i·(1 + |a_i − m_a|) + q_i·(1 + |b_i − m_b|))
//                                                + (1−α)·(p1_i·(1 + |s_i − m_1|) + [i = y]) ) + 1e-37
//         i.e. relative to the probabilities each element is built from, each with the conditioning of exp to its
//         float-rounded argument (|d|·eps for exp(d)); the absolute floor covers exp results in the subnormal range,
//         which the avx2 exp flushes to 0.
// The scaled logits fl(s·fl(1/T)) are the same in every path, so no |s/T|·eps term is needed between levels.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "distiq/kernels.h"
#include "distiq/softmax_kl.h"
#include "distiq/threadpool.h"
#include "harness.h"

namespace {

using distiq::Isa;
using distiq::SoftmaxKernel;
using distiq::SoftmaxKlArgs;
using distiq::Status;

constexpr double kEps = 1.1920928955078125e-07;
constexpr double kTolFactor = 16.0;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kSentinel = -12345.5f;
constexpr int kGuard = 17;  // odd: outputs start misaligned for SIMD

enum class Teacher { kNone, kDense, kSparse };

struct Problem {
  int64_t rows = 1, cols = 1, topk = 0;
  float temperature = 1.0f, alpha = 1.0f, grad_scale = 1.0f;
  Teacher teacher = Teacher::kDense;
  bool labels = true;
  std::vector<float> s, t, tl;
  std::vector<int32_t> idx, y;

  SoftmaxKlArgs args(float* loss, float* grad) const {
    SoftmaxKlArgs a;
    a.rows = rows;
    a.cols = cols;
    a.student = s.data();
    a.teacher = teacher == Teacher::kDense ? t.data() : nullptr;
    a.topk_index = teacher == Teacher::kSparse ? idx.data() : nullptr;
    a.topk_logits = teacher == Teacher::kSparse ? tl.data() : nullptr;
    a.topk = teacher == Teacher::kSparse ? topk : 0;
    a.labels = labels ? y.data() : nullptr;
    a.temperature = temperature;
    a.alpha = alpha;
    a.loss = loss;
    a.grad = grad;
    a.grad_scale = grad_scale;
    return a;
  }
  std::string describe() const {
    std::ostringstream os;
    os << "rows=" << rows << " cols=" << cols << " T=" << temperature << " alpha=" << alpha << " teacher="
       << (teacher == Teacher::kNone ? "none" : teacher == Teacher::kDense ? "dense" : "sparse") << " k=" << topk
       << " labels=" << labels << " seed=" << dqtest::base_seed();
    return os.str();
  }
};

// Values a distribution of logits can take.
enum class Dist { kNormal, kWide, kHuge, kEqual, kLognormal, kCauchy, kOneHot };

float draw(dqtest::Rng& rng, Dist d) {
  switch (d) {
    case Dist::kNormal: return 2.0f * rng.normal();
    case Dist::kWide: return rng.uniform(-30.0f, 30.0f);
    case Dist::kHuge: return rng.uniform(-1e4f, 1e4f);
    case Dist::kEqual: return 3.25f;
    case Dist::kLognormal: return std::exp(1.5f * rng.normal());
    case Dist::kCauchy: return std::max(-1e4f, std::min(1e4f, std::tan(3.14159f * (rng.uniform(0.0f, 1.0f) - 0.5f))));
    case Dist::kOneHot: return 0.0f;
  }
  return 0.0f;
}

void fill_row(dqtest::Rng& rng, Dist d, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = draw(rng, d);
  if (d == Dist::kOneHot) x[rng.uniform_int(0, static_cast<int32_t>(n - 1))] = 40.0f;
}

Problem make(dqtest::Rng& rng, int64_t rows, int64_t cols, float T, float alpha, Teacher teacher, bool labels,
             int64_t topk = 0, Dist ds = Dist::kNormal, Dist dt = Dist::kNormal) {
  Problem p;
  p.rows = rows;
  p.cols = cols;
  p.temperature = T;
  p.alpha = alpha;
  p.teacher = teacher;
  p.labels = labels;
  p.topk = teacher == Teacher::kSparse ? topk : 0;
  p.grad_scale = 1.0f / static_cast<float>(rows);
  p.s.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) fill_row(rng, ds, p.s.data() + r * cols, cols);
  if (teacher == Teacher::kDense) {
    p.t.resize(rows * cols);
    for (int64_t r = 0; r < rows; ++r) fill_row(rng, dt, p.t.data() + r * cols, cols);
  }
  if (teacher == Teacher::kSparse) {
    p.tl.resize(rows * topk);
    p.idx.resize(rows * topk);
    std::vector<int32_t> perm(cols);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < cols; ++i) perm[i] = static_cast<int32_t>(i);
      for (int64_t j = 0; j < topk; ++j) {  // partial Fisher–Yates: k distinct indices
        std::swap(perm[j], perm[rng.uniform_int(static_cast<int32_t>(j), static_cast<int32_t>(cols - 1))]);
        p.idx[r * topk + j] = perm[j];
      }
      fill_row(rng, dt, p.tl.data() + r * topk, topk);
    }
  }
  p.y.resize(rows);
  for (auto& v : p.y) v = rng.uniform_int(0, static_cast<int32_t>(cols - 1));
  return p;
}

// Float64 oracle of one row on the same scaled logits fl(x·fl(1/T)) as the kernels; also the magnitudes the
// tolerances are built from.
struct RowOracle {
  double loss = 0, loss_mag = 0;
  std::vector<double> grad, grad_mag;
};

struct Lse {
  double max = -INFINITY, log_z = 0;
};

Lse lse(const std::vector<double>& v) {
  Lse r;
  for (double x : v) r.max = std::max(r.max, x);
  double z = 0;
  for (double x : v) z += std::exp(x - r.max);
  r.log_z = std::log(z);
  return r;
}

RowOracle oracle(const Problem& p, int64_t r) {
  const int64_t n = p.cols;
  const float inv_t = 1.0f / p.temperature;
  const double T = p.temperature, al = p.alpha, gs = p.grad_scale;
  const float* s = p.s.data() + r * n;
  std::vector<double> a(n), s1(n), b;
  for (int64_t i = 0; i < n; ++i) {
    a[i] = s[i] * inv_t;
    s1[i] = s[i];
  }
  const bool has_t = p.teacher != Teacher::kNone;
  const bool use_kl = has_t && p.alpha > 0, use_ce = p.labels && p.alpha < 1;
  std::vector<double> q(n, 0.0);
  Lse la = lse(a), l1 = lse(s1), lb;
  if (p.teacher == Teacher::kDense) {
    for (int64_t i = 0; i < n; ++i) b.push_back(p.t[r * n + i] * inv_t);
    lb = lse(b);
    for (int64_t i = 0; i < n; ++i) q[i] = std::exp(b[i] - lb.max - lb.log_z);
  } else if (p.teacher == Teacher::kSparse) {
    std::vector<double> bk;
    for (int64_t j = 0; j < p.topk; ++j) bk.push_back(p.tl[r * p.topk + j] * inv_t);
    lb = lse(bk);
    b.assign(n, -INFINITY);
    for (int64_t j = 0; j < p.topk; ++j) {
      const int32_t c = p.idx[r * p.topk + j];
      b[c] = bk[j];
      q[c] += std::exp(bk[j] - lb.max - lb.log_z);
    }
  }
  RowOracle o;
  o.grad.assign(n, 0.0);
  o.grad_mag.assign(n, 0.0);
  if (use_kl) {
    double kl = 0, cross_mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (q[i] == 0) continue;
      const double lp = a[i] - la.max - la.log_z;
      kl += q[i] * (std::log(q[i]) - lp);
      cross_mag += q[i] * std::fabs(b[i] - a[i]);
    }
    o.loss += al * T * T * kl;
    o.loss_mag += al * T * T *
                  (1 + cross_mag + std::fabs(la.max) + std::fabs(lb.max) + std::fabs(la.log_z) + std::fabs(lb.log_z));
  }
  const int32_t y = p.labels ? p.y[r] : -1;
  if (use_ce) {
    o.loss += (1 - al) * (l1.max + l1.log_z - s[y]);
    o.loss_mag += (1 - al) * (1 + std::fabs(l1.max) + std::fabs(s[y]) + std::fabs(l1.log_z));
  }
  // A probability exp(d)/Z with d = x − max rounded to float carries, besides the exp error, the conditioning of exp
  // to its argument: a relative error of about |d|·eps.
  auto cond = [](double prob, double d) { return prob > 0 ? prob * (1 + std::fabs(d)) : 0.0; };
  for (int64_t i = 0; i < n; ++i) {
    const double pa = std::exp(a[i] - la.max - la.log_z), p1 = std::exp(s1[i] - l1.max - l1.log_z);
    const double oh = i == y ? 1.0 : 0.0;
    if (use_kl) {
      o.grad[i] += gs * al * T * (pa - q[i]);
      o.grad_mag[i] += std::fabs(gs) * al * T * (cond(pa, a[i] - la.max) + cond(q[i], b[i] - lb.max));
    }
    if (use_ce) {
      o.grad[i] += gs * (1 - al) * (p1 - oh);
      o.grad_mag[i] += std::fabs(gs) * (1 - al) * (cond(p1, s1[i] - l1.max) + oh);
    }
  }
  return o;
}

// The largest |Δ|/tolerance seen between a vector level and the reference (printed per test, for the docs).
struct Worst {
  double loss = 0, grad = 0;
  void reset() { *this = Worst{}; }
  void print() const { std::printf("    worst |level - ref| / tolerance: loss %.3f, grad %.3f\n", loss, grad); }
} g_worst;

double tol_factor(int64_t cols) { return kTolFactor * kEps * (1.0 + std::log2(static_cast<double>(cols))); }

struct Output {
  std::vector<float> loss, grad;  // with kGuard sentinels on both sides
  float* loss_p() { return loss.data() + kGuard; }
  float* grad_p() { return grad.data() + kGuard; }
  explicit Output(const Problem& p) : loss(p.rows + 2 * kGuard, kSentinel), grad(p.rows * p.cols + 2 * kGuard, kSentinel) {}
  bool guards_intact() const {
    for (int i = 0; i < kGuard; ++i) {
      if (loss[i] != kSentinel || loss[loss.size() - 1 - i] != kSentinel) return false;
      if (grad[i] != kSentinel || grad[grad.size() - 1 - i] != kSentinel) return false;
    }
    return true;
  }
};

Status run(const SoftmaxKernel& k, const Problem& p, Output* out, bool with_grad = true) {
  return distiq::softmax_kl(k, p.args(out->loss_p(), with_grad ? out->grad_p() : nullptr));
}

// Compares `level` against the reference on `p`; with `vs_oracle` also checks the reference against float64.
void check_level(Isa level, const Problem& p, const std::vector<RowOracle>& oracles, bool vs_oracle) {
  const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
  const SoftmaxKernel& ref = distiq::softmax_ref();
  Output got(p), want(p);
  const Status st = run(k, p, &got), st_ref = run(ref, p, &want);
  const std::string where = std::string(k.name_softmax_kl) + " " + p.describe();
  DQ_CHECK(st == Status::kOk && st_ref == Status::kOk,
           where << ": status " << distiq::status_name(st) << " / ref " << distiq::status_name(st_ref));
  DQ_CHECK(got.guards_intact(), where << ": wrote outside its outputs");
  const double c = tol_factor(p.cols);
  int reported = 0;
  for (int64_t r = 0; r < p.rows; ++r) {
    const RowOracle& o = oracles[r];
    const double lt = c * o.loss_mag + 1e-30;
    const double dl = std::fabs(static_cast<double>(got.loss_p()[r]) - want.loss_p()[r]);
    if (level != Isa::kRef) g_worst.loss = std::max(g_worst.loss, dl / lt);
    if (!(dl <= lt) && reported++ < 4) DQ_CHECK(dl <= lt, where << " row " << r << ": loss " << got.loss_p()[r] << " vs ref " << want.loss_p()[r] << " (tol " << lt << ")");
    if (vs_oracle) {
      const double dr = std::fabs(static_cast<double>(want.loss_p()[r]) - o.loss);
      if (!(dr <= lt) && reported++ < 4) DQ_CHECK(dr <= lt, "ref " << p.describe() << " row " << r << ": loss " << want.loss_p()[r] << " vs float64 " << o.loss << " (tol " << lt << ")");
    }
    for (int64_t i = 0; i < p.cols; ++i) {
      const double gt = c * o.grad_mag[i] + 1e-37;
      const double g = got.grad_p()[r * p.cols + i], gr = want.grad_p()[r * p.cols + i];
      if (level != Isa::kRef) g_worst.grad = std::max(g_worst.grad, std::fabs(g - gr) / gt);
      if (!(std::fabs(g - gr) <= gt) && reported++ < 4) {
        DQ_CHECK(std::fabs(g - gr) <= gt, where << " grad[" << r << "," << i << "] " << g << " vs ref " << gr << " (tol " << gt << ")");
      }
      if (vs_oracle && !(std::fabs(gr - o.grad[i]) <= gt) && reported++ < 4) {
        DQ_CHECK(std::fabs(gr - o.grad[i]) <= gt, "ref " << p.describe() << " grad[" << r << "," << i << "] " << gr << " vs float64 " << o.grad[i] << " (tol " << gt << ")");
      }
    }
  }
}

void check_all_levels(const Problem& p) {
  std::vector<RowOracle> oracles;
  for (int64_t r = 0; r < p.rows; ++r) oracles.push_back(oracle(p, r));
  bool first = true;
  for (Isa level : distiq::supported_isas()) {
    check_level(level, p, oracles, first);  // the ref level also checks the reference against float64, once
    first = false;
  }
}

const int64_t kCols[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000, 32000};
const int64_t kRows[] = {1, 3, 17};
const float kTemps[] = {0.5f, 1.0f, 2.0f, 4.0f, 8.0f, 10.0f};  // 2, 4, 8: the squared T = 1 exps
const float kAlphas[] = {0.0f, 0.3f, 1.0f};

DQ_TEST("softmax_kl: dense teacher + labels, every shape, T and alpha, every level vs ref") {
  g_worst.reset();
  dqtest::Rng rng(101);
  for (int64_t cols : kCols) {
    for (int64_t rows : kRows) {
      if (cols == 32000 && rows == 17) continue;  // covered by the large-vocabulary case below
      for (float T : kTemps) {
        for (float alpha : kAlphas) check_all_levels(make(rng, rows, cols, T, alpha, Teacher::kDense, true));
      }
    }
  }
  g_worst.print();
}

DQ_TEST("softmax_kl: large vocabulary (17 x 32000) and many blocks") {
  g_worst.reset();
  dqtest::Rng rng(102);
  for (float T : {1.0f, 4.0f}) check_all_levels(make(rng, 17, 32000, T, 0.3f, Teacher::kDense, true, 0, Dist::kWide, Dist::kWide));
  check_all_levels(make(rng, 3, 70001, 2.0f, 0.5f, Teacher::kDense, true));
  // ≥ 4 Mi gradient elements (132 × 32003 = 4 224 396 ≥ 2^22): the kernels switch to non-temporal stores
  // (aligned head/body/tail per row; the rows start at every misalignment). Every parked-exp variant (T = 2: T = 1
  // exps squared; T = 3: their own exps; no labels) and the unparked sparse path.
  static_assert(int64_t{132} * 32003 >= (int64_t{1} << 22), "the streamed path needs >= 4 Mi gradient elements");
  check_all_levels(make(rng, 132, 32003, 2.0f, 0.5f, Teacher::kDense, true));
  check_all_levels(make(rng, 132, 32003, 3.0f, 0.5f, Teacher::kDense, true));
  check_all_levels(make(rng, 132, 32003, 0.7f, 1.0f, Teacher::kDense, false));
  check_all_levels(make(rng, 132, 32003, 1.0f, 0.5f, Teacher::kSparse, true, 9));
  g_worst.print();
}

DQ_TEST("softmax_kl: sparse top-k teacher, every shape, every level vs ref") {
  g_worst.reset();
  dqtest::Rng rng(103);
  for (int64_t cols : kCols) {
    for (int64_t rows : kRows) {
      if (cols == 32000 && rows == 17) continue;
      for (int64_t k : {int64_t{1}, int64_t{5}, int64_t{17}, cols}) {
        if (k > cols) continue;
        for (float T : {0.5f, 2.0f}) {
          for (float alpha : kAlphas) check_all_levels(make(rng, rows, cols, T, alpha, Teacher::kSparse, true, k));
        }
      }
    }
  }
  g_worst.print();
}

DQ_TEST("softmax_kl: no labels (pure KL) and no teacher (cross-entropy)") {
  g_worst.reset();
  dqtest::Rng rng(104);
  for (int64_t cols : kCols) {
    for (float T : kTemps) {
      check_all_levels(make(rng, 3, cols, T, 1.0f, Teacher::kDense, false));
      check_all_levels(make(rng, 3, cols, T, 0.7f, Teacher::kDense, false));  // CE omitted: L = α·T²·KL
      check_all_levels(make(rng, 3, cols, T, 0.0f, Teacher::kNone, true));
      check_all_levels(make(rng, 3, cols, T, 0.4f, Teacher::kNone, true));
      check_all_levels(make(rng, 3, cols, T, 1.0f, Teacher::kNone, false));  // nothing to compute: L = 0, g = 0
    }
  }
  g_worst.print();
}

DQ_TEST("softmax_kl: extreme and heavy-tailed logits (±1e4, equal, one-hot, lognormal, Cauchy)") {
  g_worst.reset();
  dqtest::Rng rng(105);
  const Dist dists[] = {Dist::kHuge, Dist::kEqual, Dist::kOneHot, Dist::kLognormal, Dist::kCauchy, Dist::kWide};
  for (Dist ds : dists) {
    for (Dist dt : dists) {
      for (int64_t cols : {int64_t{1}, int64_t{9}, int64_t{33}, int64_t{1000}, int64_t{5000}}) {
        for (float T : {0.5f, 1.0f, 10.0f}) {
          check_all_levels(make(rng, 3, cols, T, 0.3f, Teacher::kDense, true, 0, ds, dt));
          check_all_levels(make(rng, 2, cols, T, 0.6f, Teacher::kSparse, true, std::min<int64_t>(cols, 7), ds, dt));
        }
      }
    }
  }
  g_worst.print();
}

DQ_TEST("softmax_kl: masked classes (-Inf logits) in student and teacher") {
  g_worst.reset();
  dqtest::Rng rng(106);
  for (int64_t cols : {int64_t{2}, int64_t{17}, int64_t{100}, int64_t{3000}}) {
    for (float T : {0.5f, 2.0f}) {
      Problem p = make(rng, 3, cols, T, 0.5f, Teacher::kDense, true);
      for (int64_t r = 0; r < p.rows; ++r) {
        for (int64_t i = 0; i < cols; ++i) {
          if (rng.uniform(0, 1) < 0.4f) p.t[r * cols + i] = -kInf;  // teacher probability 0
        }
        p.t[r * cols + p.y[r]] = 1.0f;
        // The student masks a class only where the teacher also does (else KL = +Inf, see below).
        for (int64_t i = 0; i < cols; ++i) {
          if (p.t[r * cols + i] == -kInf && rng.uniform(0, 1) < 0.5f && i != p.y[r]) p.s[r * cols + i] = -kInf;
        }
      }
      check_all_levels(p);
      // Masked blocks: a whole leading run of −Inf longer than a block and a vector.
      Problem m = make(rng, 2, cols, T, 0.5f, Teacher::kDense, false);
      for (int64_t i = 0; i + 1 < cols; ++i) m.s[i] = m.t[i] = -kInf;
      check_all_levels(m);
    }
  }
  // A student that masks a class the teacher supports: KL = +Inf, the gradient stays finite.
  Problem p = make(rng, 1, 40, 1.0f, 1.0f, Teacher::kDense, false);
  p.s[5] = -kInf;
  for (Isa level : distiq::supported_isas()) {
    Output out(p);
    const Status st = run(*distiq::kernels_for(level).softmax, p, &out);
    DQ_CHECK(st == Status::kOk, distiq::isa_name(level));
    DQ_CHECK(out.loss_p()[0] == kInf, distiq::isa_name(level) << ": loss " << out.loss_p()[0]);
    bool finite = true;
    for (int64_t i = 0; i < p.cols; ++i) finite = finite && std::isfinite(out.grad_p()[i]);
    DQ_CHECK(finite, distiq::isa_name(level) << ": gradient not finite");
  }
  g_worst.print();
}

DQ_TEST("softmax_kl: sparse top-k equals a dense teacher with -Inf outside the top-k") {
  dqtest::Rng rng(107);
  for (int64_t cols : {int64_t{1}, int64_t{8}, int64_t{33}, int64_t{1000}, int64_t{32000}}) {
    for (int64_t k : {int64_t{1}, int64_t{3}, int64_t{20}}) {
      if (k > cols) continue;
      for (float T : {0.5f, 1.0f, 4.0f}) {
        const Problem sp = make(rng, 3, cols, T, 0.3f, Teacher::kSparse, true, k);
        Problem de = sp;
        de.teacher = Teacher::kDense;
        de.topk = 0;
        de.t.assign(sp.rows * cols, -kInf);
        for (int64_t r = 0; r < sp.rows; ++r) {
          for (int64_t j = 0; j < k; ++j) de.t[r * cols + sp.idx[r * k + j]] = sp.tl[r * k + j];
        }
        for (Isa level : distiq::supported_isas()) {
          const SoftmaxKernel& kern = *distiq::kernels_for(level).softmax;
          Output a(sp), b(de);
          DQ_CHECK(run(kern, sp, &a) == Status::kOk && run(kern, de, &b) == Status::kOk, kern.name_softmax_kl);
          const double c = tol_factor(cols);
          for (int64_t r = 0; r < sp.rows; ++r) {
            const RowOracle o = oracle(sp, r);
            DQ_CHECK(std::fabs(a.loss_p()[r] - b.loss_p()[r]) <= c * o.loss_mag,
                     kern.name_softmax_kl << " " << sp.describe() << " row " << r << ": sparse " << a.loss_p()[r]
                                          << " dense " << b.loss_p()[r]);
            int bad = 0;
            for (int64_t i = 0; i < cols; ++i) {
              const int64_t e = r * cols + i;
              if (!(std::fabs(a.grad_p()[e] - b.grad_p()[e]) <= c * o.grad_mag[i] + 1e-37)) ++bad;
            }
            DQ_CHECK(bad == 0, kern.name_softmax_kl << " " << sp.describe() << ": " << bad << " gradient elements differ");
          }
        }
      }
    }
  }
}

DQ_TEST("softmax_kl: identical teacher and student give KL = 0 and a zero KL gradient") {
  dqtest::Rng rng(108);
  for (int64_t cols : {int64_t{1}, int64_t{7}, int64_t{100}, int64_t{32000}}) {
    for (float T : kTemps) {
      Problem p = make(rng, 3, cols, T, 1.0f, Teacher::kDense, false, 0, Dist::kWide);
      p.t = p.s;
      for (Isa level : distiq::supported_isas()) {
        Output out(p);
        DQ_CHECK(run(*distiq::kernels_for(level).softmax, p, &out) == Status::kOk, distiq::isa_name(level));
        for (int64_t r = 0; r < p.rows; ++r) DQ_CHECK(out.loss_p()[r] == 0.0f, distiq::isa_name(level) << " cols=" << cols << " T=" << T << ": KL(p||p) = " << out.loss_p()[r]);
        float worst = 0;
        for (float g : out.grad) worst = std::max(worst, g == kSentinel ? 0.0f : std::fabs(g));
        DQ_CHECK(worst == 0.0f, distiq::isa_name(level) << ": |grad| up to " << worst);
      }
    }
  }
}

DQ_TEST("softmax_kl: hand-derived values on a 2-class row") {
  // s = (0, ln 3) → p = (1/4, 3/4); t = (0, 0) → q = (1/2, 1/2); T = 1, α = 1:
  // KL(q‖p) = ½·ln(½ / ¼) + ½·ln(½ / ¾) = ½·ln(4/3); ∂/∂s = p − q = (−¼, ¼).
  // With a label y = 1 and α = 0: CE = −ln ¾, ∂/∂s = p − onehot = (¼, −¼).
  Problem p;
  p.rows = 1;
  p.cols = 2;
  p.s = {0.0f, std::log(3.0f)};
  p.t = {0.0f, 0.0f};
  p.y = {1};
  p.labels = false;
  for (Isa level : distiq::supported_isas()) {
    const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
    Output out(p);
    p.alpha = 1.0f;
    p.labels = false;
    DQ_CHECK(run(k, p, &out) == Status::kOk, k.name_softmax_kl);
    DQ_CHECK(std::fabs(out.loss_p()[0] - 0.5 * std::log(4.0 / 3.0)) < 1e-6, k.name_softmax_kl << ": KL " << out.loss_p()[0]);
    DQ_CHECK(std::fabs(out.grad_p()[0] + 0.25) < 1e-6 && std::fabs(out.grad_p()[1] - 0.25) < 1e-6,
             k.name_softmax_kl << ": grad " << out.grad_p()[0] << ", " << out.grad_p()[1]);
    p.alpha = 0.0f;
    p.labels = true;
    DQ_CHECK(run(k, p, &out) == Status::kOk, k.name_softmax_kl);
    DQ_CHECK(std::fabs(out.loss_p()[0] + std::log(0.75)) < 1e-6, k.name_softmax_kl << ": CE " << out.loss_p()[0]);
    DQ_CHECK(std::fabs(out.grad_p()[0] - 0.25) < 1e-6 && std::fabs(out.grad_p()[1] + 0.25) < 1e-6,
             k.name_softmax_kl << ": grad " << out.grad_p()[0] << ", " << out.grad_p()[1]);
    // T = 2 with α = 1: loss = T²·KL(softmax(t/2) ‖ softmax(s/2)), gradient T·(p_T − q_T).
    p.alpha = 1.0f;
    p.labels = false;
    p.temperature = 2.0f;
    const double pa0 = 1.0 / (1.0 + std::sqrt(3.0)), pa1 = 1.0 - pa0;
    const double kl = 0.5 * std::log(0.5 / pa0) + 0.5 * std::log(0.5 / pa1);
    DQ_CHECK(run(k, p, &out) == Status::kOk, k.name_softmax_kl);
    DQ_CHECK(std::fabs(out.loss_p()[0] - 4.0 * kl) < 1e-6, k.name_softmax_kl << ": T=2 loss " << out.loss_p()[0] << " want " << 4.0 * kl);
    DQ_CHECK(std::fabs(out.grad_p()[0] - 2.0 * (pa0 - 0.5)) < 1e-6, k.name_softmax_kl << ": T=2 grad " << out.grad_p()[0]);
    p.temperature = 1.0f;
  }
}

DQ_TEST("softmax_kl: a temperature whose square overflows float32 gives a finite loss, never NaN") {
  dqtest::Rng rng(113);
  Problem p = make(rng, 3, 50, 1e20f, 0.5f, Teacher::kDense, true);
  for (Isa level : distiq::supported_isas()) {
    Output out(p);
    DQ_CHECK(run(*distiq::kernels_for(level).softmax, p, &out) == Status::kOk, distiq::isa_name(level));
    for (int64_t r = 0; r < p.rows; ++r) {
      DQ_CHECK(std::isfinite(out.loss_p()[r]), distiq::isa_name(level) << ": T = 1e20 loss " << out.loss_p()[r]);
    }
  }
}

DQ_TEST("softmax_kl: loss without gradient, grad_scale, thread-count invariance") {
  dqtest::Rng rng(109);
  const Problem p = make(rng, 37, 3001, 2.0f, 0.3f, Teacher::kDense, true);
  for (Isa level : distiq::supported_isas()) {
    const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
    Output with(p), without(p), one(p);
    DQ_CHECK(run(k, p, &with) == Status::kOk && run(k, p, &without, false) == Status::kOk, k.name_softmax_kl);
    DQ_CHECK(std::memcmp(with.loss.data(), without.loss.data(), with.loss.size() * 4) == 0, k.name_softmax_kl << ": loss depends on grad");
    bool untouched = true;
    for (float g : without.grad) untouched = untouched && g == kSentinel;
    DQ_CHECK(untouched, k.name_softmax_kl << ": grad written although null");
    const int threads = distiq::get_num_threads();
    distiq::set_num_threads(1);
    DQ_CHECK(run(k, p, &one) == Status::kOk, k.name_softmax_kl);
    distiq::set_num_threads(threads == 1 ? 3 : threads);
    Output many(p);
    DQ_CHECK(run(k, p, &many) == Status::kOk, k.name_softmax_kl);
    distiq::set_num_threads(threads);
    DQ_CHECK(std::memcmp(one.loss.data(), many.loss.data(), one.loss.size() * 4) == 0 &&
                 std::memcmp(one.grad.data(), many.grad.data(), one.grad.size() * 4) == 0,
             k.name_softmax_kl << ": results depend on the thread count");
    Problem q = p;
    q.grad_scale = -3.5f;
    Output scaled(q);
    DQ_CHECK(run(k, q, &scaled) == Status::kOk, k.name_softmax_kl);
    int bad = 0;
    const double c = tol_factor(p.cols), ratio = -3.5 / p.grad_scale;
    for (int64_t r = 0; r < p.rows; ++r) {
      const RowOracle o = oracle(p, r);  // magnitudes at grad_scale = p.grad_scale
      for (int64_t i = 0; i < p.cols; ++i) {
        const double want = ratio * with.grad_p()[r * p.cols + i];
        if (!(std::fabs(scaled.grad_p()[r * p.cols + i] - want) <= c * std::fabs(ratio) * o.grad_mag[i] + 1e-37)) ++bad;
      }
    }
    DQ_CHECK(bad == 0, k.name_softmax_kl << ": grad_scale not applied linearly (" << bad << " elements)");
  }
}

DQ_TEST("softmax_kl: NaN / +Inf / all -Inf rows give kNonFinite, with NaN outputs for those rows only") {
  dqtest::Rng rng(110);
  struct Poison {
    const char* what;
    Teacher teacher;
    void (*apply)(Problem&);
  };
  const Poison poisons[] = {
      {"student NaN", Teacher::kDense, [](Problem& p) { p.s[p.cols + 3] = kNaN; }},
      {"student +Inf", Teacher::kDense, [](Problem& p) { p.s[p.cols + p.cols - 1] = kInf; }},
      {"teacher NaN", Teacher::kDense, [](Problem& p) { p.t[p.cols] = kNaN; }},
      {"teacher +Inf", Teacher::kDense, [](Problem& p) { p.t[2 * p.cols - 2] = kInf; }},
      {"student all -Inf", Teacher::kDense, [](Problem& p) { std::fill(p.s.begin() + p.cols, p.s.begin() + 2 * p.cols, -kInf); }},
      {"teacher all -Inf", Teacher::kDense, [](Problem& p) { std::fill(p.t.begin() + p.cols, p.t.begin() + 2 * p.cols, -kInf); }},
      {"top-k logit NaN", Teacher::kSparse, [](Problem& p) { p.tl[p.topk] = kNaN; }},
      {"top-k all -Inf", Teacher::kSparse, [](Problem& p) { std::fill(p.tl.begin() + p.topk, p.tl.begin() + 2 * p.topk, -kInf); }},
      {"s/T overflows", Teacher::kDense, [](Problem& p) { p.s[p.cols] = 3e38f; }},
  };
  for (const Poison& poison : poisons) {
    for (int64_t cols : {int64_t{5}, int64_t{16}, int64_t{2500}}) {
      Problem p = make(rng, 3, cols, 0.5f, 0.5f, poison.teacher, true, 4);
      poison.apply(p);
      for (Isa level : distiq::supported_isas()) {
        const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
        Output out(p);
        const Status st = run(k, p, &out);
        DQ_CHECK(st == Status::kNonFinite, k.name_softmax_kl << " " << poison.what << " cols=" << cols << ": " << distiq::status_name(st));
        DQ_CHECK(std::isnan(out.loss_p()[1]) && std::isfinite(out.loss_p()[0]) && std::isfinite(out.loss_p()[2]),
                 k.name_softmax_kl << " " << poison.what << ": losses " << out.loss_p()[0] << " " << out.loss_p()[1] << " " << out.loss_p()[2]);
        DQ_CHECK(std::isnan(out.grad_p()[cols]) && std::isnan(out.grad_p()[2 * cols - 1]) && std::isfinite(out.grad_p()[0]),
                 k.name_softmax_kl << " " << poison.what << ": bad row gradient not NaN");
        DQ_CHECK(out.guards_intact(), k.name_softmax_kl << " " << poison.what << ": wrote outside its outputs");
      }
    }
  }
}

DQ_TEST("softmax_kl: invalid arguments give kInvalidArgument") {
  dqtest::Rng rng(111);
  const Problem base = make(rng, 2, 10, 1.0f, 0.5f, Teacher::kSparse, true, 3);
  struct Bad {
    const char* what;
    void (*apply)(SoftmaxKlArgs&);
  };
  static int32_t bad_labels[2] = {0, 10};
  static int32_t neg_labels[2] = {-1, 0};
  static int32_t bad_idx[6] = {0, 1, 2, 3, 4, 10};
  static float dense[20] = {};
  const Bad bads[] = {
      {"T = 0", [](SoftmaxKlArgs& a) { a.temperature = 0.0f; }},
      {"T < 0", [](SoftmaxKlArgs& a) { a.temperature = -1.0f; }},
      {"T = Inf", [](SoftmaxKlArgs& a) { a.temperature = kInf; }},
      {"T = NaN", [](SoftmaxKlArgs& a) { a.temperature = kNaN; }},
      {"alpha < 0", [](SoftmaxKlArgs& a) { a.alpha = -0.1f; }},
      {"alpha > 1", [](SoftmaxKlArgs& a) { a.alpha = 1.5f; }},
      {"alpha NaN", [](SoftmaxKlArgs& a) { a.alpha = kNaN; }},
      {"grad_scale NaN", [](SoftmaxKlArgs& a) { a.grad_scale = kNaN; }},
      {"label = cols", [](SoftmaxKlArgs& a) { a.labels = bad_labels; }},
      {"label < 0", [](SoftmaxKlArgs& a) { a.labels = neg_labels; }},
      {"index = cols", [](SoftmaxKlArgs& a) { a.topk_index = bad_idx; }},
      {"k = 0", [](SoftmaxKlArgs& a) { a.topk = 0; }},
      {"k > cols", [](SoftmaxKlArgs& a) { a.topk = 11; }},
      {"dense and sparse", [](SoftmaxKlArgs& a) { a.teacher = dense; }},
      {"indices without logits", [](SoftmaxKlArgs& a) { a.topk_logits = nullptr; }},
      {"cols = 0", [](SoftmaxKlArgs& a) { a.cols = 0; }},
      {"rows < 0", [](SoftmaxKlArgs& a) { a.rows = -1; }},
      {"no loss output", [](SoftmaxKlArgs& a) { a.loss = nullptr; }},
      {"grad overlaps student", [](SoftmaxKlArgs& a) { a.grad = const_cast<float*>(a.student) + 1; }},
      {"loss overlaps top-k logits", [](SoftmaxKlArgs& a) { a.loss = const_cast<float*>(a.topk_logits) + 4; }},
      {"loss overlaps grad", [](SoftmaxKlArgs& a) { a.loss = a.grad + 18; }},
  };
  for (const Bad& bad : bads) {
    for (Isa level : distiq::supported_isas()) {
      std::vector<float> loss(2, kSentinel), grad(20, kSentinel);
      SoftmaxKlArgs a = base.args(loss.data(), grad.data());
      bad.apply(a);
      const Status st = distiq::softmax_kl(*distiq::kernels_for(level).softmax, a);
      DQ_CHECK(st == Status::kInvalidArgument, bad.what << " at " << distiq::isa_name(level) << ": " << distiq::status_name(st));
      bool untouched = true;
      for (float v : grad) untouched = untouched && v == kSentinel;
      DQ_CHECK(untouched, bad.what << ": wrote the gradient although the arguments are invalid");
    }
  }
  // rows = 0 is a valid empty call, whatever the (unused) pointers.
  SoftmaxKlArgs empty;
  empty.rows = 0;
  empty.cols = 0;
  DQ_CHECK(distiq::softmax_kl(distiq::softmax_ref(), empty) == Status::kOk, "rows = 0");
}

DQ_TEST("softmax: softmax and log-softmax, every level vs ref, in place, non-finite rows") {
  dqtest::Rng rng(112);
  const Dist dists[] = {Dist::kNormal, Dist::kHuge, Dist::kEqual, Dist::kCauchy, Dist::kOneHot};
  for (int64_t cols : kCols) {
    for (Dist d : dists) {
      const int64_t rows = cols >= 1000 ? 3 : 5;
      std::vector<float> x(rows * cols);
      for (int64_t r = 0; r < rows; ++r) fill_row(rng, d, x.data() + r * cols, cols);
      if (cols > 3) x[2] = -kInf;
      for (bool log : {false, true}) {
        std::vector<float> want(rows * cols);
        DQ_CHECK(distiq::softmax(distiq::softmax_ref(), x.data(), rows, cols, want.data(), log) == Status::kOk, "ref");
        for (Isa level : distiq::supported_isas()) {
          const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
          std::vector<float> got(rows * cols + 2 * kGuard, kSentinel), inplace = x;
          DQ_CHECK(distiq::softmax(k, x.data(), rows, cols, got.data() + kGuard, log) == Status::kOk, k.name_softmax);
          DQ_CHECK(distiq::softmax(k, inplace.data(), rows, cols, inplace.data(), log) == Status::kOk, k.name_softmax);
          const double c = tol_factor(cols);
          int bad = 0;
          for (int64_t r = 0; r < rows; ++r) {
            double mx = -INFINITY;
            for (int64_t i = 0; i < cols; ++i) mx = std::max<double>(mx, x[r * cols + i]);
            double z = 0;
            for (int64_t i = 0; i < cols; ++i) z += std::exp(x[r * cols + i] - mx);
            for (int64_t i = 0; i < cols; ++i) {
              const int64_t e = r * cols + i;
              const double pr = std::exp(x[e] - mx) / z;
              // log-softmax: the error is that of log Z (plus one rounding of x − m − log Z).
              const double tol = log ? c * (1 + std::fabs(x[e] - mx) + std::log(z)) : c * (pr > 0 ? pr * (1 + std::fabs(x[e] - mx)) : 0.0) + 1e-37;
              const bool same_inf = std::isinf(want[e]) && got[kGuard + e] == want[e] && inplace[e] == want[e];
              if (!same_inf && !(std::fabs(got[kGuard + e] - want[e]) <= tol && std::fabs(inplace[e] - want[e]) <= tol)) ++bad;
            }
          }
          DQ_CHECK(bad == 0, k.name_softmax << " cols=" << cols << " log=" << log << ": " << bad << " elements out of tolerance");
          bool guards = true;
          for (int i = 0; i < kGuard; ++i) guards = guards && got[i] == kSentinel && got[got.size() - 1 - i] == kSentinel;
          DQ_CHECK(guards, k.name_softmax << ": wrote outside its output");
        }
      }
    }
  }
  // Non-finite rows.
  for (Isa level : distiq::supported_isas()) {
    const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
    std::vector<float> x(3 * 20, 1.0f), out(3 * 20);
    x[25] = kNaN;
    DQ_CHECK(distiq::softmax(k, x.data(), 3, 20, out.data(), false) == Status::kNonFinite, k.name_softmax << " NaN");
    DQ_CHECK(std::isnan(out[20]) && out[0] == 0.05f && std::fabs(out[40] - 0.05f) < 1e-7, k.name_softmax << " NaN row");
    x[25] = 1.0f;
    std::fill(x.begin() + 40, x.end(), -kInf);
    DQ_CHECK(distiq::softmax(k, x.data(), 3, 20, out.data(), true) == Status::kNonFinite, k.name_softmax << " all -Inf");
    DQ_CHECK(distiq::softmax(k, x.data(), 3, 0, out.data(), true) == Status::kInvalidArgument, k.name_softmax << " cols 0");
    DQ_CHECK(distiq::softmax(k, x.data(), 3, 20, x.data() + 1, true) == Status::kInvalidArgument, k.name_softmax << " partial overlap");
  }
}

// Max error in ulps of the level's exp/log against libm, over a dense sweep of the range the kernels use.
double max_ulp(void (*fn)(const float*, float*, int64_t), float (*libm)(float), const std::vector<float>& x,
               double floor_abs) {
  std::vector<float> y(x.size());
  fn(x.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = libm(x[i]);
    if (want == 0.0f) {  // log(1): no ulp scale at zero (ilogb(0) is INT_MIN), so demand an absolute match
      if (!(std::fabs(y[i]) <= 1e-7f)) worst = std::numeric_limits<double>::infinity();
      continue;
    }
    if (std::fabs(want) < floor_abs) continue;  // the subnormal range is checked separately
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
    worst = std::max(worst, std::fabs(static_cast<double>(y[i]) - want) / ulp);
  }
  return worst;
}

float libm_exp(float v) { return std::exp(v); }
float libm_log(float v) { return std::log(v); }

DQ_TEST("softmax: exp/log accuracy vs libm (exp ≤ 2 ulp on [-87.3, 0], log ≤ 2 ulp on [1, 2^24])") {
  std::vector<float> xe;
  for (float v = -87.33f; v < -1e-3f; v += 1.37e-4f) xe.push_back(v);  // a dense, irregular sweep (≈ 640k points)
  for (double v = -1e-3; v < -1e-30; v *= 0.9991) xe.push_back(static_cast<float>(v));  // and towards 0
  xe.push_back(-0.0f);
  std::vector<float> xl;
  for (double v = 1.0; v <= 16777216.0; v *= 1.0000173) xl.push_back(static_cast<float>(v));
  for (float v = 1.0f; v < 1.001f; v = std::nextafter(v, 2.0f)) xl.push_back(v);
  for (Isa level : distiq::supported_isas()) {
    const SoftmaxKernel& k = *distiq::kernels_for(level).softmax;
    if (k.exp == nullptr || k.log == nullptr) continue;
    const double ue = max_ulp(k.exp, libm_exp, xe, 1.1754944e-38), ul = max_ulp(k.log, libm_log, xl, 0.0);
    std::printf("    %s: exp max %.2f ulp on [-87.33, 0] (%zu points), log max %.2f ulp on [1, 2^24] (%zu points)\n",
                distiq::isa_name(level), ue, xe.size(), ul, xl.size());
    DQ_CHECK(ue <= 2.0, distiq::isa_name(level) << ": exp error " << ue << " ulp");
    DQ_CHECK(ul <= 2.0, distiq::isa_name(level) << ": log error " << ul << " ulp");
    // Far below the normal range, and at the special values the kernels rely on.
    const float special[] = {-kInf, -1e30f, -200.0f, -110.0f, 0.0f};
    float out[5];
    k.exp(special, out, 5);
    DQ_CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f && out[3] == 0.0f && out[4] == 1.0f,
             distiq::isa_name(level) << ": exp(-Inf, -1e30, -200, -110, 0) = " << out[0] << " " << out[1] << " " << out[2]
                                     << " " << out[3] << " " << out[4]);
    const float one = 1.0f;
    float l1 = -1;
    k.log(&one, &l1, 1);
    DQ_CHECK(l1 == 0.0f, distiq::isa_name(level) << ": log(1) = " << l1);
  }
}

}  // namespace
