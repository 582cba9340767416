// The addon's entry point: checks DISTIQ_ISA once (a bad value fails the load with a clear error rather than
// silently running another path), then lets each family register its bindings.
#include <napi.h>

#include <string>

#include "args.h"
#include "distiq/kernels.h"
#include "families.h"

namespace distiq::addon {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  std::string error;
  if (!init_dispatch(&error)) throw_range_error(env, error, kErrIsa);
  init_cpu(env, exports);
  init_gemm_s8(env, exports);
  init_gemm_f32(env, exports);
  init_quant(env, exports);
  init_softmax(env, exports);
  init_gemm_s4(env, exports);
  init_optim(env, exports);
  return exports;
}

}  // namespace distiq::addon

// NODE_API_MODULE pastes its second argument into an identifier, so it needs an unqualified name.
static Napi::Object InitDistiq(Napi::Env env, Napi::Object exports) { return distiq::addon::Init(env, exports); }
NODE_API_MODULE(distiq, InitDistiq)
