// PackedWeightsS4 (see packed_weights_s4.h).
#include "packed_weights_s4.h"

#include <cstdlib>
#include <string>

namespace distiq::addon {
namespace {

// The N-API type tag of every PackedWeightsS4 object (random, fixed; distinct from PackedWeightsS8's).
constexpr napi_type_tag kTypeTag = {0x2f64c1d98a7b3e05ULL, 0x71e5b0c3d4a92f68ULL};
constexpr size_t kAlign = 64;

// A private marker: only create() passes it, so `new PackedWeightsS4()` from JS is refused.
int g_construct_token = 0;

}  // namespace

Napi::Function PackedWeightsS4::define(Napi::Env env) {
  return DefineClass(env, "PackedWeightsS4",
                     {InstanceAccessor<&PackedWeightsS4::get_n>("n", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS4::get_k>("k", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS4::get_group>("groupSize", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS4::get_signed>("signed", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS4::get_has_zp>("hasZeroPoints", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS4::get_layout>("layout", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS4::get_byte_length>("byteLength", napi_enumerable)});
}

PackedWeightsS4::PackedWeightsS4(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PackedWeightsS4>(info) {
  if (info.Length() != 1 || !info[0].IsExternal() ||
      info[0].As<Napi::External<int>>().Data() != &g_construct_token) {
    throw_type_error(info.Env(), "PackedWeightsS4 cannot be constructed directly; use packWeightsS4()");
  }
}

PackedWeightsS4::~PackedWeightsS4() { std::free(buffer_); }

void PackedWeightsS4::Finalize(Napi::BasicEnv env) {
  if (bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(bytes_));
}

Napi::Object PackedWeightsS4::create(Napi::Env env, const Napi::FunctionReference& ctor, const GemmS4Kernel& kernel,
                                     const GemmS4Codes& codes) {
  const size_t bytes = kernel.packed_bytes(codes);
  const size_t total = (bytes + kAlign - 1) / kAlign * kAlign;
  uint8_t* buffer = total > 0 ? static_cast<uint8_t*>(std::aligned_alloc(kAlign, total)) : nullptr;
  if (total > 0 && buffer == nullptr) {
    throw_error(env, "packWeightsS4: could not allocate " + std::to_string(total) + " bytes for the packed weights",
                kErrOom);
  }
  PackedS4 view;
  const Status s = pack_s4(kernel, codes, buffer, &view);
  if (s != Status::kOk) {
    std::free(buffer);
    throw_status(env, s, "packWeightsS4");
  }
  Napi::Object obj = ctor.New({Napi::External<int>::New(env, &g_construct_token)});
  PackedWeightsS4* self = Unwrap(obj);
  self->buffer_ = buffer;
  self->bytes_ = total;
  self->signed_ = codes.is_signed;
  self->view_ = view;
  if (napi_type_tag_object(env, obj, &kTypeTag) != napi_ok) {
    throw_error(env, "packWeightsS4: could not tag the packed weights object", kErrInternal);
  }
  if (total > 0) Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(total));
  return obj;
}

Napi::Value PackedWeightsS4::get_n(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.n));
}
Napi::Value PackedWeightsS4::get_k(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.k));
}
Napi::Value PackedWeightsS4::get_group(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.group));
}
Napi::Value PackedWeightsS4::get_signed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), signed_); }
Napi::Value PackedWeightsS4::get_has_zp(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), view_.has_zp);
}
Napi::Value PackedWeightsS4::get_layout(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), isa_name(view_.layout));
}
Napi::Value PackedWeightsS4::get_byte_length(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

PackedWeightsS4* unwrap_packed_s4(const Args& info, size_t i, const char* name) {
  return static_cast<PackedWeightsS4*>(unwrap_handle(info, i, name, kTypeTag, "PackedWeightsS4", "packWeightsS4"));
}

}  // namespace distiq::addon
