// int4 weight-only GEMM bindings (distiq/gemm_s4.h). JS signatures (lib/ops/gemm-s4.ts):
//   packWeightsS4(codes: Uint8Array, n, k, group, signed: boolean, scales: Float32Array, zeroPoints: Int32Array|null)
//     → PackedWeightsS4
//   quantizeWeightsS4(w: Float32Array, n, k, ldw, group, codes: Uint8Array, scales: Float32Array, f16Scales: boolean)
//     → undefined
//   gemmS4(a: Float32Array, m, lda, packed, bias: Float32Array|null, out: Float32Array, ldc) → undefined
//   gemmS4Async(same) → Promise<undefined>
// Every argument is re-checked here (the TS wrapper checked first): dims are integers, group ≥ 1 and
// min(group, k) ≤ 2^20, codes hold exactly n·ceil(k/2) bytes, scales n·G finite floats, zero points n·G integers in
// the code range ([−8, 7] signed, [0, 15] unsigned); a covers (m−1)·lda+k, out (m−1)·ldc+n, bias n; out shares no
// memory with a or bias; NaN/±Inf in a is ERR_DISTIQ_NON_FINITE. Packed weights must come from the
// kernel that is active now (else ERR_DISTIQ_PACKED_MISMATCH: pack again).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "args.h"
#include "distiq/gemm_s4.h"
#include "distiq/kernels.h"
#include "families.h"
#include "packed_weights_s4.h"
#include "promise_worker.h"

namespace distiq::addon {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;

struct FamilyData {
  Napi::FunctionReference packed_ctor;
};

// n, k, group (arguments i, i+1, i+2) with the group limit; returns G.
int64_t geometry_args(const Args& info, size_t i, int64_t* n, int64_t* k, int64_t* group) {
  Napi::Env env = info.Env();
  *n = int_arg(info, i, "n", 0, kMaxDim);
  *k = int_arg(info, i + 1, "k", 0, kMaxDim);
  *group = int_arg(info, i + 2, "group", 1, kMaxDim);
  if ((*group < *k ? *group : *k) > kGemmS4MaxGroup) {
    std::ostringstream os;
    os << "The \"group\" argument must make min(group, k) <= " << kGemmS4MaxGroup
       << " (keeps each group's int32 dot exact). Received group " << *group << " with k " << *k;
    throw_range_error(env, os.str(), kErrLimit);
  }
  const int64_t groups = gemm_s4_groups(*k, *group);
  checked_mul(env, *n, (*k + 1) / 2, "the int4 codes");
  checked_mul(env, *n, groups, "the scales");
  return groups;
}

void expect_finite_all(Napi::Env env, const char* name, const float* v, size_t count) {
  for (size_t e = 0; e < count; ++e) {
    if (!std::isfinite(v[e])) {
      std::ostringstream os;
      os << "Expected every element of \"" << name << "\" to be finite; " << name << "[" << e << "] is " << v[e];
      throw_range_error(env, os.str(), kErrNonFinite);
    }
  }
}

Napi::Value PackWeightsS4(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 7, "packWeightsS4");
  const Array<uint8_t> codes = u8_array(info, 0, "codes");
  int64_t n, k, group;
  const int64_t groups = geometry_args(info, 1, &n, &k, &group);
  const bool is_signed = bool_arg(info, 4, "signed");
  const Array<float> scales = f32_array(info, 5, "scales");
  const Array<int32_t> zps = optional_i32_array(info, 6, "zeroPoints");
  expect_length(env, "codes", codes.length, n * ((k + 1) / 2), "n*ceil(k/2)", true);
  expect_length(env, "scales", scales.length, n * groups, "n*ceil(k/group)", true);
  expect_finite_all(env, "scales", scales.data, scales.length);
  if (zps.present()) {
    expect_length(env, "zeroPoints", zps.length, n * groups, "n*ceil(k/group)", true);
    const int32_t lo = is_signed ? -8 : 0, hi = is_signed ? 7 : 15;
    for (size_t e = 0; e < zps.length; ++e) {
      if (zps.data[e] < lo || zps.data[e] > hi) {
        std::ostringstream os;
        os << "Expected every element of \"zeroPoints\" to be in [" << lo << ", " << hi << "] ("
           << (is_signed ? "int4" : "uint4") << " codes); zeroPoints[" << e << "] is " << zps.data[e];
        throw_range_error(env, os.str());
      }
    }
  }
  GemmS4Codes src;
  src.n = n, src.k = k, src.group = group, src.is_signed = is_signed;
  src.codes = codes.data;
  src.scales = scales.data;
  src.zero_points = zps.present() ? zps.data : nullptr;
  const FamilyData& fam = *static_cast<const FamilyData*>(info.Data());
  return PackedWeightsS4::create(env, fam.packed_ctor, *active_kernels().gemm_s4, src);
}

Napi::Value QuantizeWeightsS4(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 8, "quantizeWeightsS4");
  const Array<float> w = f32_array(info, 0, "w");
  const int64_t n = int_arg(info, 1, "n", 0, kMaxDim);
  const int64_t k = int_arg(info, 2, "k", 0, kMaxDim);
  const int64_t ldw = int_arg(info, 3, "ldw", 0, kMaxDim);
  const int64_t group = int_arg(info, 4, "group", 1, kMaxDim);
  if ((group < k ? group : k) > kGemmS4MaxGroup) {
    throw_range_error(env, "The \"group\" argument must make min(group, k) <= " + std::to_string(kGemmS4MaxGroup) +
                               ". Received " + std::to_string(group), kErrLimit);
  }
  const int64_t groups = gemm_s4_groups(k, group);
  const Array<uint8_t> codes = u8_array(info, 5, "codes");
  const Array<float> scales = f32_array(info, 6, "scales");
  const bool f16_scales = bool_arg(info, 7, "f16Scales");
  expect_stride(env, "ldw", ldw, k, "k");
  expect_length(env, "w", w.length, matrix_extent(env, n, k, ldw, "w"), "(n-1)*ldw+k", true);
  expect_length(env, "codes", codes.length, checked_mul(env, n, (k + 1) / 2, "the int4 codes"), "n*ceil(k/2)", true);
  expect_length(env, "scales", scales.length, checked_mul(env, n, groups, "the scales"), "n*ceil(k/group)", true);
  const Status s = quantize_s4_rtn(w.data, ldw, n, k, group, f16_scales, codes.data, scales.data);
  if (s == Status::kNonFinite) {
    throw_range_error(env, f16_scales ? "Expected every element of \"w\" to be finite, with max|w|/7 of every group "
                                        "within the float16 range (65504); NaN, Infinity or a larger value found"
                                      : "Expected every element of \"w\" to be finite (NaN or Infinity found)",
                      kErrNonFinite);
  }
  if (s != Status::kOk) throw_status(env, s, "quantizeWeightsS4");
  return env.Undefined();
}

// What the kernel call needs: plain pointers and dims (safe to use on a worker thread).
struct GemmS4Plain {
  const GemmS4Kernel* kernel = nullptr;
  PackedS4 packed;
  const float* x = nullptr;
  int64_t m = 0, lda = 0, ldy = 0;
  const float* bias = nullptr;
  float* y = nullptr;
};

struct GemmS4Call : GemmS4Plain {
  Napi::Value x_value, packed_obj, bias_value, y_value;  // kept alive by the async form
};

void parse(const Args& info, const char* fn, GemmS4Call& call) {
  Napi::Env env = info.Env();
  expect_count(info, 7, fn);
  const Array<float> x = f32_array(info, 0, "a");
  call.m = int_arg(info, 1, "m", 0, kMaxDim);
  call.lda = int_arg(info, 2, "lda", 0, kMaxDim);
  PackedWeightsS4* packed = unwrap_packed_s4(info, 3, "packed");
  call.packed = packed->view();
  call.packed_obj = info[3];
  call.kernel = active_kernels().gemm_s4;
  expect_packed_for(env, call.packed.layout, call.kernel->isa, "int4 GEMM",
                    "pack the weights again with packWeightsS4()");
  const Array<float> bias = optional_f32_array(info, 4, "bias");
  const Array<float> y = f32_array(info, 5, "out");
  call.ldy = int_arg(info, 6, "ldc", 0, kMaxDim);
  const int64_t n = call.packed.n, k = call.packed.k;
  expect_stride(env, "lda", call.lda, k, "k");
  expect_stride(env, "ldc", call.ldy, n, "n");
  const int64_t x_need = n > 0 ? matrix_extent(env, call.m, k, call.lda, "a") : 0;
  const int64_t y_need = matrix_extent(env, call.m, n, call.ldy, "out");
  expect_length(env, "a", x.length, x_need, "(m-1)*lda+k");
  expect_length(env, "out", y.length, y_need, "(m-1)*ldc+n");
  if (bias.present()) expect_length(env, "bias", bias.length, n, "n", true);
  const size_t y_bytes = static_cast<size_t>(y_need) * 4;
  expect_no_overlap(env, "out", y.data, y_bytes, "a", x.data, static_cast<size_t>(x_need) * 4);
  if (bias.present()) expect_no_overlap(env, "out", y.data, y_bytes, "bias", bias.data, bias.length * 4);
  call.x = x.data;
  call.bias = bias.present() ? bias.data : nullptr;
  call.y = y.data;
  call.x_value = x.value;
  call.bias_value = bias.value;
  call.y_value = y.value;
}

Status run(const GemmS4Plain& c) {
  return gemm_s4(*c.kernel, c.packed, c.x, c.m, c.lda, c.bias, c.y, c.ldy);
}

// A kNonFinite from the driver can only come from a.
Napi::Error call_error(Napi::Env env, Status s, const char* fn) {
  if (s == Status::kNonFinite) {
    Napi::Error e = Napi::RangeError::New(
        env, std::string(fn) + ": expected every element of \"a\" to be finite (each row is quantized by its "
                               "absolute maximum); NaN or Infinity found");
    e.Set("code", kErrNonFinite);
    return e;
  }
  return status_error(env, s, fn);
}

Napi::Value GemmS4(const Args& info) {
  GemmS4Call call;
  parse(info, "gemmS4", call);
  const Status s = run(call);
  if (s != Status::kOk) throw call_error(info.Env(), s, "gemmS4");
  return info.Env().Undefined();
}

// The Promise form (PromiseWorker: its rejection for a non-finite x carries ERR_DISTIQ_NON_FINITE; the TS wrapper
// names the argument).
Napi::Value GemmS4Async(const Args& info) {
  GemmS4Call call;
  parse(info, "gemmS4Async", call);
  const GemmS4Plain plain = call;  // the closure captures pointers and dims only; JS values stay in keep()
  auto* worker = new PromiseWorker(info.Env(), "gemmS4Async", [plain] { return run(plain); });
  worker->keep(call.x_value);
  worker->keep(call.packed_obj);
  worker->keep(call.bias_value);
  worker->keep(call.y_value);
  return worker->start();
}

}  // namespace

void init_gemm_s4(Napi::Env env, Napi::Object exports) {
  auto* data = new FamilyData();
  data->packed_ctor = Napi::Persistent(PackedWeightsS4::define(env));
  env.AddCleanupHook([data] { delete data; });
  exports.Set("packWeightsS4", fast_function<PackWeightsS4>(env, "packWeightsS4", data));
  exports.Set("quantizeWeightsS4", fast_function<QuantizeWeightsS4>(env, "quantizeWeightsS4", data));
  exports.Set("gemmS4", fast_function<GemmS4>(env, "gemmS4", data));
  exports.Set("gemmS4Async", fast_function<GemmS4Async>(env, "gemmS4Async", data));
}

}  // namespace distiq::addon
