// cpuInfo(), thread count and the test-only ISA switch.
#include <napi.h>

#include "args.h"
#include "distiq/kernels.h"
#include "distiq/threadpool.h"
#include "families.h"

namespace distiq::addon {
namespace {

Napi::Object kernel_names(Napi::Env env, const KernelTable& t) {
  Napi::Object k = Napi::Object::New(env);
  k.Set("gemm_u8s8", t.gemm_s8->name_u8s8);
  k.Set("gemm_s8s8", t.gemm_s8->name_s8s8);
  k.Set("gemm_f32", t.gemm_f32->name);
  k.Set("quantize", t.quant->name_quantize);
  k.Set("dequantize", t.quant->name_dequantize);
  k.Set("min_max", t.quant->name_minmax);
  k.Set("fake_quantize", t.quant->name_fake_quant);
  k.Set("softmax_kl", t.softmax->name_softmax_kl);
  k.Set("softmax", t.softmax->name_softmax);
  k.Set("gemm_s4", t.gemm_s4->name);
  k.Set("adam", t.optim->name);
  return k;
}

Isa isa_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw_type_error(info.Env(), "The \"level\" argument must be a string");
  const std::string name = info[i].As<Napi::String>().Utf8Value();
  Isa isa;
  if (!isa_from_name(name, &isa)) {
    throw_range_error(info.Env(), "The \"level\" argument must be one of ref, avx2, avxvnni, avx512, avx512vnni, amx, neon, "
                                  "neondot, i8mm. Received \"" + name + "\"", kErrIsa);
  }
  if (!isa_supported(isa)) {
    throw_range_error(info.Env(), "This CPU cannot run ISA level \"" + name + "\" (best: " + isa_name(best_isa()) + ")",
                      kErrIsa);
  }
  return isa;
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures& f = cpu_features();
  Napi::Object out = Napi::Object::New(env);
  out.Set("arch", f.x86 ? "x64" : f.arm64 ? "arm64" : "other");
  out.Set("brand", f.brand);
  const auto names = feature_names();
  Napi::Array features = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) features.Set(i, names[i]);
  out.Set("features", features);
  const KernelTable& active = active_kernels();
  out.Set("isa", isa_name(active.level));
  out.Set("best", isa_name(best_isa()));
  const auto levels = supported_isas();
  Napi::Array available = Napi::Array::New(env, levels.size());
  for (size_t i = 0; i < levels.size(); ++i) available.Set(i, isa_name(levels[i]));
  out.Set("available", available);
  out.Set("kernels", kernel_names(env, active));
  out.Set("threads", get_num_threads());
  return out;
}

Napi::Value KernelsFor(const Napi::CallbackInfo& info) {
  expect_count(info, 1, "_kernelsFor");
  return kernel_names(info.Env(), kernels_for(isa_arg(info, 0)));
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  expect_count(info, 1, "_setIsa");
  set_active_isa(isa_arg(info, 0));
  return info.Env().Undefined();
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  expect_count(info, 1, "setNumThreads");
  set_num_threads(static_cast<int>(int_arg(info, 0, "n", 1, kMaxThreads)));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), get_num_threads()); }

}  // namespace

void init_cpu(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo, "cpuInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("_setIsa", Napi::Function::New(env, SetIsa, "_setIsa"));
  exports.Set("_kernelsFor", Napi::Function::New(env, KernelsFor, "_kernelsFor"));
}

}  // namespace distiq::addon
