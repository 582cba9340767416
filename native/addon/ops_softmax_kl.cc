// Bindings of the softmax family (lib/native.ts): softmaxKl, softmaxKlAsync, softmax.
//   softmaxKl(student, rows, cols, teacher|null, topkIndex|null, topkLogits|null, topk, labels|null,
//             temperature, alpha, loss, grad|null, gradScale)
//   softmax(x, rows, cols, out, log)          out may be x itself (in place), never a partial overlap
// Every argument is re-checked here (types, lengths against the shape with overflow-checked math, ranges of
// labels and top-k indices, finite temperature > 0, α ∈ [0, 1], outputs not sharing memory with inputs) because
// a wrong length would let the kernel read or write out of bounds.
#include <napi.h>

#include <cmath>
#include <sstream>
#include <string>

#include "args.h"
#include "distiq/kernels.h"
#include "distiq/softmax_kl.h"
#include "families.h"
#include "promise_worker.h"

namespace distiq::addon {
namespace {

constexpr int64_t kMaxDim = int64_t{1} << 40;
constexpr const char* kNonFiniteDetail =
    "a row holds a NaN or +Infinity logit, or all of its logits are -Infinity";

// The checked call, ready to run on any thread: raw pointers and numbers only.
struct SoftmaxKlCall {
  SoftmaxKlArgs args;
  std::vector<Napi::Value> keep;
};

template <typename T>
size_t bytes(const Array<T>& a) {
  return a.length * sizeof(T);
}

void expect_indices(Napi::Env env, const char* name, const int32_t* v, int64_t n, int64_t cols) {
  for (int64_t i = 0; i < n; ++i) {
    if (v[i] < 0 || v[i] >= cols) {
      std::ostringstream os;
      os << "Expected every element of \"" << name << "\" to be an integer in [0, " << cols - 1 << "] (cols = " << cols
         << "); " << name << "[" << i << "] is " << v[i];
      throw_range_error(env, os.str());
    }
  }
}

SoftmaxKlCall parse_softmax_kl(const Args& info, const char* fn) {
  Napi::Env env = info.Env();
  expect_count(info, 13, fn);
  const Array<float> student = f32_array(info, 0, "student");
  const int64_t rows = int_arg(info, 1, "rows", 0, kMaxDim);
  const int64_t cols = int_arg(info, 2, "cols", 0, kMaxDim);
  const Array<float> teacher = optional_f32_array(info, 3, "teacher");
  const Array<int32_t> topk_index = optional_i32_array(info, 4, "topkIndex");
  const Array<float> topk_logits = optional_f32_array(info, 5, "topkLogits");
  const int64_t topk = int_arg(info, 6, "topk", 0, kMaxDim);
  const Array<int32_t> labels = optional_i32_array(info, 7, "labels");
  const double temperature = number_arg(info, 8, "temperature");
  const double alpha = number_arg(info, 9, "alpha");
  const Array<float> loss = f32_array(info, 10, "loss");
  const Array<float> grad = optional_f32_array(info, 11, "grad");
  const double grad_scale = number_arg(info, 12, "gradScale");

  if (rows > 0 && cols < 1) throw_range_error(env, "The \"cols\" argument must be >= 1 when rows > 0. Received 0");
  const int64_t n = checked_mul(env, rows, cols, "student (rows x cols)");
  if (!(temperature > 0.0) || !std::isfinite(static_cast<float>(temperature)) ||
      !(static_cast<float>(temperature) > 0.0f)) {
    std::ostringstream os;
    os << "The \"temperature\" argument must be a finite float32 > 0. Received " << temperature;
    throw_range_error(env, os.str());
  }
  if (!(alpha >= 0.0 && alpha <= 1.0)) {
    std::ostringstream os;
    os << "The \"alpha\" argument must be in [0, 1]. Received " << alpha;
    throw_range_error(env, os.str());
  }
  if (!std::isfinite(static_cast<float>(grad_scale))) {
    std::ostringstream os;
    os << "The \"gradScale\" argument must be a finite float32. Received " << grad_scale;
    throw_range_error(env, os.str(), kErrNonFinite);
  }

  expect_length(env, "student", student.length, n, "rows*cols", true);
  if (teacher.present()) expect_length(env, "teacher", teacher.length, n, "rows*cols", true);
  const bool sparse = topk_index.present() || topk_logits.present();
  if (sparse) {
    if (teacher.present()) {
      throw_type_error(env, "The \"teacher\" argument must be null when a top-k teacher (topkIndex, topkLogits) is "
                            "given. Received Float32Array");
    }
    if (!topk_index.present()) throw_type_error(env, "The \"topkIndex\" argument must be an Int32Array. Received null");
    if (!topk_logits.present()) {
      throw_type_error(env, "The \"topkLogits\" argument must be a Float32Array. Received null");
    }
    if (rows > 0 && (topk < 1 || topk > cols)) {
      std::ostringstream os;
      os << "The \"topk\" argument must be an integer in [1, cols = " << cols << "]. Received " << topk;
      throw_range_error(env, os.str());
    }
    const int64_t nk = checked_mul(env, rows, topk, "topk (rows x topk)");
    expect_length(env, "topkIndex", topk_index.length, nk, "rows*topk", true);
    expect_length(env, "topkLogits", topk_logits.length, nk, "rows*topk", true);
    expect_indices(env, "topkIndex", topk_index.data, nk, cols);
  } else if (topk != 0) {
    std::ostringstream os;
    os << "The \"topk\" argument must be 0 without a top-k teacher. Received " << topk;
    throw_range_error(env, os.str());
  }
  if (labels.present()) {
    expect_length(env, "labels", labels.length, rows, "rows", true);
    expect_indices(env, "labels", labels.data, rows, cols);
  }
  expect_length(env, "loss", loss.length, rows, "rows", true);
  if (grad.present()) expect_length(env, "grad", grad.length, n, "rows*cols", true);

  // Outputs never share memory with an input or with each other.
  const struct {
    const char* name;
    const void* p;
    size_t b;
  } inputs[] = {{"student", student.data, bytes(student)},       {"teacher", teacher.data, bytes(teacher)},
                {"topkIndex", topk_index.data, bytes(topk_index)}, {"topkLogits", topk_logits.data, bytes(topk_logits)},
                {"labels", labels.data, bytes(labels)}};
  for (const auto& in : inputs) {
    expect_no_overlap(env, "loss", loss.data, bytes(loss), in.name, in.p, in.b);
    expect_no_overlap(env, "grad", grad.data, bytes(grad), in.name, in.p, in.b);
  }
  expect_no_overlap(env, "grad", grad.data, bytes(grad), "loss", loss.data, bytes(loss));

  SoftmaxKlCall call;
  SoftmaxKlArgs& a = call.args;
  a.rows = rows;
  a.cols = cols;
  a.student = student.data;
  a.teacher = teacher.present() ? teacher.data : nullptr;
  a.topk_index = sparse ? topk_index.data : nullptr;
  a.topk_logits = sparse ? topk_logits.data : nullptr;
  a.topk = sparse ? topk : 0;
  a.labels = labels.present() ? labels.data : nullptr;
  a.temperature = static_cast<float>(temperature);
  a.alpha = static_cast<float>(alpha);
  a.loss = loss.data;
  a.grad = grad.present() ? grad.data : nullptr;
  a.grad_scale = static_cast<float>(grad_scale);
  if (rows == 0) {  // nothing to read or write; empty arrays may have null data
    a.student = nullptr;
  }
  call.keep = {student.value, teacher.value, topk_index.value, topk_logits.value, labels.value, loss.value, grad.value};
  return call;
}

Napi::Value SoftmaxKl(const Args& info) {
  const SoftmaxKlCall call = parse_softmax_kl(info, "softmaxKl");
  if (call.args.rows == 0) return info.Env().Undefined();
  const Status st = softmax_kl(*active_kernels().softmax, call.args);
  if (st != Status::kOk) {
    if (st == Status::kNonFinite) throw_range_error(info.Env(), std::string("softmaxKl: ") + kNonFiniteDetail, kErrNonFinite);
    throw_status(info.Env(), st, "softmaxKl");
  }
  return info.Env().Undefined();
}

Napi::Value SoftmaxKlAsync(const Args& info) {
  const SoftmaxKlCall call = parse_softmax_kl(info, "softmaxKlAsync");
  const SoftmaxKernel* kernel = active_kernels().softmax;  // the level active when the call was made
  const SoftmaxKlArgs args = call.args;
  auto* worker = new PromiseWorker(info.Env(), "softmaxKlAsync",
                                   [kernel, args]() { return args.rows == 0 ? Status::kOk : softmax_kl(*kernel, args); });
  for (const Napi::Value& v : call.keep) worker->keep(v);
  return worker->start();
}

Napi::Value Softmax(const Args& info) {
  Napi::Env env = info.Env();
  expect_count(info, 5, "softmax");
  const Array<float> x = f32_array(info, 0, "x");
  const int64_t rows = int_arg(info, 1, "rows", 0, kMaxDim);
  const int64_t cols = int_arg(info, 2, "cols", 0, kMaxDim);
  const Array<float> out = f32_array(info, 3, "out");
  const bool log = bool_arg(info, 4, "log");
  if (rows > 0 && cols < 1) throw_range_error(env, "The \"cols\" argument must be >= 1 when rows > 0. Received 0");
  const int64_t n = checked_mul(env, rows, cols, "x (rows x cols)");
  expect_length(env, "x", x.length, n, "rows*cols", true);
  expect_length(env, "out", out.length, n, "rows*cols", true);
  if (out.data != x.data) expect_no_overlap(env, "out", out.data, bytes(out), "x", x.data, bytes(x));
  if (rows == 0) return env.Undefined();
  const Status st = softmax(*active_kernels().softmax, x.data, rows, cols, out.data, log);
  if (st != Status::kOk) {
    if (st == Status::kNonFinite) throw_range_error(env, std::string("softmax: ") + kNonFiniteDetail, kErrNonFinite);
    throw_status(env, st, "softmax");
  }
  return env.Undefined();
}

}  // namespace

void init_softmax(Napi::Env env, Napi::Object exports) {
  exports.Set("softmaxKl", fast_function<SoftmaxKl>(env, "softmaxKl"));
  exports.Set("softmaxKlAsync", fast_function<SoftmaxKlAsync>(env, "softmaxKlAsync"));
  exports.Set("softmax", fast_function<Softmax>(env, "softmax"));
}

}  // namespace distiq::addon
