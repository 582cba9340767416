// Binding of the fused optimizer step (lib/native.ts): adamStep, synchronous (called once per parameter tensor
// and step, on the training thread).
//   adamStep(p, g, m, v, decay, l2, beta1, c1, beta2, c2, stepSize, invBc2, eps)
// p, g, m, v: Float32Arrays of one length, no two sharing memory; the nine scalars are the per-step float32
// constants of native/include/distiq/optim.h and must be finite as float32.
#include <napi.h>

#include "args.h"
#include "distiq/kernels.h"
#include "distiq/optim.h"
#include "families.h"

namespace distiq::addon {
namespace {

Napi::Value AdamStepBinding(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 13, "adamStep");
  const char* names[4] = {"p", "g", "m", "v"};
  Array<float> a[4] = {f32_array(info, 0, names[0]), f32_array(info, 1, names[1]), f32_array(info, 2, names[2]),
                       f32_array(info, 3, names[3])};
  AdamStep s;
  s.decay = finite_f32_arg(info, 4, "decay");
  s.l2 = finite_f32_arg(info, 5, "l2");
  s.b1 = finite_f32_arg(info, 6, "beta1");
  s.c1 = finite_f32_arg(info, 7, "c1");
  s.b2 = finite_f32_arg(info, 8, "beta2");
  s.c2 = finite_f32_arg(info, 9, "c2");
  s.step_size = finite_f32_arg(info, 10, "stepSize");
  s.inv_bc2 = finite_f32_arg(info, 11, "invBc2");
  s.eps = finite_f32_arg(info, 12, "eps");
  const size_t n = a[0].length;
  for (int k = 1; k < 4; ++k) expect_length(env, names[k], a[k].length, static_cast<int64_t>(n), "p.length", true);
  if (n == 0) return env.Undefined();
  for (int x = 0; x < 4; ++x) {
    for (int y = x + 1; y < 4; ++y) expect_no_overlap(env, names[x], a[x].data, n * 4, names[y], a[y].data, n * 4);
  }
  const Status st = adam_step(*active_kernels().optim, s, a[0].data, a[1].data, a[2].data, a[3].data,
                              static_cast<int64_t>(n));
  if (st != Status::kOk) throw_status(env, st, "adamStep");
  return env.Undefined();
}

}  // namespace

void init_optim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamStep", fast_function<AdamStepBinding>(env, "adamStep"));
}

}  // namespace distiq::addon
