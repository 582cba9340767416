// Fused Adam / AdamW step (torch.optim semantics, amsgrad off) over one parameter tensor, float32 in place.
//
// The contract: every level computes, per element i, this exact float32 sequence (plain IEEE mul/add/sqrt/div,
// round to nearest, no FMA contraction — the project builds with -ffp-contract=off), so all levels give the same
// bits (NaN payloads aside: a NaN result is NaN on every level, its payload may differ):
//   p1 = p[i] · decay
//   gi = (l2 == 0) ? g[i] : g[i] + l2 · p1
//   m1 = b1 · m[i] + c1 · gi
//   v1 = b2 · v[i] + (c2 · gi) · gi
//   p[i] = p1 − (step_size · m1) / (sqrt(v1) · inv_bc2 + eps);   m[i] = m1;   v[i] = v1
// The per-step scalars are computed once by the caller (lib/nn/optim/adamw.ts: in float64, then rounded to float32)
// and are the same for every level and thread count:
//   AdamW: decay = 1 − lr·wd, l2 = 0;   Adam: decay = 1, l2 = wd
//   c1 = 1 − b1, c2 = 1 − b2, step_size = lr / (1 − b1^t), inv_bc2 = 1 / sqrt(1 − b2^t)
// Element-wise: results never depend on the thread count or on where chunks are cut.
#pragma once

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq {

struct AdamStep {
  float decay = 1.0f, l2 = 0.0f;
  float b1 = 0.9f, c1 = 0.1f, b2 = 0.999f, c2 = 0.001f;
  float step_size = 0.0f, inv_bc2 = 1.0f, eps = 1e-8f;
};

struct OptimKernel {
  Isa isa;
  const char* name;  // e.g. "adam_f32_avx512"
  // Elements [0, n) of p, g, m, v (the driver offsets the pointers per chunk).
  void (*adam)(const AdamStep& s, float* p, const float* g, float* m, float* v, int64_t n);
};

const OptimKernel& optim_ref() noexcept;
const OptimKernel& optim_avx2() noexcept;
const OptimKernel& optim_avx512() noexcept;

// Validates (kInvalidArgument: n < 0, null pointers with n > 0, non-finite scalars, any two of p, g, m, v
// overlapping) and splits the elements over the thread pool in chunks of 64 Ki elements.
Status adam_step(const OptimKernel& kernel, const AdamStep& s, float* p, const float* g, float* m, float* v,
                 int64_t n) noexcept;

}  // namespace distiq
