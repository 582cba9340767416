// gemmF32 / gemmF32Async: C = alpha·op(A)·op(B) + beta·C (native/include/distiq/gemm_f32.h), row-major with
// leading dimensions. JS signature (lib/native.ts):
//   (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
// Every argument is re-checked here (the TS wrapper checked first): booleans are booleans, dims are integers ≥ 0,
// each leading dimension covers its stored row, each array holds at least (rows − 1)·ld + cols elements
// (overflow-checked), alpha/beta are finite as float32, and C shares no memory with A or B (the kernel writes C
// while still reading A and B).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "args.h"
#include "distiq/gemm_f32.h"
#include "distiq/kernels.h"
#include "families.h"
#include "promise_worker.h"

namespace distiq::addon {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;  // far beyond any array; keeps the products below in range

struct GemmF32Call {
  GemmF32Args args;
  Napi::Value a, b, c;  // kept alive by the async form
};

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

  // Stored shapes: A is [k, lda] when transposed, else [m, lda]; B is [n, ldb] when transposed, else [k, ldb].
  const int64_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
  const int64_t b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
  expect_stride(env, "lda", g.lda, a_cols, g.trans_a ? "m, since transA" : "k");
  expect_stride(env, "ldb", g.ldb, b_cols, g.trans_b ? "k, since transB" : "n");
  expect_stride(env, "ldc", g.ldc, g.n, "n");
  const int64_t a_need = matrix_extent(env, a_rows, a_cols, g.lda, "a");
  const int64_t b_need = matrix_extent(env, b_rows, b_cols, g.ldb, "b");
  const int64_t c_need = matrix_extent(env, g.m, g.n, g.ldc, "c");
  // A and B are only read when the product is non-empty; C whenever it has elements.
  const bool reads_ab = g.m > 0 && g.n > 0 && g.k > 0;
  expect_length(env, "a", a.length, reads_ab ? a_need : 0,
                g.trans_a ? "(k-1)*lda+m" : "(m-1)*lda+k");
  expect_length(env, "b", b.length, reads_ab ? b_need : 0,
                g.trans_b ? "(n-1)*ldb+k" : "(k-1)*ldb+n");
  expect_length(env, "c", c.length, c_need, "(m-1)*ldc+n");
  if (reads_ab) {
    expect_no_overlap(env, "c", c.data, static_cast<size_t>(c_need) * 4, "a", a.data, static_cast<size_t>(a_need) * 4);
    expect_no_overlap(env, "c", c.data, static_cast<size_t>(c_need) * 4, "b", b.data, static_cast<size_t>(b_need) * 4);
  }
  g.a = a.data;
  g.b = b.data;
  g.c = c.data;
  call.a = a.value;
  call.b = b.value;
  call.c = c.value;
  return call;
}

Napi::Value GemmF32(const Args& info) {
  const GemmF32Call call = parse(info, "gemmF32");
  const Status s = gemm_f32(*active_kernels().gemm_f32, call.args);
  if (s != Status::kOk) throw_status(info.Env(), s, "gemmF32");
  return info.Env().Undefined();
}

Napi::Value GemmF32Async(const Args& info) {
  const GemmF32Call call = parse(info, "gemmF32Async");
  const GemmF32Kernel* kernel = active_kernels().gemm_f32;  // the level active at call time
  const GemmF32Args args = call.args;
  auto* worker = new PromiseWorker(info.Env(), "gemmF32Async", [kernel, args] { return gemm_f32(*kernel, args); });
  worker->keep(call.a);
  worker->keep(call.b);
  worker->keep(call.c);
  return worker->start();
}

}  // namespace

void init_gemm_f32(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmF32", fast_function<GemmF32>(env, "gemmF32"));
  exports.Set("gemmF32Async", fast_function<GemmF32Async>(env, "gemmF32Async"));
}

}  // namespace distiq::addon
