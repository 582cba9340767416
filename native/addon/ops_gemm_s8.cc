// int8 GEMM bindings (distiq/gemm_s8.h). JS signatures (lib/native.ts):
//   packWeightsS8(w: Int8Array, n, k, ldw) → PackedWeightsS8
//   gemmS8(a, m, lda, za, packed, zw, outKind, c, ldc, aScale, wScale | null, bias | null, relu, outScale, outZp)
//   gemmS8Async(same) → Promise<void>
// Every argument is re-checked here (the TS wrapper checked first): A is a Uint8Array (u8×s8) or an Int8Array
// (s8×s8) and its zero point is in that type's range; W's zero point is in [−128, 127]; dims are integers, strides
// cover their rows, lengths cover (rows − 1)·ld + cols (overflow-checked); C's element type matches outKind;
// scales are finite and > 0 as float32, wScale has 1 or n elements, bias n; the requantization zero point is in
// the output type's range; C shares no memory with A, wScale or bias. Packed weights must come from the kernel
// that is active now (else ERR_DISTIQ_PACKED_MISMATCH: pack again).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "args.h"
#include "distiq/gemm_s8.h"
#include "distiq/kernels.h"
#include "families.h"
#include "packed_weights.h"
#include "promise_worker.h"

namespace distiq::addon {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;  // far beyond any array; keeps the products below in range

// Per-env state shared by the family's functions: the PackedWeightsS8 constructor.
struct FamilyData {
  Napi::FunctionReference packed_ctor;
};

template <typename Info>
const FamilyData& family(const Info& info) {
  return *static_cast<const FamilyData*>(info.Data());
}

// A scale: a finite Number that stays finite and > 0 once rounded to float32.
float positive_scale(const Args& info, size_t i, const char* name) {
  const double d = number_arg(info, i, name);
  const float f = static_cast<float>(d);
  if (!std::isfinite(f) || !(f > 0.0f)) {
    std::ostringstream os;
    os << "The \"" << name << "\" argument must be a finite number > 0 (as float32). Received " << d;
    throw_range_error(info.Env(), os.str(), std::isfinite(f) ? kErrArgValue : kErrNonFinite);
  }
  return f;
}

Napi::Value PackWeightsS8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  expect_count(info, 4, "packWeightsS8");
  const Array<int8_t> w = i8_array(info, 0, "w");
  const int64_t n = int_arg(info, 1, "n", 0, kMaxDim);
  const int64_t k = int_arg(info, 2, "k", 0, kMaxDim);
  if (k > kGemmS8MaxK) {
    std::ostringstream os;
    os << "The \"k\" argument must be <= " << kGemmS8MaxK << " (the int8 GEMM limit that keeps int32 sums exact). "
       << "Received " << k;
    throw_range_error(env, os.str(), kErrLimit);
  }
  const int64_t ldw = int_arg(info, 3, "ldw", 0, kMaxDim);
  expect_stride(env, "ldw", ldw, k, "k");
  const int64_t need = matrix_extent(env, n, k, ldw, "w");
  expect_length(env, "w", w.length, need, "(n-1)*ldw+k");
  checked_mul(env, n, k, "the packed weights");  // throws if n·k is beyond any buffer
  const GemmS8Kernel& kernel = *active_kernels().gemm_s8;
  return PackedWeightsS8::create(env, family(info).packed_ctor, kernel, w.data, ldw, n, k);
}

// Everything a gemm_s8 call needs, converted on the JS thread.
struct GemmS8Call {
  GemmS8Args args;
  PackedS8 packed;
  const GemmS8Kernel* kernel = nullptr;
  Napi::Value a, packed_obj, c, w_scale, bias;  // kept alive by the async form
};

const char* out_type_name(GemmOut out) {
  switch (out) {
    case GemmOut::kS32: return "Int32Array";
    case GemmOut::kF32: return "Float32Array";
    case GemmOut::kU8: return "Uint8Array";
    default: return "Int8Array";
  }
}

napi_typedarray_type out_type(GemmOut out) {
  switch (out) {
    case GemmOut::kS32: return napi_int32_array;
    case GemmOut::kF32: return napi_float32_array;
    case GemmOut::kU8: return napi_uint8_array;
    default: return napi_int8_array;
  }
}

void parse(const Args& info, const char* fn, GemmS8Call& call) {
  Napi::Env env = info.Env();
  expect_count(info, 15, fn);
  GemmS8Args& g = call.args;

  // A: the element type chooses u8×s8 or s8×s8.
  const AnyArray a = any_typed_array(info, 0, "a");
  const napi_typedarray_type a_type = a.type;
  if (a_type != napi_uint8_array && a_type != napi_int8_array) {
    throw_type_error(env, std::string("The \"a\" argument must be a Uint8Array (u8×s8) or an Int8Array (s8×s8). ") +
                              "Received " +
                              typed_array_name(a_type));
  }
  const void* a_data = a.data;
  const size_t a_length = a.length;
  call.a = a.value;
  g.a_signed = a_type == napi_int8_array;
  g.m = int_arg(info, 1, "m", 0, kMaxDim);
  g.lda = int_arg(info, 2, "lda", 0, kMaxDim);
  g.za = static_cast<int32_t>(g.a_signed ? int_arg(info, 3, "za", -128, 127) : int_arg(info, 3, "za", 0, 255));

  PackedWeightsS8* packed = unwrap_packed_s8(env, info.raw(4), "packed", family(info).packed_ctor);
  call.packed = packed->view();
  call.packed_obj = info[4];
  const int64_t n = call.packed.n, k = call.packed.k;
  call.kernel = active_kernels().gemm_s8;
  expect_packed_for(env, call.packed.layout, call.kernel->isa, "int8 GEMM", "pack the weights again with packWeights()");
  g.zw = static_cast<int32_t>(int_arg(info, 5, "zw", -128, 127));
  g.out = static_cast<GemmOut>(int_arg(info, 6, "outKind", 0, 3));

  const AnyArray c = any_typed_array(info, 7, "c");
  const napi_typedarray_type c_type = c.type;
  if (c_type != out_type(g.out)) {
    throw_type_error(env, std::string("The \"c\" argument must be ") +
                              (g.out == GemmOut::kS32 || g.out == GemmOut::kS8 ? "an " : "a ") +
                              out_type_name(g.out) + " for outKind " + std::to_string(static_cast<int>(g.out)) +
                              ". Received " + typed_array_name(c_type));
  }
  const size_t c_length = c.length;
  void* c_data = c.data;
  call.c = c.value;
  g.ldc = int_arg(info, 8, "ldc", 0, kMaxDim);
  g.a_scale = positive_scale(info, 9, "aScale");

  const Array<float> w_scale = optional_f32_array(info, 10, "wScale");
  const Array<float> bias = optional_f32_array(info, 11, "bias");
  g.relu = bool_arg(info, 12, "relu");
  g.out_scale = positive_scale(info, 13, "outScale");
  const int64_t zp_lo = g.out == GemmOut::kU8 ? 0 : g.out == GemmOut::kS8 ? -128 : INT32_MIN;
  const int64_t zp_hi = g.out == GemmOut::kU8 ? 255 : g.out == GemmOut::kS8 ? 127 : INT32_MAX;
  g.out_zp = static_cast<int32_t>(int_arg(info, 14, "outZp", zp_lo, zp_hi));

  // Shapes.
  expect_stride(env, "lda", g.lda, k, "k");
  expect_stride(env, "ldc", g.ldc, n, "n");
  const bool reads_a = g.m > 0 && n > 0 && k > 0;
  const int64_t a_need = reads_a ? matrix_extent(env, g.m, k, g.lda, "a") : 0;
  const int64_t c_need = matrix_extent(env, g.m, n, g.ldc, "c");
  expect_length(env, "a", a_length, a_need, "(m-1)*lda+k");
  expect_length(env, "c", c_length, c_need, "(m-1)*ldc+n");

  // Epilogue inputs.
  if (w_scale.present()) {
    if (w_scale.length != 1 && static_cast<int64_t>(w_scale.length) != n) {
      std::ostringstream os;
      os << "Expected wScale.length to equal 1 (per-tensor) or " << n << " (n, per-channel), received "
         << w_scale.length;
      throw_range_error(env, os.str(), kErrShape);
    }
    for (size_t j = 0; j < w_scale.length; ++j) {
      if (!std::isfinite(w_scale.data[j]) || !(w_scale.data[j] > 0.0f)) {
        std::ostringstream os;
        os << "Expected every element of \"wScale\" to be a positive finite number; wScale[" << j << "] is "
           << w_scale.data[j];
        throw_range_error(env, os.str(), std::isfinite(w_scale.data[j]) ? kErrArgValue : kErrNonFinite);
      }
    }
  } else if (g.out != GemmOut::kS32) {
    throw_type_error(env, "The \"wScale\" argument must be a Float32Array for float and requantized outputs. "
                          "Received null");
  }
  if (bias.present()) expect_length(env, "bias", bias.length, n, "n", true);

  const size_t out_elem = (g.out == GemmOut::kS32 || g.out == GemmOut::kF32) ? 4 : 1;
  const size_t c_bytes = static_cast<size_t>(c_need) * out_elem;
  expect_no_overlap(env, "c", c_data, c_bytes, "a", a_data, static_cast<size_t>(a_need));
  if (g.out != GemmOut::kS32) {
    if (w_scale.present()) expect_no_overlap(env, "c", c_data, c_bytes, "wScale", w_scale.data, w_scale.length * 4);
    if (bias.present()) expect_no_overlap(env, "c", c_data, c_bytes, "bias", bias.data, bias.length * 4);
  }

  static const float kOne = 1.0f;
  g.a = a_data;
  g.c = c_data;
  g.w_scale = w_scale.present() ? w_scale.data : &kOne;
  g.w_scale_count = w_scale.present() ? static_cast<int64_t>(w_scale.length) : 1;
  g.bias = bias.present() ? bias.data : nullptr;
  g.w = nullptr;  // set to the call's own PackedS8 copy right before running
  call.w_scale = w_scale.value;
  call.bias = bias.value;
}

Napi::Value GemmS8(const Args& info) {
  GemmS8Call call;
  parse(info, "gemmS8", call);
  call.args.w = &call.packed;
  const Status s = gemm_s8(*call.kernel, call.args);
  if (s != Status::kOk) throw_status(info.Env(), s, "gemmS8");
  return info.Env().Undefined();
}

Napi::Value GemmS8Async(const Args& info) {
  auto call = std::make_shared<GemmS8Call>();
  parse(info, "gemmS8Async", *call);
  // The closure owns plain data only (args + packed view + kernel); JS values stay on this thread in keep().
  struct Plain {
    GemmS8Args args;
    PackedS8 packed;
    const GemmS8Kernel* kernel;
  };
  auto plain = std::make_shared<Plain>(Plain{call->args, call->packed, call->kernel});
  auto* worker = new PromiseWorker(info.Env(), "gemmS8Async", [plain] {
    plain->args.w = &plain->packed;
    return gemm_s8(*plain->kernel, plain->args);
  });
  worker->keep(call->a);
  worker->keep(call->packed_obj);
  worker->keep(call->c);
  worker->keep(call->w_scale);
  worker->keep(call->bias);
  return worker->start();
}

}  // namespace

void init_gemm_s8(Napi::Env env, Napi::Object exports) {
  auto* data = new FamilyData();
  data->packed_ctor = Napi::Persistent(PackedWeightsS8::define(env));
  env.AddCleanupHook([data] { delete data; });
  exports.Set("packWeightsS8", Napi::Function::New(env, PackWeightsS8, "packWeightsS8", data));
  exports.Set("gemmS8", fast_function<GemmS8>(env, "gemmS8", data));
  exports.Set("gemmS8Async", fast_function<GemmS8Async>(env, "gemmS8Async", data));
}

}  // namespace distiq::addon
