// Fused distillation loss: per row of student logits s (teacher t, temperature T, weight α, optional label y)
//   L = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE(softmax(s), y)
//   ∂L/∂s = α·T·(softmax(s/T) − softmax(t/T)) + (1−α)·(softmax(s) − onehot(y))
// in one pass over the row (online max / log-sum-exp), float32 in and out. The teacher is dense logits [rows, cols]
// or sparse top-k (indices + logits [rows, k]): the teacher distribution is the softmax over the k given logits,
// classes outside the top-k get probability 0 (see docs/softmax-kl.md). Without labels the CE term is omitted;
// without a teacher the KL term is omitted, which makes the same kernel the plain cross-entropy. A term whose
// weight is 0 (α = 0 or α = 1) is skipped. −Inf logits are masked classes; NaN / +Inf logits, a row of all −Inf
// logits, and s/T or t/T overflowing float make a row bad (loss and gradient NaN, status kNonFinite).
// loss and grad must not overlap any input or each other (softmax_kl() checks; the kernels may use the gradient
// row as scratch before writing it).
//
// Float paths use vectorized exp/log; they agree with the ref (libm) within the tolerance documented in
// docs/softmax-kl.md. Rows are independent, so results do not depend on the thread count.
#pragma once

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq {

struct SoftmaxKlArgs {
  int64_t rows = 0, cols = 0;
  const float* student = nullptr;  // [rows, cols]
  const float* teacher = nullptr;  // dense [rows, cols], or null
  const int32_t* topk_index = nullptr;  // sparse teacher [rows, topk] (distinct indices in [0, cols)), or null
  const float* topk_logits = nullptr;   // [rows, topk]
  int64_t topk = 0;
  const int32_t* labels = nullptr;  // [rows] in [0, cols), or null
  float temperature = 1.0f;         // > 0
  float alpha = 1.0f;               // in [0, 1]
  float* loss = nullptr;            // [rows]: per-row loss
  float* grad = nullptr;            // [rows, cols]: grad_scale · ∂L_row/∂s, or null
  float grad_scale = 1.0f;
};

struct SoftmaxKernel {
  Isa isa;
  const char* name_softmax_kl;  // e.g. "softmax_kl_f32_avx512"
  const char* name_softmax;     // e.g. "softmax_f32_avx512"
  // Rows [r0, r1). Returns the number of rows that held a NaN or +Inf logit, or an out-of-range label/index.
  int64_t (*softmax_kl)(const SoftmaxKlArgs& args, int64_t r0, int64_t r1);
  // out[r] = softmax(x[r]) or log_softmax(x[r]); returns the number of rows with NaN/+Inf.
  int64_t (*softmax)(const float* x, int64_t cols, float* out, bool log, int64_t r0, int64_t r1);
  // Accuracy-test hooks: the level's own exp / log applied elementwise to n floats (ref: libm expf / logf).
  // Null when a level does not provide them. exp is only specified for x ≤ 0 (the kernels never form a positive
  // argument), log only for positive normal inputs.
  void (*exp)(const float* x, float* y, int64_t n) = nullptr;
  void (*log)(const float* x, float* y, int64_t n) = nullptr;
};

const SoftmaxKernel& softmax_ref() noexcept;
const SoftmaxKernel& softmax_avx2() noexcept;
const SoftmaxKernel& softmax_avx512() noexcept;
const SoftmaxKernel& softmax_neon() noexcept;

// Validates (kInvalidArgument: shapes, T finite > 0, α ∈ [0, 1], finite grad_scale, topk ∈ [1, cols] for a
// sparse teacher, dense xor sparse, labels and indices in range, overlapping outputs), splits rows over the pool,
// and returns kNonFinite if any row was bad.
Status softmax_kl(const SoftmaxKernel& kernel, const SoftmaxKlArgs& args) noexcept;
// out may be x itself (in place) but must not partially overlap it.
Status softmax(const SoftmaxKernel& kernel, const float* x, int64_t rows, int64_t cols, float* out, bool log) noexcept;

}  // namespace distiq
