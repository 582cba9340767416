// PackedWeightsF32: the JS handle that owns op(B) packed once for one ISA's gemm_f32 kernel (gemm_f32_pack_b in
// distiq/gemm_f32.h). One 64-byte-aligned native buffer; the GC finalizer frees it and its size is reported to V8
// as external memory. Readonly JS properties: k, n (op(B) is [k, n]), layout (the ISA name of the packing kernel)
// and byteLength. Instances are created only by packWeightsF32 (constructing the class from JS throws); they carry
// an N-API type tag, so no other object (a PackedWeightsS8/S4 included) is ever taken for one.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "args.h"
#include "distiq/gemm_f32.h"

namespace distiq::addon {

// What a product needs from a packed B (plain data: safe to copy into async work while the JS object is kept).
struct PackedF32 {
  const GemmF32Kernel* kernel = nullptr;  // the packing kernel; the product must run on this kernel
  int64_t k = 0, n = 0;
  const float* data = nullptr;
};

class PackedWeightsF32 : public Napi::ObjectWrap<PackedWeightsF32> {
 public:
  static Napi::Function define(Napi::Env env);
  // Packs op(B) (B stored [k, ldb], or [n, ldb] when trans_b; checked by the caller) with `kernel` into a new
  // instance. Throws ERR_DISTIQ_OUT_OF_MEMORY if the buffer cannot be allocated.
  static Napi::Object create(Napi::Env env, const Napi::FunctionReference& ctor, const GemmF32Kernel& kernel,
                             bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb);

  explicit PackedWeightsF32(const Napi::CallbackInfo& info);
  ~PackedWeightsF32() override;
  void Finalize(Napi::BasicEnv env) override;

  // Valid while this object is alive (keep() the JS object across async work).
  const PackedF32& view() const { return view_; }

 private:
  Napi::Value get_k(const Napi::CallbackInfo& info);
  Napi::Value get_n(const Napi::CallbackInfo& info);
  Napi::Value get_layout(const Napi::CallbackInfo& info);
  Napi::Value get_byte_length(const Napi::CallbackInfo& info);

  float* buffer_ = nullptr;
  size_t bytes_ = 0;
  PackedF32 view_;
};

// The PackedWeightsF32 behind argument i, or a TypeError (ERR_DISTIQ_INVALID_ARG_TYPE) naming `name`.
PackedWeightsF32* unwrap_packed_f32(const Args& info, size_t i, const char* name);

}  // namespace distiq::addon
