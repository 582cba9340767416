// PackedWeightsS4: the JS handle that owns int4 weights packed for one ISA's gemm_s4 kernel (distiq/gemm_s4.h).
// One 64-byte-aligned native buffer holds the kernel-private layout (codes, per-group scales, zero points); the GC
// finalizer frees it and its size is reported to V8 as external memory. Readonly JS properties: n, k, groupSize,
// signed, hasZeroPoints, layout (the ISA name of the packing kernel) and byteLength. Instances are created only by
// packWeightsS4 (constructing the class from JS throws); they carry an N-API type tag, so a PackedWeightsS8 (or any
// other object) is never taken for one.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

#include "args.h"
#include "distiq/gemm_s4.h"

namespace distiq::addon {

class PackedWeightsS4 : public Napi::ObjectWrap<PackedWeightsS4> {
 public:
  static Napi::Function define(Napi::Env env);
  // Packs checked codes with `kernel` into a new instance. Throws ERR_DISTIQ_OUT_OF_MEMORY if the buffer cannot be
  // allocated, and the status error of pack_s4 for codes it rejects.
  static Napi::Object create(Napi::Env env, const Napi::FunctionReference& ctor, const GemmS4Kernel& kernel,
                             const GemmS4Codes& codes);

  explicit PackedWeightsS4(const Napi::CallbackInfo& info);
  ~PackedWeightsS4() override;
  void Finalize(Napi::BasicEnv env) override;

  // The view the kernels take; valid while this object is alive (keep() the JS object across async work).
  const PackedS4& view() const { return view_; }

 private:
  Napi::Value get_n(const Napi::CallbackInfo& info);
  Napi::Value get_k(const Napi::CallbackInfo& info);
  Napi::Value get_group(const Napi::CallbackInfo& info);
  Napi::Value get_signed(const Napi::CallbackInfo& info);
  Napi::Value get_has_zp(const Napi::CallbackInfo& info);
  Napi::Value get_layout(const Napi::CallbackInfo& info);
  Napi::Value get_byte_length(const Napi::CallbackInfo& info);

  uint8_t* buffer_ = nullptr;
  size_t bytes_ = 0;
  bool signed_ = true;
  PackedS4 view_;
};

// The PackedWeightsS4 behind argument i, or a TypeError (ERR_DISTIQ_INVALID_ARG_TYPE) naming `name`.
PackedWeightsS4* unwrap_packed_s4(const Args& info, size_t i, const char* name);

}  // namespace distiq::addon
