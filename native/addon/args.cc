// Argument checks for the bindings (see args.h).
#include "args.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace distiq::addon {

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

namespace {

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

[[noreturn]] void throw_not_typed(napi_env env, napi_value v, const char* name, napi_typedarray_type want,
                                  bool optional) {
  throw_type_error(env, std::string("The \"") + name + "\" argument must be a" +
                            (want == napi_int8_array || want == napi_int32_array ? "n " : " ") +
                            typed_array_name(want) + (optional ? " or null" : "") + ". Received " +
                            describe(Napi::Value(env, v)));
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t = napi_undefined;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null);
}

// One napi_get_typedarray_info call on the happy path (it fails, without a pending exception, for non-arrays).
template <typename T>
Array<T> typed(napi_env env, napi_value v, const char* name, napi_typedarray_type want, bool optional) {
  Array<T> out;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) == napi_ok && type == want) {
    out.data = static_cast<T*>(data);           // N-API already applies byteOffset
    out.length = data == nullptr ? 0 : length;  // a detached buffer has no data
    out.value = Napi::Value(env, v);
    return out;
  }
  if (optional && is_nullish(env, v)) return out;
  throw_not_typed(env, v, name, want, optional);
}

[[noreturn]] void throw_not_integer(napi_env env, napi_value v, const char* name, int64_t lo, int64_t hi) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    throw_type_error(env, std::string("The \"") + name + "\" argument must be an integer. Received " +
                              describe(Napi::Value(env, v)));
  }
  std::ostringstream os;
  os << "The \"" << name << "\" argument must be an integer in [" << lo << ", " << hi << "]. Received " << d;
  throw_range_error(env, os.str());
}

int64_t integer(napi_env env, napi_value v, const char* name, int64_t lo, int64_t hi) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) == napi_ok && d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) {
    const auto i = static_cast<int64_t>(d);  // in range, so defined
    if (static_cast<double>(i) == d) return i;
  }
  throw_not_integer(env, v, name, lo, hi);
}

double number(napi_env env, napi_value v, const char* name, bool allow_non_finite) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    throw_type_error(env, std::string("The \"") + name + "\" argument must be a number. Received " +
                              describe(Napi::Value(env, v)));
  }
  if (!allow_non_finite && !std::isfinite(d)) {
    std::ostringstream os;
    os << "The \"" << name << "\" argument must be a finite number. Received " << d;
    throw_range_error(env, os.str(), kErrNonFinite);
  }
  return d;
}

bool boolean(napi_env env, napi_value v, const char* name) {
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) {
    throw_type_error(env, std::string("The \"") + name + "\" argument must be a boolean. Received " +
                              describe(Napi::Value(env, v)));
  }
  return b;
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

Args::Args(napi_env env, napi_callback_info cb) : env_(env) {
  if (napi_get_cb_info(env, cb, &argc_, argv_, nullptr, &data_) != napi_ok) {
    throw_error(Napi::Env(env), "Could not read the call's arguments", kErrInternal);
  }
}

napi_value Args::raw(size_t i) const {
  if (i < kMax) return argv_[i];  // napi_get_cb_info filled the slots past argc with undefined
  napi_value undefined = nullptr;
  napi_get_undefined(env_, &undefined);
  return undefined;
}

namespace detail {

napi_value settle_exception(napi_env env, const Napi::Error* error, const char* what, const char* code) {
  if (error != nullptr) {
    error->ThrowAsJavaScriptException();
    return nullptr;
  }
  try {
    Napi::Error e = Napi::Error::New(Napi::Env(env), what);
    e.Set("code", Napi::String::New(Napi::Env(env), code));
    e.ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();  // creating the error failed (e.g. out of memory): throw what N-API reported
  }
  return nullptr;
}

Napi::Function make_function(Napi::Env env, const char* name, napi_callback cb, void* data) {
  napi_value fn = nullptr;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &fn) != napi_ok) {
    throw_error(env, std::string("Could not create the binding ") + name, kErrInternal);
  }
  return Napi::Function(env, fn);
}

}  // namespace detail

namespace {
[[noreturn]] void throw_count(Napi::Env env, size_t count, size_t got, const char* fn) {
  std::ostringstream os;
  os << fn << " expects " << count << " arguments, received " << got;
  throw_type_error(env, os.str());
}
}  // namespace

void expect_count(const Napi::CallbackInfo& info, size_t count, const char* fn) {
  if (info.Length() != count) throw_count(info.Env(), count, info.Length(), fn);
}
void expect_count(const Args& info, size_t count, const char* fn) {
  if (info.Length() != count) throw_count(info.Env(), count, info.Length(), fn);
}

// Each helper has a CallbackInfo and an Args form over the same one-value check.
#define DQ_ARRAY_HELPERS(Info)                                                                     \
  Array<float> f32_array(Info info, size_t i, const char* name) {                                 \
    return typed<float>(info.Env(), info[i], name, napi_float32_array, false);                    \
  }                                                                                                \
  Array<int8_t> i8_array(Info info, size_t i, const char* name) {                                 \
    return typed<int8_t>(info.Env(), info[i], name, napi_int8_array, false);                      \
  }                                                                                                \
  Array<uint8_t> u8_array(Info info, size_t i, const char* name) {                                \
    return typed<uint8_t>(info.Env(), info[i], name, napi_uint8_array, false);                    \
  }                                                                                                \
  Array<int32_t> i32_array(Info info, size_t i, const char* name) {                               \
    return typed<int32_t>(info.Env(), info[i], name, napi_int32_array, false);                    \
  }                                                                                                \
  Array<float> optional_f32_array(Info info, size_t i, const char* name) {                        \
    return typed<float>(info.Env(), info[i], name, napi_float32_array, true);                     \
  }                                                                                                \
  Array<int32_t> optional_i32_array(Info info, size_t i, const char* name) {                      \
    return typed<int32_t>(info.Env(), info[i], name, napi_int32_array, true);                     \
  }                                                                                                \
  Array<uint8_t> optional_u8_array(Info info, size_t i, const char* name) {                       \
    return typed<uint8_t>(info.Env(), info[i], name, napi_uint8_array, true);                     \
  }                                                                                                \
  int64_t int_arg(Info info, size_t i, const char* name, int64_t lo, int64_t hi) {                \
    return integer(info.Env(), info[i], name, lo, hi);                                             \
  }                                                                                                \
  double number_arg(Info info, size_t i, const char* name, bool allow_non_finite) {               \
    return number(info.Env(), info[i], name, allow_non_finite);                                    \
  }                                                                                                \
  bool bool_arg(Info info, size_t i, const char* name) { return boolean(info.Env(), info[i], name); }

DQ_ARRAY_HELPERS(const Napi::CallbackInfo&)
DQ_ARRAY_HELPERS(const Args&)
#undef DQ_ARRAY_HELPERS

napi_typedarray_type typed_array_type(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray()) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a TypedArray. Received " + describe(v));
  }
  return v.As<Napi::TypedArray>().TypedArrayType();
}

AnyArray any_typed_array(const Args& info, size_t i, const char* name) {
  AnyArray out;
  const napi_value v = info.raw(i);
  if (napi_get_typedarray_info(info.Env(), v, &out.type, &out.length, &out.data, nullptr, nullptr) != napi_ok) {
    throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a TypedArray. Received " +
                                     describe(info[i]));
  }
  if (out.data == nullptr) out.length = 0;  // detached
  out.value = info[i];
  return out;
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
  expect_length(env, name, actual, expected, formula.c_str(), exact);
}

void expect_length(Napi::Env env, const char* name, size_t actual, int64_t expected, const char* formula,
                   bool exact) {
  const bool ok = exact ? static_cast<int64_t>(actual) == expected : static_cast<int64_t>(actual) >= expected;
  if (!ok) {
    std::ostringstream os;
    os << "Expected " << name << ".length " << (exact ? "to equal " : "to be at least ") << expected << " ("
       << formula << "), received " << actual;
    throw_range_error(env, os.str(), kErrShape);
  }
}

int64_t matrix_extent(Napi::Env env, int64_t rows, int64_t cols, int64_t ld, const char* what) {
  if (rows == 0 || cols == 0) return 0;
  const int64_t body = checked_mul(env, rows - 1, ld, what);
  if (body > (int64_t{1} << 53) - cols) {
    throw_range_error(env, std::string("The size of ") + what + " is too large", kErrLimit);
  }
  return body + cols;
}

void expect_stride(Napi::Env env, const char* name, int64_t ld, int64_t row, const char* row_name) {
  if (ld < row) {
    std::ostringstream os;
    os << "The \"" << name << "\" argument must be >= " << row << " (" << row_name << "). Received " << ld;
    throw_range_error(env, os.str());
  }
}

void expect_no_overlap(Napi::Env env, const char* out_name, const void* out, size_t out_bytes, const char* in_name,
                       const void* in, size_t in_bytes) {
  if (overlaps(out, out_bytes, in, in_bytes)) {
    throw_range_error(env, std::string("The \"") + out_name + "\" argument must not share memory with \"" + in_name + "\"");
  }
}

float finite_f32_arg(const Args& info, size_t i, const char* name) {
  const double d = number_arg(info, i, name);
  const float f = static_cast<float>(d);
  if (!std::isfinite(f)) {
    std::ostringstream os;
    os << "The \"" << name << "\" argument must be finite as a float32. Received " << d;
    throw_range_error(info.Env(), os.str(), kErrNonFinite);
  }
  return f;
}

void* unwrap_tagged(napi_env env, napi_value v, const napi_type_tag& tag) {
  bool tagged = false;
  void* raw = nullptr;
  if (napi_unwrap(env, v, &raw) == napi_ok && raw != nullptr &&
      napi_check_object_type_tag(env, v, &tag, &tagged) == napi_ok && tagged) {
    return raw;
  }
  return nullptr;
}

std::string describe_handle(const Napi::Value& v, const char* cls) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) return "a TypedArray";
  if (v.IsArray()) return "an Array";
  if (v.IsFunction()) return "a function";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (!v.IsObject()) return "a non-object";
  return std::string("an object that is not a ") + cls;
}

void* unwrap_handle(const Args& info, size_t i, const char* name, const napi_type_tag& tag, const char* cls,
                    const char* factory) {
  if (void* raw = unwrap_tagged(info.Env(), info.raw(i), tag)) return raw;
  throw_type_error(info.Env(), std::string("The \"") + name + "\" argument must be a " + cls + " (from " + factory +
                                   "()). Received " + describe_handle(info[i], cls));
}

void expect_packed_for(Napi::Env env, Isa packed, Isa active, const char* family, const char* remedy) {
  if (packed == active) return;
  throw_range_error(env,
                    std::string("The \"packed\" argument holds weights packed for the \"") + isa_name(packed) +
                        "\" kernel, but the active " + family + " kernel is \"" + isa_name(active) + "\"; " + remedy,
                    kErrPacked);
}

}  // namespace distiq::addon
