// softmax_kl_f32_ref / softmax_f32_ref — the scalar spec of the distillation loss and of softmax / log-softmax.
//
// Contract (see distiq/softmax_kl.h): per row of student logits s, teacher t (dense, or sparse top-k), temperature T,
// weight α and optional label y,
//   L      = α·T²·KL(q ‖ p) + (1−α)·CE(p₁, y)          p = softmax(s/T), q = softmax(t/T), p₁ = softmax(s)
//   ∂L/∂s  = α·T·(p − q) + (1−α)·(p₁ − onehot(y))      (times grad_scale)
// A term is skipped when it is absent (no teacher / no labels) or has weight 0 (α = 0 / α = 1), so a skipped term
// never turns an infinite loss into NaN.
//
// How the spec computes it (the SIMD paths follow the same algebra, with float accumulators and their own exp/log):
//  * scaled logits a = s·(1/T), b = t·(1/T), with 1/T rounded to float once (the same in every path);
//  * stable sums: m = max a, Z = Σ exp(a − m) (accumulated in double here), log-sum-exp = m + log Z;
//  * KL = Σ_i e_i·(b_i − a_i) / Z_b + (m_a − m_b) + (log Z_a − log Z_b),  e_i = exp(b_i − m_b), where a class with
//    teacher probability 0 (b_i = −Inf, or outside the top-k) contributes exactly 0;
//  * CE = (m₁ − s_y) + log Z₁;
//  * p_i = exp(a_i − m_a) / Z_a (never exp(a_i − lse): that subtraction loses |lse|·eps for large logits);
//  * sparse teacher: the gradient row is first written without the teacher, then −grad_scale·α·T·q_j is added at
//    each index_j (indices are assumed distinct; duplicates are accepted and simply add twice).
// A row with a NaN or +Inf logit (student or teacher), an out-of-range label or top-k index, or whose student (or
// teacher) logits are all −Inf, is counted as bad: its loss is NaN and its gradient row is NaN.
// −Inf logits are masked classes. exp/log are libm expf/logf.
#include <cmath>
#include <limits>

#include "distiq/softmax_kl.h"

namespace distiq {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

bool bad_logit(float v) { return std::isnan(v) || v == kInf; }

// Max and Σ exp(x_i·scale − max) of one row; max = −Inf when every element is −Inf.
struct RowSum {
  float max = -kInf;
  double sum = 0.0;
};

RowSum row_sum(const float* x, int64_t n, float scale) {
  RowSum r;
  for (int64_t i = 0; i < n; ++i) r.max = std::fmax(r.max, x[i] * scale);
  if (r.max == -kInf) return r;
  for (int64_t i = 0; i < n; ++i) r.sum += static_cast<double>(std::exp(x[i] * scale - r.max));
  return r;
}

void fill_bad_row(const SoftmaxKlArgs& a, int64_t r) {
  a.loss[r] = kNaN;
  if (a.grad != nullptr) {
    float* g = a.grad + r * a.cols;
    for (int64_t i = 0; i < a.cols; ++i) g[i] = kNaN;
  }
}

// Validates one row's inputs; true when the row can be computed.
bool row_ok(const SoftmaxKlArgs& a, int64_t r) {
  const int64_t cols = a.cols;
  const float* s = a.student + r * cols;
  for (int64_t i = 0; i < cols; ++i) {
    if (bad_logit(s[i])) return false;
  }
  if (a.labels != nullptr && (a.labels[r] < 0 || a.labels[r] >= cols)) return false;
  if (a.teacher != nullptr) {
    const float* t = a.teacher + r * cols;
    for (int64_t i = 0; i < cols; ++i) {
      if (bad_logit(t[i])) return false;
    }
  }
  if (a.topk_index != nullptr) {
    const int32_t* idx = a.topk_index + r * a.topk;
    const float* tl = a.topk_logits + r * a.topk;
    for (int64_t j = 0; j < a.topk; ++j) {
      if (idx[j] < 0 || idx[j] >= cols || bad_logit(tl[j])) return false;
    }
  }
  return true;
}

int64_t softmax_kl_f32_ref(const SoftmaxKlArgs& a, int64_t r0, int64_t r1) {
  const int64_t cols = a.cols;
  const float inv_t = 1.0f / a.temperature;
  const double alpha = a.alpha, temp = a.temperature, gs = a.grad_scale;
  const bool dense = a.teacher != nullptr;
  const bool sparse = a.topk_index != nullptr;
  const bool use_kl = (dense || sparse) && a.alpha > 0.0f;
  const bool use_ce = a.labels != nullptr && a.alpha < 1.0f;
  int64_t bad = 0;

  for (int64_t r = r0; r < r1; ++r) {
    if (!row_ok(a, r)) {
      fill_bad_row(a, r);
      ++bad;
      continue;
    }
    const float* s = a.student + r * cols;
    const float* t = dense ? a.teacher + r * cols : nullptr;
    const int32_t* idx = sparse ? a.topk_index + r * a.topk : nullptr;
    const float* tl = sparse ? a.topk_logits + r * a.topk : nullptr;

    const RowSum st = row_sum(s, cols, inv_t);  // student at temperature T
    const RowSum s1 = row_sum(s, cols, 1.0f);   // student at T = 1
    RowSum tt;                                  // teacher at temperature T
    if (dense) tt = row_sum(t, cols, inv_t);
    if (sparse) tt = row_sum(tl, a.topk, inv_t);
    // All −Inf (no distribution), or s/T or t/T overflowing to +Inf.
    if (st.max == -kInf || st.max == kInf || ((dense || sparse) && (tt.max == -kInf || tt.max == kInf))) {
      fill_bad_row(a, r);
      ++bad;
      continue;
    }

    double loss = 0.0;
    if (use_kl) {
      // Σ e_i·(b_i − a_i), skipping classes with teacher probability 0.
      double w = 0.0;
      const int64_t n = dense ? cols : a.topk;
      for (int64_t j = 0; j < n; ++j) {
        const float b = (dense ? t[j] : tl[j]) * inv_t;
        const float e = std::exp(b - tt.max);
        if (e == 0.0f) continue;
        const float as = s[dense ? j : idx[j]] * inv_t;
        w += static_cast<double>(e) * (static_cast<double>(b) - static_cast<double>(as));
      }
      const double kl = w / tt.sum + (static_cast<double>(st.max) - static_cast<double>(tt.max)) +
                        (static_cast<double>(std::log(static_cast<float>(st.sum))) -
                         static_cast<double>(std::log(static_cast<float>(tt.sum))));
      loss += alpha * temp * temp * kl;
    }
    if (use_ce) {
      const float sy = s[a.labels[r]];
      const double ce = (static_cast<double>(s1.max) - static_cast<double>(sy)) +
                        static_cast<double>(std::log(static_cast<float>(s1.sum)));
      loss += (1.0 - alpha) * ce;
    }
    a.loss[r] = static_cast<float>(loss);

    if (a.grad == nullptr) continue;
    float* g = a.grad + r * cols;
    const int32_t y = a.labels != nullptr ? a.labels[r] : -1;
    for (int64_t i = 0; i < cols; ++i) {
      double gi = 0.0;
      if (use_kl) {
        const double p = static_cast<double>(std::exp(s[i] * inv_t - st.max)) / st.sum;
        const double q = dense ? static_cast<double>(std::exp(t[i] * inv_t - tt.max)) / tt.sum : 0.0;
        gi += alpha * temp * (p - q);
      }
      if (use_ce) {
        const double p1 = static_cast<double>(std::exp(s[i] - s1.max)) / s1.sum;
        gi += (1.0 - alpha) * (p1 - (i == y ? 1.0 : 0.0));
      }
      g[i] = static_cast<float>(gs * gi);
    }
    if (use_kl && sparse) {
      for (int64_t j = 0; j < a.topk; ++j) {
        const double q = static_cast<double>(std::exp(tl[j] * inv_t - tt.max)) / tt.sum;
        g[idx[j]] = static_cast<float>(static_cast<double>(g[idx[j]]) - gs * alpha * temp * q);
      }
    }
  }
  return bad;
}

int64_t softmax_f32_ref(const float* x, int64_t cols, float* out, bool log, int64_t r0, int64_t r1) {
  int64_t bad = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    bool ok = true;
    for (int64_t i = 0; i < cols; ++i) ok = ok && !bad_logit(xr[i]);
    const RowSum rs = ok ? row_sum(xr, cols, 1.0f) : RowSum{};
    if (!ok || rs.max == -kInf) {
      for (int64_t i = 0; i < cols; ++i) o[i] = kNaN;
      ++bad;
      continue;
    }
    const float log_z = std::log(static_cast<float>(rs.sum));
    for (int64_t i = 0; i < cols; ++i) {
      const float shifted = xr[i] - rs.max;
      o[i] = log ? shifted - log_z : static_cast<float>(static_cast<double>(std::exp(shifted)) / rs.sum);
    }
  }
  return bad;
}

void exp_f32_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

void log_f32_ref(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
}

}  // namespace

const SoftmaxKernel& softmax_ref() noexcept {
  static const SoftmaxKernel k{Isa::kRef,         "softmax_kl_f32_ref", "softmax_f32_ref", softmax_kl_f32_ref,
                              softmax_f32_ref,    exp_f32_ref,          log_f32_ref};
  return k;
}

}  // namespace distiq
