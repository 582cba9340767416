// PackedWeightsS8: the JS handle that owns int8 weights packed for one ISA's gemm_s8 kernel (distiq/gemm_s8.h).
// One 64-byte-aligned native buffer holds the row sums Σ_k W[n,k] followed by the kernel-private panels; the GC
// finalizer frees it and the buffer size is reported to V8 as external memory, so large models pressure the GC.
// Readonly JS properties: n, k, layout (the ISA name of the packing kernel) and byteLength.
// Instances are created only by packWeightsS8 (constructing the class from JS throws).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "distiq/gemm_s8.h"

namespace distiq::addon {

class PackedWeightsS8 : public Napi::ObjectWrap<PackedWeightsS8> {
 public:
  // Defines the class for this env; the returned constructor is what create() and unwrap() use.
  static Napi::Function define(Napi::Env env);
  // Packs W [n, k] (row stride ldw) with `kernel` into a new instance. Throws a JS Error (ERR_DISTIQ_OUT_OF_MEMORY)
  // if the buffer cannot be allocated.
  static Napi::Object create(Napi::Env env, const Napi::FunctionReference& ctor, const GemmS8Kernel& kernel,
                             const int8_t* w, int64_t ldw, int64_t n, int64_t k);

  explicit PackedWeightsS8(const Napi::CallbackInfo& info);
  ~PackedWeightsS8() override;
  void Finalize(Napi::BasicEnv env) override;

  // The view the kernels take; valid while this object is alive (keep() the JS object across async work).
  const PackedS8& view() const { return view_; }

 private:
  Napi::Value get_n(const Napi::CallbackInfo& info);
  Napi::Value get_k(const Napi::CallbackInfo& info);
  Napi::Value get_layout(const Napi::CallbackInfo& info);
  Napi::Value get_byte_length(const Napi::CallbackInfo& info);

  uint32_t tag_ = 0;  // kTag once packed: guards against half-built or foreign objects
  uint8_t* buffer_ = nullptr;
  size_t bytes_ = 0;
  PackedS8 view_;

  friend PackedWeightsS8* unwrap_packed_s8(Napi::Env, napi_value, const char*, const Napi::FunctionReference&);
};

// The PackedWeightsS8 behind `v` (argument i), or a TypeError (ERR_DISTIQ_INVALID_ARG_TYPE) naming `name` when the
// argument is anything else (including objects that merely share its prototype). Instances carry an N-API type tag
// set by create(), so the valid case costs a tag check and an unwrap.
PackedWeightsS8* unwrap_packed_s8(Napi::Env env, napi_value v, const char* name, const Napi::FunctionReference& ctor);
PackedWeightsS8* unwrap_packed_s8(const Napi::CallbackInfo& info, size_t i, const char* name,
                                  const Napi::FunctionReference& ctor);

}  // namespace distiq::addon
