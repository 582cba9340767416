// Argument conversion and checking for the N-API bindings (the second, non-negotiable check: the TS layer
// validates first with friendlier messages). Every failure throws a JS TypeError/RangeError/Error carrying a
// `code` that matches lib/errors.ts, and names the argument, what was expected and what was received.
#pragma once

#include <napi.h>

#include <cstdint>
#include <exception>
#include <new>
#include <string>

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq::addon {

// Error codes shared with lib/errors.ts.
constexpr const char* kErrArgType = "ERR_DISTIQ_INVALID_ARG_TYPE";    // TypeError
constexpr const char* kErrArgValue = "ERR_DISTIQ_INVALID_ARG_VALUE";  // RangeError
constexpr const char* kErrShape = "ERR_DISTIQ_SHAPE_MISMATCH";        // RangeError
constexpr const char* kErrLimit = "ERR_DISTIQ_LIMIT_EXCEEDED";        // RangeError
constexpr const char* kErrNonFinite = "ERR_DISTIQ_NON_FINITE";        // RangeError
constexpr const char* kErrPacked = "ERR_DISTIQ_PACKED_MISMATCH";      // RangeError
constexpr const char* kErrIsa = "ERR_DISTIQ_ISA";                     // RangeError
constexpr const char* kErrOom = "ERR_DISTIQ_OUT_OF_MEMORY";           // Error
constexpr const char* kErrInternal = "ERR_DISTIQ_INTERNAL";           // Error

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& message, const char* code = kErrArgType);
[[noreturn]] void throw_range_error(Napi::Env env, const std::string& message, const char* code = kErrArgValue);
[[noreturn]] void throw_error(Napi::Env env, const std::string& message, const char* code);
// Builds (does not throw) the JS error for a failed kernel status; `what` names the op, e.g. "gemmS8".
Napi::Error status_error(Napi::Env env, Status status, const std::string& what);
[[noreturn]] void throw_status(Napi::Env env, Status status, const std::string& what);

// A typed array argument, checked for its element type. `data` points at the first element (byteOffset applied).
template <typename T>
struct Array {
  T* data = nullptr;
  size_t length = 0;      // elements
  Napi::Value value;      // the JS object, to keep alive across async work
  bool present() const { return data != nullptr || length != 0 || !value.IsEmpty(); }
};

// The arguments of a binding registered with fast_function(): read once into a stack array (Napi::CallbackInfo
// heap-allocates beyond 6 arguments) and exposing the subset of CallbackInfo the bindings use, so every helper
// below has an overload for either. Missing arguments read as undefined.
class Args {
 public:
  static constexpr size_t kMax = 16;
  Args(napi_env env, napi_callback_info cb);
  Napi::Env Env() const { return Napi::Env(env_); }
  size_t Length() const { return argc_; }
  void* Data() const { return data_; }
  Napi::Value operator[](size_t i) const { return Napi::Value(env_, raw(i)); }
  napi_value raw(size_t i) const;

 private:
  napi_env env_;
  size_t argc_ = kMax;
  napi_value argv_[kMax];
  void* data_ = nullptr;
};

namespace detail {
// Runs F, turning a thrown Napi::Error into a pending JS exception as node-addon-api does, and any other C++
// exception into an Error with a code (std::bad_alloc: ERR_DISTIQ_OUT_OF_MEMORY, else ERR_DISTIQ_INTERNAL).
napi_value settle_exception(napi_env env, const Napi::Error* error, const char* what, const char* code);
template <Napi::Value (*F)(const Args&)>
napi_value fast_callback(napi_env env, napi_callback_info cb) {
  try {
    const Args args(env, cb);
    return F(args);
  } catch (const Napi::Error& e) {
    return settle_exception(env, &e, nullptr, nullptr);
  } catch (const std::bad_alloc&) {
    return settle_exception(env, nullptr, "out of memory", kErrOom);
  } catch (const std::exception& e) {
    return settle_exception(env, nullptr, e.what(), kErrInternal);
  }
}
Napi::Function make_function(Napi::Env env, const char* name, napi_callback cb, void* data);
}  // namespace detail

// A JS function calling F(args) directly through N-API (no CallbackInfo, no std::function): the hot bindings use it.
template <Napi::Value (*F)(const Args&)>
Napi::Function fast_function(Napi::Env env, const char* name, void* data = nullptr) {
  return detail::make_function(env, name, &detail::fast_callback<F>, data);
}

void expect_count(const Napi::CallbackInfo& info, size_t count, const char* fn);
void expect_count(const Args& info, size_t count, const char* fn);

Array<float> f32_array(const Napi::CallbackInfo& info, size_t i, const char* name);
Array<int8_t> i8_array(const Napi::CallbackInfo& info, size_t i, const char* name);
Array<uint8_t> u8_array(const Napi::CallbackInfo& info, size_t i, const char* name);
Array<int32_t> i32_array(const Napi::CallbackInfo& info, size_t i, const char* name);
// null/undefined → an absent Array (data == nullptr, value empty).
Array<float> optional_f32_array(const Napi::CallbackInfo& info, size_t i, const char* name);
Array<int32_t> optional_i32_array(const Napi::CallbackInfo& info, size_t i, const char* name);
Array<uint8_t> optional_u8_array(const Napi::CallbackInfo& info, size_t i, const char* name);
// Any of the given element types; `type` receives which one it was.
napi_typedarray_type typed_array_type(const Napi::CallbackInfo& info, size_t i, const char* name);

// An integer-valued Number in [lo, hi].
int64_t int_arg(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t lo, int64_t hi);
// A finite Number (or any Number when allow_non_finite).
double number_arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool allow_non_finite = false);
bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* name);

// The same checks on one value; each costs one N-API call when the argument is valid.
Array<float> f32_array(const Args& info, size_t i, const char* name);
Array<int8_t> i8_array(const Args& info, size_t i, const char* name);
Array<uint8_t> u8_array(const Args& info, size_t i, const char* name);
Array<int32_t> i32_array(const Args& info, size_t i, const char* name);
Array<float> optional_f32_array(const Args& info, size_t i, const char* name);
Array<int32_t> optional_i32_array(const Args& info, size_t i, const char* name);
Array<uint8_t> optional_u8_array(const Args& info, size_t i, const char* name);
int64_t int_arg(const Args& info, size_t i, const char* name, int64_t lo, int64_t hi);
double number_arg(const Args& info, size_t i, const char* name, bool allow_non_finite = false);
bool bool_arg(const Args& info, size_t i, const char* name);
// A Number that is finite once rounded to float32 (else a RangeError ERR_DISTIQ_NON_FINITE naming the argument).
float finite_f32_arg(const Args& info, size_t i, const char* name);
// A TypedArray of any element type: its type, first element (byteOffset applied; null when detached) and length.
struct AnyArray {
  napi_typedarray_type type;
  void* data = nullptr;
  size_t length = 0;  // elements
  Napi::Value value;
};
AnyArray any_typed_array(const Args& info, size_t i, const char* name);
// "Int8Array", "Float32Array", … for messages.
const char* typed_array_name(napi_typedarray_type t);

// Opaque handle arguments (PackedWeights*): the native object wrapped in `v` when it carries the N-API type tag
// `tag` (each handle class tags an instance only in create(), after packing, so a tagged, wrapped object is a
// complete instance), else nullptr. Never throws: napi_unwrap fails quietly on a non-object, and the tag is read
// only from a wrapped object (napi_check_object_type_tag would throw for null/undefined).
void* unwrap_tagged(napi_env env, napi_value v, const napi_type_tag& tag);
// The "Received ..." part of a handle argument's TypeError: "undefined", "null", "a TypedArray", "an Array",
// "a function", "a number", "a string", "a boolean", "an object that is not a <cls>", "a non-object".
std::string describe_handle(const Napi::Value& v, const char* cls);
// unwrap_tagged, or a TypeError (ERR_DISTIQ_INVALID_ARG_TYPE) 'The "<name>" argument must be a <cls> (from
// <factory>()). Received <describe_handle>'.
void* unwrap_handle(const Args& info, size_t i, const char* name, const napi_type_tag& tag, const char* cls,
                    const char* factory);

// a·b with overflow → RangeError naming `what`.
int64_t checked_mul(Napi::Env env, int64_t a, int64_t b, const char* what);
// Throws a RangeError "Expected <name>.length to be at least/equal <expected> (<formula>), received <actual>".
void expect_length(Napi::Env env, const char* name, size_t actual, int64_t expected, const char* formula,
                   bool exact = false);
void expect_length(Napi::Env env, const char* name, size_t actual, int64_t expected, const std::string& formula,
                   bool exact = false);
// Elements a row-major matrix of `rows` rows of `cols` with row stride `ld` spans: (rows − 1)·ld + cols (0 when
// empty); a RangeError (ERR_DISTIQ_LIMIT_EXCEEDED) naming `what` beyond 2^53.
int64_t matrix_extent(Napi::Env env, int64_t rows, int64_t cols, int64_t ld, const char* what);
// Throws a RangeError "The "<name>" argument must be >= <row> (<row_name>). Received <ld>" when ld < row.
void expect_stride(Napi::Env env, const char* name, int64_t ld, int64_t row, const char* row_name);
// Throws a RangeError when the byte ranges of `out` and `in` overlap.
void expect_no_overlap(Napi::Env env, const char* out_name, const void* out, size_t out_bytes, const char* in_name,
                       const void* in, size_t in_bytes);
// Throws a RangeError (ERR_DISTIQ_PACKED_MISMATCH) when weights packed for the `packed` level meet the `active`
// <family> kernel: "The "packed" argument holds weights packed for the "<packed>" kernel, but the active <family>
// kernel is "<active>"; <remedy>".
void expect_packed_for(Napi::Env env, Isa packed, Isa active, const char* family, const char* remedy);

}  // namespace distiq::addon
