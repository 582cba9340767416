// gemmF32 / gemmF32Async: C = alpha·op(A)·op(B) + beta·C (native/include/distiq/gemm_f32.h), row-major with
// leading dimensions; packWeightsF32 / gemmF32Packed / gemmF32PackedAsync: the same product with op(B) packed once
// (packed_weights_f32.h). JS signatures (lib/ops/gemm-f32.ts):
//   gemmF32(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
//   packWeightsF32(b, k, n, ldb, transB) → PackedWeightsF32 (op(B) is [k, n])
//   gemmF32Packed(transA, m, alpha, a, lda, packed, beta, c, ldc)   (n and k are the packed ones)
// Every argument is re-checked here (the TS wrapper checked first): booleans are booleans, dims are integers ≥ 0,
// each leading dimension covers its stored row, each array holds at least (rows − 1)·ld + cols elements
// (overflow-checked), alpha/beta are finite as float32, and C shares no memory with A or B (the kernel writes C
// while still reading A and B). Packed weights must come from the kernel that is active now (else
// ERR_DISTIQ_PACKED_MISMATCH: pack again).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "args.h"
#include "distiq/gemm_f32.h"
#include "distiq/kernels.h"
#include "families.h"
#include "packed_weights_f32.h"
#include "promise_worker.h"

namespace distiq::addon {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;  // far beyond any array; keeps the products below in range

// Per-env state shared by the family's functions: the PackedWeightsF32 constructor.
struct FamilyData {
  Napi::FunctionReference packed_ctor;
};

struct GemmF32Call {
  GemmF32Args args;
  const GemmF32Kernel* kernel = nullptr;  // the active kernel (a packed B: its packing kernel, checked to be it)
  Napi::Value a, b, c;                    // kept alive by the async form (b: the array or the packed object)
};

// The checks shared by both forms once g's dims, strides and B are known: A and C extents and overlap.
void check_a_c(Napi::Env env, GemmF32Call& call, const Array<float>& a, const Array<float>& c, const void* b_data,
               int64_t b_need) {
  GemmF32Args& g = call.args;
  const int64_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
  expect_stride(env, "lda", g.lda, a_cols, g.trans_a ? "m, since transA" : "k");
  expect_stride(env, "ldc", g.ldc, g.n, "n");
  const int64_t a_need = matrix_extent(env, a_rows, a_cols, g.lda, "a");
  const int64_t c_need = matrix_extent(env, g.m, g.n, g.ldc, "c");
  // A and B are only read when the product is non-empty; C whenever it has elements.
  const bool reads_ab = g.m > 0 && g.n > 0 && g.k > 0;
  expect_length(env, "a", a.length, reads_ab ? a_need : 0, g.trans_a ? "(k-1)*lda+m" : "(m-1)*lda+k");
  expect_length(env, "c", c.length, c_need, "(m-1)*ldc+n");
  if (reads_ab) {
    expect_no_overlap(env, "c", c.data, static_cast<size_t>(c_need) * 4, "a", a.data, static_cast<size_t>(a_need) * 4);
    expect_no_overlap(env, "c", c.data, static_cast<size_t>(c_need) * 4, "b", b_data, static_cast<size_t>(b_need) * 4);
  }
  g.a = a.data;
  g.c = c.data;
  call.a = a.value;
  call.c = c.value;
}

// Checks a stored B ([n, ldb] when transposed, else [k, ldb]): the stride, and the length when it is read. Returns
// the floats B spans.
int64_t check_b(Napi::Env env, const Array<float>& b, int64_t k, int64_t n, int64_t ldb, bool trans_b, bool read) {
  const int64_t rows = trans_b ? n : k, cols = trans_b ? k : n;
  expect_stride(env, "ldb", ldb, cols, trans_b ? "k, since transB" : "n");
  const int64_t need = matrix_extent(env, rows, cols, ldb, "b");
  expect_length(env, "b", b.length, read ? need : 0, trans_b ? "(n-1)*ldb+k" : "(k-1)*ldb+n");
  return need;
}

GemmF32Call parse(const Args& info, const char* fn) {
  Napi::Env env = info.Env();
  expect_count(info, 13, fn);
  GemmF32Call call;
  GemmF32Args& g = call.args;
  g.trans_a = bool_arg(info, 0, "transA");
  g.trans_b = bool_arg(info, 1, "transB");
  g.m = int_arg(info, 2, "m", 0, kMaxDim);
  g.n = int_arg(info, 3, "n", 0, kMaxDim);
  g.k = int_arg(info, 4, "k", 0, kMaxDim);
  g.alpha = finite_f32_arg(info, 5, "alpha");
  const Array<float> a = f32_array(info, 6, "a");
  g.lda = int_arg(info, 7, "lda", 0, kMaxDim);
  const Array<float> b = f32_array(info, 8, "b");
  g.ldb = int_arg(info, 9, "ldb", 0, kMaxDim);
  g.beta = finite_f32_arg(info, 10, "beta");
  const Array<float> c = f32_array(info, 11, "c");
  g.ldc = int_arg(info, 12, "ldc", 0, kMaxDim);

  // Stored shapes: A is [k, lda] when transposed, else [m, lda]; B as in check_b.
  const int64_t b_need = check_b(env, b, g.k, g.n, g.ldb, g.trans_b, g.m > 0 && g.n > 0 && g.k > 0);
  check_a_c(env, call, a, c, b.data, b_need);
  g.b = b.data;
  call.b = b.value;
  call.kernel = active_kernels().gemm_f32;  // the level active at call time
  return call;
}

GemmF32Call parse_packed(const Args& info, const char* fn) {
  Napi::Env env = info.Env();
  expect_count(info, 9, fn);
  GemmF32Call call;
  GemmF32Args& g = call.args;
  g.trans_a = bool_arg(info, 0, "transA");
  g.m = int_arg(info, 1, "m", 0, kMaxDim);
  g.alpha = finite_f32_arg(info, 2, "alpha");
  const Array<float> a = f32_array(info, 3, "a");
  g.lda = int_arg(info, 4, "lda", 0, kMaxDim);
  const PackedF32 packed = unwrap_packed_f32(info, 5, "packed")->view();
  g.beta = finite_f32_arg(info, 6, "beta");
  const Array<float> c = f32_array(info, 7, "c");
  g.ldc = int_arg(info, 8, "ldc", 0, kMaxDim);
  const GemmF32Kernel* active = active_kernels().gemm_f32;
  expect_packed_for(env, packed.kernel->isa, active->isa, "fp32 GEMM", "pack them again");
  g.n = packed.n;
  g.k = packed.k;
  check_a_c(env, call, a, c, packed.data, static_cast<int64_t>(gemm_f32_packed_floats(*active, g.k, g.n)));
  gemm_f32_use_packed(*active, packed.data, &g);
  call.b = info[5];
  call.kernel = active;
  return call;
}

Napi::Value run_sync(const Args& info, const GemmF32Call& call, const char* fn) {
  const Status s = gemm_f32(*call.kernel, call.args);
  if (s != Status::kOk) throw_status(info.Env(), s, fn);
  return info.Env().Undefined();
}

Napi::Value run_async(const Args& info, const GemmF32Call& call, const char* fn) {
  const GemmF32Kernel* kernel = call.kernel;
  const GemmF32Args args = call.args;
  auto* worker = new PromiseWorker(info.Env(), fn, [kernel, args] { return gemm_f32(*kernel, args); });
  worker->keep(call.a);
  worker->keep(call.b);
  worker->keep(call.c);
  return worker->start();
}

Napi::Value PackWeightsF32(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 5, "packWeightsF32");
  const Array<float> b = f32_array(info, 0, "b");
  const int64_t k = int_arg(info, 1, "k", 0, kMaxDim);
  const int64_t n = int_arg(info, 2, "n", 0, kMaxDim);
  const int64_t ldb = int_arg(info, 3, "ldb", 0, kMaxDim);
  const bool trans_b = bool_arg(info, 4, "transB");
  check_b(env, b, k, n, ldb, trans_b, k > 0 && n > 0);
  checked_mul(env, k, n + 64, "the packed weights");  // throws if the padded k·n is beyond any buffer
  const FamilyData& data = *static_cast<const FamilyData*>(info.Data());
  return PackedWeightsF32::create(env, data.packed_ctor, *active_kernels().gemm_f32, trans_b, k, n, b.data, ldb);
}

Napi::Value GemmF32(const Args& info) { return run_sync(info, parse(info, "gemmF32"), "gemmF32"); }
Napi::Value GemmF32Async(const Args& info) {
  return run_async(info, parse(info, "gemmF32Async"), "gemmF32Async");
}
Napi::Value GemmF32Packed(const Args& info) {
  return run_sync(info, parse_packed(info, "gemmF32Packed"), "gemmF32Packed");
}
Napi::Value GemmF32PackedAsync(const Args& info) {
  return run_async(info, parse_packed(info, "gemmF32PackedAsync"), "gemmF32PackedAsync");
}

}  // namespace

void init_gemm_f32(Napi::Env env, Napi::Object exports) {
  auto* data = new FamilyData();
  data->packed_ctor = Napi::Persistent(PackedWeightsF32::define(env));
  env.AddCleanupHook([data] { delete data; });
  exports.Set("gemmF32", fast_function<GemmF32>(env, "gemmF32"));
  exports.Set("gemmF32Async", fast_function<GemmF32Async>(env, "gemmF32Async"));
  exports.Set("packWeightsF32", fast_function<PackWeightsF32>(env, "packWeightsF32", data));
  exports.Set("gemmF32Packed", fast_function<GemmF32Packed>(env, "gemmF32Packed"));
  exports.Set("gemmF32PackedAsync", fast_function<GemmF32PackedAsync>(env, "gemmF32PackedAsync"));
}

}  // namespace distiq::addon
