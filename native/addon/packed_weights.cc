// PackedWeightsS8 (see packed_weights.h).
#include "packed_weights.h"

#include <cstdlib>
#include <new>
#include <string>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "args.h"

namespace distiq::addon {
namespace {

constexpr uint32_t kTag = 0x53385057u;  // "WP8S"
// The N-API type tag of every PackedWeightsS8 object (random, fixed: identifies this class across the addon).
constexpr napi_type_tag kTypeTag = {0x8d1f6a2c5b7e4390ULL, 0xa3c1e07d92f45b18ULL};
constexpr size_t kAlign = 64;

size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

// Buffers of 2 MiB and more go on 2 MiB pages where Linux offers them (transparent huge pages in "madvise" mode):
// GEMV-like calls stream the whole panel set from L3 or memory, and with 4 KiB pages every page costs a TLB miss.
// Measured (amx kernel, 1 thread, thread CPU time, loaded machine): 1x4096x4096 +8-12 %, 16x4096x4096 +17-30 %
// median. *bytes receives the size allocated (at most 2 MiB more than asked).
constexpr size_t kHugePage = size_t{2} << 20;
uint8_t* alloc_packed(size_t* bytes) {
  if (*bytes < kHugePage) return static_cast<uint8_t*>(std::aligned_alloc(kAlign, *bytes));
  *bytes = round_up(*bytes, kHugePage);
  void* p = std::aligned_alloc(kHugePage, *bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p != nullptr) madvise(p, *bytes, MADV_HUGEPAGE);  // advice only: a refusal changes nothing else
#endif
  return static_cast<uint8_t*>(p);
}

// A private marker: only create() passes it, so `new PackedWeightsS8()` from JS is refused.
int g_construct_token = 0;

}  // namespace

Napi::Function PackedWeightsS8::define(Napi::Env env) {
  return DefineClass(env, "PackedWeightsS8",
                     {InstanceAccessor<&PackedWeightsS8::get_n>("n", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS8::get_k>("k", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS8::get_layout>("layout", napi_enumerable),
                      InstanceAccessor<&PackedWeightsS8::get_byte_length>("byteLength", napi_enumerable)});
}

PackedWeightsS8::PackedWeightsS8(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PackedWeightsS8>(info) {
  if (info.Length() != 1 || !info[0].IsExternal() ||
      info[0].As<Napi::External<int>>().Data() != &g_construct_token) {
    throw_type_error(info.Env(), "PackedWeightsS8 cannot be constructed directly; use packWeights()");
  }
}

PackedWeightsS8::~PackedWeightsS8() { std::free(buffer_); }

void PackedWeightsS8::Finalize(Napi::BasicEnv env) {
  if (bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(bytes_));
}

Napi::Object PackedWeightsS8::create(Napi::Env env, const Napi::FunctionReference& ctor, const GemmS8Kernel& kernel,
                                     const int8_t* w, int64_t ldw, int64_t n, int64_t k) {
  Napi::Object obj = ctor.New({Napi::External<int>::New(env, &g_construct_token)});
  PackedWeightsS8* self = Unwrap(obj);
  if (napi_type_tag_object(env, obj, &kTypeTag) != napi_ok) {
    throw_error(env, "packWeights: could not tag the packed weights object", kErrInternal);
  }
  const size_t sums_bytes = round_up(static_cast<size_t>(n) * sizeof(int32_t), kAlign);
  const size_t panel_bytes = kernel.packed_bytes(n, k);
  size_t total = round_up(sums_bytes + panel_bytes, kAlign);
  uint8_t* buffer = total > 0 ? alloc_packed(&total) : nullptr;
  if (total > 0 && buffer == nullptr) {
    throw_error(env, "packWeights: could not allocate " + std::to_string(total) + " bytes for the packed weights",
                kErrOom);
  }
  int32_t* sums = reinterpret_cast<int32_t*>(buffer);
  if (n > 0) weight_row_sums_s8(w, ldw, n, k, sums);
  if (panel_bytes > 0) kernel.pack(w, ldw, n, k, buffer + sums_bytes);
  self->buffer_ = buffer;
  self->bytes_ = total;
  self->view_.n = n;
  self->view_.k = k;
  self->view_.layout = kernel.isa;
  self->view_.row_sums = sums;
  self->view_.panels = buffer + sums_bytes;
  self->tag_ = kTag;
  if (total > 0) Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(total));
  return obj;
}

Napi::Value PackedWeightsS8::get_n(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.n));
}
Napi::Value PackedWeightsS8::get_k(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(view_.k));
}
Napi::Value PackedWeightsS8::get_layout(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), isa_name(view_.layout));
}
Napi::Value PackedWeightsS8::get_byte_length(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

PackedWeightsS8* unwrap_packed_s8(Napi::Env env, napi_value raw_value, const char* name,
                                  const Napi::FunctionReference& ctor) {
  // Fast path: a wrapped object that carries this class's type tag (only create() tags; tags are own properties,
  // never inherited).
  if (void* raw = unwrap_tagged(env, raw_value, kTypeTag)) {
    PackedWeightsS8* self = static_cast<PackedWeightsS8*>(raw);
    if (self->tag_ == kTag) return self;
  }
  // Anything else: find the most precise message.
  Napi::Value v(env, raw_value);
  const std::string expected = std::string("The \"") + name + "\" argument must be a PackedWeights object " +
                               "(from packWeights()). Received ";
  if (!v.IsObject() || v.IsTypedArray() || v.IsArray() || v.IsFunction()) {
    throw_type_error(env, expected + describe_handle(v, "PackedWeights"));
  }
  Napi::Object obj = v.As<Napi::Object>();
  // instanceof first (napi_unwrap would also accept another class's wrapped object), then a checked unwrap
  // (an object created with Object.create(prototype) passes instanceof but wraps nothing).
  void* raw = nullptr;
  if (!obj.InstanceOf(ctor.Value()) || napi_unwrap(env, obj, &raw) != napi_ok || raw == nullptr) {
    throw_type_error(env, expected + "an object that is not a PackedWeights");
  }
  throw_type_error(env, expected + "an unpacked PackedWeights shell");
}

PackedWeightsS8* unwrap_packed_s8(const Napi::CallbackInfo& info, size_t i, const char* name,
                                  const Napi::FunctionReference& ctor) {
  return unwrap_packed_s8(info.Env(), info[i], name, ctor);
}

}  // namespace distiq::addon
