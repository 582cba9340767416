// PackedWeightsF32 (see packed_weights_f32.h).
#include "packed_weights_f32.h"

#include <cstdlib>
#include <string>

namespace distiq::addon {
namespace {

// The N-API type tag of every PackedWeightsF32 object (random, fixed; distinct from the S8 and S4 tags).
constexpr napi_type_tag kTypeTag = {0x5e0b93f1c27a4d86ULL, 0xc4d2817e6f3a90b5ULL};
constexpr size_t kAlign = 64;

// A private marker: only create() passes it, so `new PackedWeightsF32()` from JS is refused.
int g_construct_token = 0;

}  // namespace

Napi::Function PackedWeightsF32::define(Napi::Env env) {
  return DefineClass(env, "PackedWeightsF32",
                     {InstanceAccessor<&PackedWeightsF32::get_k>("k", napi_enumerable),
                      InstanceAccessor<&PackedWeightsF32::get_n>("n", napi_enumerable),
                      InstanceAccessor<&PackedWeightsF32::get_layout>("layout", napi_enumerable),
                      InstanceAccessor<&PackedWeightsF32::get_byte_length>("byteLength", napi_enumerable)});
}

PackedWeightsF32::PackedWeightsF32(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PackedWeightsF32>(info) {
  if (info.Length() != 1 || !info[0].IsExternal() ||
      info[0].As<Napi::External<int>>().Data() != &g_construct_token) {
    throw_type_error(info.Env(), "PackedWeightsF32 cannot be constructed directly; use packWeightsF32()");
  }
}

PackedWeightsF32::~PackedWeightsF32() { std::free(buffer_); }

void PackedWeightsF32::Finalize(Napi::BasicEnv env) {
  if (bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(bytes_));
}

Napi::Object PackedWeightsF32::create(Napi::Env env, const Napi::FunctionReference& ctor,
                                      const GemmF32Kernel& kernel, bool trans_b, int64_t k, int64_t n,
                                      const float* b, int64_t ldb) {
  const size_t floats = gemm_f32_packed_floats(kernel, k, n);
  const size_t total = (floats * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  float* buffer = total > 0 ? static_cast<float*>(std::aligned_alloc(kAlign, total)) : nullptr;
  if (total > 0 && buffer == nullptr) {
    throw_error(env, "packWeightsF32: could not allocate " + std::to_string(total) + " bytes for the packed weights",
                kErrOom);
  }
  const Status s = gemm_f32_pack_b(kernel, trans_b, k, n, b, ldb, buffer);
  if (s != Status::kOk) {
    std::free(buffer);
    throw_status(env, s, "packWeightsF32");
  }
  Napi::Object obj = ctor.New({Napi::External<int>::New(env, &g_construct_token)});
  PackedWeightsF32* self = Unwrap(obj);
  self->buffer_ = buffer;
  self->bytes_ = total;
  self->view_.kernel = &kernel;
  self->view_.k = k;
  self->view_.n = n;
  self->view_.data = buffer;
  if (napi_type_tag_object(env, obj, &kTypeTag) != napi_ok) {
    throw_error(env, "packWeightsF32: could not tag the packed weights object", kErrInternal);
  }
  if (total > 0) Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(total));
  return obj;
}

Napi::Value PackedWeightsF32::get_k(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.k));
}
Napi::Value PackedWeightsF32::get_n(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.n));
}
Napi::Value PackedWeightsF32::get_layout(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), isa_name(view_.kernel->isa));
}
Napi::Value PackedWeightsF32::get_byte_length(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

PackedWeightsF32* unwrap_packed_f32(const Args& info, size_t i, const char* name) {
  return static_cast<PackedWeightsF32*>(unwrap_handle(info, i, name, kTypeTag, "PackedWeightsF32", "packWeightsF32"));
}

}  // namespace distiq::addon
