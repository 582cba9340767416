// Bindings of the quantization family (lib/native.ts, native/include/distiq/quant.h):
//   quantize(x, outer, channels, inner, group, rowLen, scales, zeroPoints|null, qtype, qmin, qmax, q)   + Async
//   dequantize(q, qtype, outer, channels, inner, group, rowLen, scales, zeroPoints|null, x)              + Async
//   minMax(x, outer, channels, inner, group, mins, maxs)
//   fakeQuantize(x, outer, channels, inner, group, scales, zeroPoints|null, qmin, qmax, y, mask|null)
// Every argument is re-checked here although the TS wrapper checked first: the q array's element type must match
// qtype (Int8Array for s8, Uint8Array for u8/s4/u4), every length must equal what the geometry needs
// (overflow-checked), scales must be finite and > 0, zero points inside [qmin, qmax], [qmin, qmax] inside the
// type's range, and no output may share memory with an input.
#include <napi.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "args.h"
#include "distiq/kernels.h"
#include "distiq/quant.h"
#include "families.h"
#include "promise_worker.h"

namespace distiq::addon {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;

// A float as JS would print it (NaN, Infinity), for messages.
std::string js_number(float v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream os;
  os << v;
  return os.str();
}

struct QuantCall {
  QuantArgs args;
  std::vector<Napi::Value> keep;
};

const char* qtype_name(QType t) {
  switch (t) {
    case QType::kS8: return "int8";
    case QType::kU8: return "uint8";
    case QType::kS4: return "int4";
    case QType::kU4: return "uint4";
  }
  return "?";
}

void qtype_range(QType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case QType::kS8: *lo = -128; *hi = 127; break;
    case QType::kU8: *lo = 0; *hi = 255; break;
    case QType::kS4: *lo = -8; *hi = 7; break;
    case QType::kU4: *lo = 0; *hi = 15; break;
  }
}

// outer, channels, inner, group at info[i..i+3]; returns the element count.
QuantGeometry geometry_args(const Args& info, size_t i, int64_t* count) {
  Napi::Env env = info.Env();
  QuantGeometry g;
  g.outer = int_arg(info, i, "outer", 0, kMaxDim);
  g.channels = int_arg(info, i + 1, "channels", 0, kMaxDim);
  g.inner = int_arg(info, i + 2, "inner", 0, kMaxDim);
  g.group = int_arg(info, i + 3, "group", 0, kMaxDim);
  if (g.group > 0 && g.inner != 1) {
    std::ostringstream os;
    os << "The \"inner\" argument must be 1 when group > 0 (groups run along the last axis). Received " << g.inner;
    throw_range_error(env, os.str());
  }
  if (g.group > 0 && g.channels > 0 && g.group > g.channels) {
    std::ostringstream os;
    os << "The \"group\" argument must be in [1, channels] (channels = " << g.channels << "). Received " << g.group;
    throw_range_error(env, os.str());
  }
  *count = checked_mul(env, checked_mul(env, g.outer, g.channels, "x (outer x channels)"), g.inner,
                       "x (outer x channels x inner)");
  return g;
}

QType qtype_arg(const Args& info, size_t i) {
  return static_cast<QType>(int_arg(info, i, "qtype", 0, 3));
}

// qmin/qmax inside [lo, hi] and ordered.
void range_args(const Args& info, size_t i, int32_t lo, int32_t hi, const char* what, int32_t* qmin,
                int32_t* qmax) {
  *qmin = static_cast<int32_t>(int_arg(info, i, "qmin", lo, hi));
  *qmax = static_cast<int32_t>(int_arg(info, i + 1, "qmax", lo, hi));
  if (*qmin > *qmax) {
    std::ostringstream os;
    os << "The \"qmin\" argument must be <= qmax (" << *qmax << ") for " << what << ". Received " << *qmin;
    throw_range_error(info.Env(), os.str());
  }
}

// scales (finite, > 0) and optional zero points (inside [qmin, qmax]), both of quant_param_count(geo) elements.
void param_args(const Args& info, size_t i, const QuantGeometry& g, int32_t qmin, int32_t qmax,
                QuantCall* call) {
  Napi::Env env = info.Env();
  const int64_t params = quant_param_count(g);
  const Array<float> scales = f32_array(info, i, "scales");
  const Array<int32_t> zps = optional_i32_array(info, i + 1, "zeroPoints");
  const char* formula = g.group > 0 ? "outer*ceil(channels/group)" : "channels";
  expect_length(env, "scales", scales.length, params, formula, true);
  for (int64_t p = 0; p < params; ++p) {
    const float s = scales.data[p];
    if (!(std::isfinite(s) && s > 0.0f)) {
      std::ostringstream os;
      os << "Expected every element of \"scales\" to be a positive finite number; scales[" << p << "] is " << js_number(s);
      throw_range_error(env, os.str(), std::isfinite(s) ? kErrArgValue : kErrNonFinite);
    }
  }
  if (zps.data != nullptr || !zps.value.IsEmpty()) {
    expect_length(env, "zeroPoints", zps.length, params, formula, true);
    for (int64_t p = 0; p < params; ++p) {
      if (zps.data[p] < qmin || zps.data[p] > qmax) {
        std::ostringstream os;
        os << "Expected every element of \"zeroPoints\" to be in [qmin, qmax] = [" << qmin << ", " << qmax
           << "]; zeroPoints[" << p << "] is " << zps.data[p];
        throw_range_error(env, os.str());
      }
    }
  } else if (params > 0 && (qmin > 0 || qmax < 0)) {
    std::ostringstream os;
    os << "The \"zeroPoints\" argument must be given when 0 is outside [qmin, qmax] = [" << qmin << ", " << qmax
       << "] (null means every zero point is 0)";
    throw_range_error(env, os.str());
  }
  call->args.scales = scales.data;
  call->args.zero_points = zps.data;
  call->keep.push_back(scales.value);
  if (!zps.value.IsEmpty()) call->keep.push_back(zps.value);
}

// The q array: Int8Array for s8, Uint8Array for u8 / s4 / u4, of quant_storage_bytes elements.
void q_array_arg(const Args& info, size_t i, QType t, int64_t count, int64_t row_len, QuantCall* call) {
  Napi::Env env = info.Env();
  void* data = nullptr;
  size_t length = 0;
  Napi::Value value;
  if (t == QType::kS8) {
    const Array<int8_t> a = i8_array(info, i, "q");
    data = a.data;
    length = a.length;
    value = a.value;
  } else {
    const AnyArray a = any_typed_array(info, i, "q");
    if (a.type != napi_uint8_array) {
      throw_type_error(env, std::string("The \"q\" argument must be a Uint8Array for qtype ") + qtype_name(t) +
                                ". Received " + (a.type == napi_int8_array ? "Int8Array" : "another TypedArray"));
    }
    data = a.data;
    length = a.length;
    value = a.value;
  }
  if (t == QType::kS4 || t == QType::kU4) {
    if (row_len < 1 || count % row_len != 0) {
      std::ostringstream os;
      os << "The \"rowLen\" argument must be >= 1 and divide the element count (" << count << ") for qtype "
         << qtype_name(t) << ". Received " << row_len;
      throw_range_error(env, os.str());
    }
  }
  const int64_t bytes = quant_storage_bytes(t, count, row_len < 1 ? 1 : row_len);
  expect_length(env, "q", length, bytes,
                (t == QType::kS4 || t == QType::kU4) ? "(count/rowLen)*ceil(rowLen/2)" : "outer*channels*inner", true);
  call->args.q = data;
  call->keep.push_back(value);
}

void expect_apart(Napi::Env env, const char* out_name, const void* out, size_t out_bytes,
                  std::initializer_list<std::pair<const char*, std::pair<const void*, size_t>>> inputs) {
  for (const auto& in : inputs) expect_no_overlap(env, out_name, out, out_bytes, in.first, in.second.first, in.second.second);
}

size_t param_bytes(const QuantGeometry& g) { return static_cast<size_t>(quant_param_count(g)) * 4; }

QuantCall parse_quantize(const Args& info, const char* fn) {
  Napi::Env env = info.Env();
  expect_count(info, 12, fn);
  QuantCall call;
  QuantArgs& a = call.args;
  const Array<float> x = f32_array(info, 0, "x");
  int64_t count = 0;
  a.geo = geometry_args(info, 1, &count);
  a.row_len = int_arg(info, 5, "rowLen", 0, kMaxDim);
  a.type = qtype_arg(info, 8);
  int32_t lo = 0, hi = 0;
  qtype_range(a.type, &lo, &hi);
  range_args(info, 9, lo, hi, qtype_name(a.type), &a.qmin, &a.qmax);
  expect_length(env, "x", x.length, count, "outer*channels*inner", true);
  param_args(info, 6, a.geo, a.qmin, a.qmax, &call);
  q_array_arg(info, 11, a.type, count, a.row_len, &call);
  const size_t q_bytes = static_cast<size_t>(quant_storage_bytes(a.type, count, a.row_len < 1 ? 1 : a.row_len));
  expect_apart(env, "q", a.q, q_bytes,
               {{"x", {x.data, x.length * 4}}, {"scales", {a.scales, param_bytes(a.geo)}},
                {"zeroPoints", {a.zero_points, a.zero_points ? param_bytes(a.geo) : 0}}});
  a.x = x.data;
  call.keep.push_back(x.value);
  return call;
}

QuantCall parse_dequantize(const Args& info, const char* fn) {
  Napi::Env env = info.Env();
  expect_count(info, 10, fn);
  QuantCall call;
  QuantArgs& a = call.args;
  a.type = qtype_arg(info, 1);
  int64_t count = 0;
  a.geo = geometry_args(info, 2, &count);
  a.row_len = int_arg(info, 6, "rowLen", 0, kMaxDim);
  qtype_range(a.type, &a.qmin, &a.qmax);  // zero points may be anywhere in the type's range
  param_args(info, 7, a.geo, a.qmin, a.qmax, &call);
  q_array_arg(info, 0, a.type, count, a.row_len, &call);
  const Array<float> x = f32_array(info, 9, "x");
  expect_length(env, "x", x.length, count, "outer*channels*inner", true);
  const size_t q_bytes = static_cast<size_t>(quant_storage_bytes(a.type, count, a.row_len < 1 ? 1 : a.row_len));
  expect_apart(env, "x", x.data, x.length * 4,
               {{"q", {a.q, q_bytes}}, {"scales", {a.scales, param_bytes(a.geo)}},
                {"zeroPoints", {a.zero_points, a.zero_points ? param_bytes(a.geo) : 0}}});
  a.x = x.data;
  call.keep.push_back(x.value);
  return call;
}

// Sync errors name the input; the generic status text stays for everything else.
[[noreturn]] void throw_quant_status(Napi::Env env, Status s, const char* fn) {
  if (s == Status::kNonFinite) {
    throw_range_error(env, std::string("The \"x\" argument must not contain NaN (") + fn +
                               "). Received an array holding NaN",
                      kErrNonFinite);
  }
  throw_status(env, s, fn);
}

Napi::Value Quantize(const Args& info) {
  const QuantCall call = parse_quantize(info, "quantize");
  const Status s = quantize(*active_kernels().quant, call.args);
  if (s != Status::kOk) throw_quant_status(info.Env(), s, "quantize");
  return info.Env().Undefined();
}

Napi::Value QuantizeAsync(const Args& info) {
  const QuantCall call = parse_quantize(info, "quantizeAsync");
  const QuantKernel* kernel = active_kernels().quant;
  const QuantArgs args = call.args;
  auto* worker = new PromiseWorker(info.Env(), "quantizeAsync (\"x\")", [kernel, args] { return quantize(*kernel, args); });
  for (const auto& v : call.keep) worker->keep(v);
  return worker->start();
}

Napi::Value Dequantize(const Args& info) {
  const QuantCall call = parse_dequantize(info, "dequantize");
  const Status s = dequantize(*active_kernels().quant, call.args);
  if (s != Status::kOk) throw_status(info.Env(), s, "dequantize");
  return info.Env().Undefined();
}

Napi::Value DequantizeAsync(const Args& info) {
  const QuantCall call = parse_dequantize(info, "dequantizeAsync");
  const QuantKernel* kernel = active_kernels().quant;
  const QuantArgs args = call.args;
  auto* worker = new PromiseWorker(info.Env(), "dequantizeAsync", [kernel, args] { return dequantize(*kernel, args); });
  for (const auto& v : call.keep) worker->keep(v);
  return worker->start();
}

Napi::Value MinMax(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 7, "minMax");
  const Array<float> x = f32_array(info, 0, "x");
  int64_t count = 0;
  const QuantGeometry g = geometry_args(info, 1, &count);
  const Array<float> mins = f32_array(info, 5, "mins");
  const Array<float> maxs = f32_array(info, 6, "maxs");
  expect_length(env, "x", x.length, count, "outer*channels*inner", true);
  const int64_t params = quant_param_count(g);
  const char* formula = g.group > 0 ? "outer*ceil(channels/group)" : "channels";
  expect_length(env, "mins", mins.length, params, formula, true);
  expect_length(env, "maxs", maxs.length, params, formula, true);
  expect_no_overlap(env, "mins", mins.data, mins.length * 4, "x", x.data, x.length * 4);
  expect_no_overlap(env, "maxs", maxs.data, maxs.length * 4, "x", x.data, x.length * 4);
  expect_no_overlap(env, "maxs", maxs.data, maxs.length * 4, "mins", mins.data, mins.length * 4);
  const Status s = min_max(*active_kernels().quant, x.data, g, mins.data, maxs.data);
  if (s == Status::kNonFinite) {
    throw_range_error(env, "The \"x\" argument must hold only finite numbers (minMax). Received an array holding NaN or "
                           "Infinity", kErrNonFinite);
  }
  if (s != Status::kOk) throw_status(env, s, "minMax");
  return env.Undefined();
}

Napi::Value FakeQuantize(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 11, "fakeQuantize");
  QuantCall call;
  QuantArgs& a = call.args;
  const Array<float> x = f32_array(info, 0, "x");
  int64_t count = 0;
  a.geo = geometry_args(info, 1, &count);
  range_args(info, 7, -128, 255, "fake quantization (any 8-bit range)", &a.qmin, &a.qmax);
  param_args(info, 5, a.geo, a.qmin, a.qmax, &call);
  const Array<float> y = f32_array(info, 9, "y");
  const Array<uint8_t> mask = optional_u8_array(info, 10, "mask");
  expect_length(env, "x", x.length, count, "outer*channels*inner", true);
  expect_length(env, "y", y.length, count, "outer*channels*inner", true);
  if (!mask.value.IsEmpty()) expect_length(env, "mask", mask.length, count, "outer*channels*inner", true);
  const std::initializer_list<std::pair<const char*, std::pair<const void*, size_t>>> inputs = {
      {"x", {x.data, x.length * 4}},
      {"scales", {a.scales, param_bytes(a.geo)}},
      {"zeroPoints", {a.zero_points, a.zero_points ? param_bytes(a.geo) : 0}}};
  expect_apart(env, "y", y.data, y.length * 4, inputs);
  expect_apart(env, "mask", mask.data, mask.length, inputs);
  expect_no_overlap(env, "mask", mask.data, mask.length, "y", y.data, y.length * 4);
  a.x = x.data;
  a.y = y.data;
  a.mask = mask.data;
  const Status s = fake_quantize(*active_kernels().quant, a);
  if (s != Status::kOk) throw_quant_status(env, s, "fakeQuantize");
  return env.Undefined();
}

}  // namespace

void init_quant(Napi::Env env, Napi::Object exports) {
  exports.Set("quantize", fast_function<Quantize>(env, "quantize"));
  exports.Set("quantizeAsync", fast_function<QuantizeAsync>(env, "quantizeAsync"));
  exports.Set("dequantize", fast_function<Dequantize>(env, "dequantize"));
  exports.Set("dequantizeAsync", fast_function<DequantizeAsync>(env, "dequantizeAsync"));
  exports.Set("minMax", fast_function<MinMax>(env, "minMax"));
  exports.Set("fakeQuantize", fast_function<FakeQuantize>(env, "fakeQuantize"));
}

}  // namespace distiq::addon
