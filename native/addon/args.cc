// Argument checks for the bindings (see args.h).
#include "args.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace distiq::addon {
namespace {

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

// True when the byte ranges [a, a+an) and [b, b+bn) overlap.
bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  if (a == nullptr || b == nullptr || an == 0 || bn == 0) return false;
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + bn && pb < pa + an;
}

std::string describe(const Napi::Value& v) {
  if (v.IsEmpty() || v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) return typed_array_name(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsArray()) return "Array";
  if (v.IsNumber()) {
    std::ostringstream os;
    os << "number " << v.As<Napi::Number>().DoubleValue();
    return os.str();
  }
  if (v.IsBoolean()) return "boolean";
  if (v.IsString()) return "string";
  if (v.IsFunction()) return "function";
  if (v.IsObject()) return "object";
  return "value";
}

template <typename T>
Array<T> typed(const Napi::CallbackInfo& info, size_t i, const char* name, napi_typedarray_type want, bool optional) {
  Napi::Value v = info[i];
  Array<T> out;
  if (optional && (v.IsUndefined() || v.IsNull())) return out;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a" +
                                     (want == napi_int8_array || want == napi_int32_array ? "n " : " ") +
                                     typed_array_name(want) + (optional ? " or null" : "") + ". Received " +
                                     describe(v));
  }
  Napi::TypedArray arr = v.As<Napi::TypedArray>();
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset = 0;
  const napi_status st = napi_get_typedarray_info(info.Env(), arr, &type, &length, &data, &buffer, &offset);
  if (st != napi_ok) throw_type_error(info.Env(), std::string("Could not read the \"") + name + "\" typed array");
  out.data = static_cast<T*>(data);  // N-API already applies byteOffset
  out.length = data == nullptr ? 0 : length;  // a detached buffer has no data
  out.value = v;
  return out;
}

}  // namespace

void throw_type_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::TypeError e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

void throw_range_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::RangeError e = Napi::RangeError::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

void throw_error(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

Napi::Error status_error(Napi::Env env, Status status, const std::string& what) {
  const char* code = kErrInternal;
  std::string detail;
  switch (status) {
    case Status::kOk: break;
    case Status::kInvalidArgument: code = kErrArgValue; detail = "an argument is outside what the op accepts"; break;
    case Status::kLimitExceeded: code = kErrLimit; detail = "a documented size limit is exceeded"; break;
    case Status::kNonFinite: code = kErrNonFinite; detail = "the input holds NaN or Infinity where the op forbids it"; break;
    case Status::kLayoutMismatch: code = kErrPacked; detail = "packed data does not match the kernel or shape"; break;
    case Status::kOutOfMemory: code = kErrOom; detail = "out of memory"; break;
  }
  const std::string message = what + ": " + detail;
  Napi::Error e = (status == Status::kOutOfMemory) ? Napi::Error::New(env, message)
                                                   : Napi::Error(env, Napi::RangeError::New(env, message).Value());
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void throw_status(Napi::Env env, Status status, const std::string& what) { throw status_error(env, status, what); }

void expect_count(const Napi::CallbackInfo& info, size_t count, const char* fn) {
  if (info.Length() != count) {
    std::ostringstream os;
    os << fn << " expects " << count << " arguments, received " << info.Length();
    throw_type_error(info.Env(), os.str());
  }
}

Array<float> f32_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<float>(info, i, name, napi_float32_array, false);
}
Array<int8_t> i8_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<int8_t>(info, i, name, napi_int8_array, false);
}
Array<uint8_t> u8_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<uint8_t>(info, i, name, napi_uint8_array, false);
}
Array<int32_t> i32_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<int32_t>(info, i, name, napi_int32_array, false);
}
Array<float> optional_f32_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<float>(info, i, name, napi_float32_array, true);
}
Array<int32_t> optional_i32_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<int32_t>(info, i, name, napi_int32_array, true);
}
Array<uint8_t> optional_u8_array(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed<uint8_t>(info, i, name, napi_uint8_array, true);
}

napi_typedarray_type typed_array_type(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray()) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a TypedArray. Received " + describe(v));
  }
  return v.As<Napi::TypedArray>().TypedArrayType();
}

int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be an integer. Received " + describe(v));
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    std::ostringstream os;
    os << "The \"" << name << "\" argument must be an integer in [" << lo << ", " << hi << "]. Received " << d;
    throw_range_error(info.Env(), os.str());
  }
  return static_cast<int64_t>(d);
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool allow_non_finite) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a number. Received " + describe(v));
  }
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!allow_non_finite && !std::isfinite(d)) {
    std::ostringstream os;
    os << "The \"" << name << "\" argument must be a finite number. Received " << d;
    throw_range_error(info.Env(), os.str(), kErrNonFinite);
  }
  return d;
}

bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsBoolean()) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a boolean. Received " + describe(v));
  }
  return v.As<Napi::Boolean>().Value();
}

int64_t checked_mul(Napi::Env env, int64_t a, int64_t b, const char* what) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > (int64_t{1} << 53)) {
    std::ostringstream os;
    os << "The size of " << what << " (" << a << " x " << b << ") is too large";
    throw_range_error(env, os.str(), kErrLimit);
  }
  return r;
}

void expect_length(Napi::Env env, const char* name, size_t actual, int64_t expected, const std::string& formula,
                   bool exact) {
  const bool ok = exact ? static_cast<int64_t>(actual) == expected : static_cast<int64_t>(actual) >= expected;
  if (!ok) {
    std::ostringstream os;
    os << "Expected " << name << ".length " << (exact ? "to equal " : "to be at least ") << expected << " ("
       << formula << "), received " << actual;
    throw_range_error(env, os.str(), kErrShape);
  }
}

void expect_no_overlap(Napi::Env env, const char* out_name, const void* out, size_t out_bytes, const char* in_name,
                       const void* in, size_t in_bytes) {
  if (overlaps(out, out_bytes, in, in_bytes)) {
    throw_range_error(env, std::string("The \"") + out_name + "\" argument must not share memory with \"" + in_name + "\"");
  }
}

}  // namespace distiq::addon
