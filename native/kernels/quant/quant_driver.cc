// Drivers of the quantization family: validate geometry and parameters, split the flat element range over the
// thread pool, and turn the kernels' NaN / non-finite counts into Status::kNonFinite.
//
// Splits never change results: quantize/dequantize/fake-quant are elementwise (int4 ranges are cut only at
// multiples of row_len, so no two chunks share a byte); min/max either gives each chunk disjoint parameter slots
// (per-group: whole outer rows) or per-chunk partial arrays merged in chunk order (exact: min/max of finite floats
// does not depend on order once −0 is folded into +0, which the driver does for every ISA alike).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "distiq/quant.h"
#include "distiq/threadpool.h"

namespace distiq {
namespace {

constexpr int64_t kGrainElements = int64_t{1} << 16;  // elements per chunk (≈ 256 KiB of float input)

bool is_4bit(QType t) { return t == QType::kS4 || t == QType::kU4; }

bool type_range(QType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case QType::kS8: *lo = -128; *hi = 127; return true;
    case QType::kU8: *lo = 0; *hi = 255; return true;
    case QType::kS4: *lo = -8; *hi = 7; return true;
    case QType::kU4: *lo = 0; *hi = 15; return true;
  }
  return false;
}

// outer·channels·inner, or −1 for negative dims / overflow / a group that is not allowed.
int64_t element_count(const QuantGeometry& g) {
  if (g.outer < 0 || g.channels < 0 || g.inner < 0 || g.group < 0) return -1;
  if (g.group > 0 && g.inner != 1) return -1;
  int64_t oc = 0, n = 0;
  if (__builtin_mul_overflow(g.outer, g.channels, &oc) || __builtin_mul_overflow(oc, g.inner, &n)) return -1;
  return n;
}

// Everything quantize / dequantize / fake-quant share: geometry, element type range, parameters.
// Every scale finite and > 0, every zero point inside [qmin, qmax]. Branch-free so the compiler vectorizes it:
// per-group parameters can number half the elements.
bool params_valid(const QuantArgs& a, int64_t params) {
  int bad = 0;
  constexpr float kMax = std::numeric_limits<float>::max();
  for (int64_t p = 0; p < params; ++p) {
    const float s = a.scales[p];
    bad |= static_cast<int>(!(s > 0.0f)) | static_cast<int>(!(s <= kMax));  // NaN fails both
  }
  if (a.zero_points != nullptr) {
    for (int64_t p = 0; p < params; ++p) {
      const int32_t z = a.zero_points[p];
      bad |= static_cast<int>(z < a.qmin) | static_cast<int>(z > a.qmax);
    }
  }
  return bad == 0;
}

// Fake-quant has no storage type (needs_q false): its [qmin, qmax] may be any 8-bit range, i.e. within [−128, 255].
Status check_args(const QuantArgs& a, bool needs_q, int64_t* count_out) {
  const int64_t count = element_count(a.geo);
  if (count < 0) return Status::kInvalidArgument;
  int32_t lo = -128, hi = 255;
  if (needs_q && !type_range(a.type, &lo, &hi)) return Status::kInvalidArgument;
  if (a.qmin > a.qmax || a.qmin < lo || a.qmax > hi) return Status::kInvalidArgument;
  if (needs_q && is_4bit(a.type) && quant_storage_bytes(a.type, count, a.row_len) < 0) return Status::kInvalidArgument;
  const int64_t params = quant_param_count(a.geo);
  if (params < 0) return Status::kInvalidArgument;
  if (count > 0 && (a.scales == nullptr || a.x == nullptr)) return Status::kInvalidArgument;
  if (count > 0 && !params_valid(a, params)) return Status::kInvalidArgument;
  if (!a.zero_points && (0 < a.qmin || 0 > a.qmax) && count > 0) return Status::kInvalidArgument;  // z = 0 must fit
  *count_out = count;
  return Status::kOk;
}

// QuantArgs::inv_scales for the divider-free quotient: RN(1/s) per slot, when every scale lies in the exact range
// and runs average at least 32 elements (params ≤ count / 32). With shorter runs (small groups, small inner) the
// kernels gather s, 1/s and z per lane and the FMA path measured slower than the divider (group 7, in L2:
// avx512 10.3 → 7.3 GB/s), so they divide. Whatever a caller put there is ignored.
QuantArgs with_reciprocals(const QuantArgs& args, int64_t count, std::vector<float>* store) {
  QuantArgs a = args;
  a.inv_scales = nullptr;
  const int64_t params = quant_param_count(a.geo);
  if (params <= 0 || params > count / 32) return a;
  int outside = 0;
  for (int64_t p = 0; p < params; ++p) {
    const float s = a.scales[p];
    outside |= static_cast<int>(!(s >= kQuantExactMinScale)) | static_cast<int>(!(s <= kQuantExactMaxScale));
  }
  if (outside != 0) return a;
  store->resize(static_cast<size_t>(params));
  for (int64_t p = 0; p < params; ++p) (*store)[static_cast<size_t>(p)] = 1.0f / a.scales[p];
  a.inv_scales = store->data();
  return a;
}

// Runs fn(e0, e1) over [0, count), cutting only at multiples of `unit` elements.
template <typename Fn>
void split(int64_t count, int64_t unit, Fn&& fn) {
  const int64_t units = count / unit;
  const int64_t grain = std::max<int64_t>(1, kGrainElements / unit);
  parallel_for(units, grain, [&](int64_t u0, int64_t u1) { fn(u0 * unit, u1 * unit); });
}

}  // namespace

int64_t quant_param_count(const QuantGeometry& g) noexcept {
  if (element_count(g) < 0) return -1;
  if (g.group <= 0) return g.channels;
  return g.outer * ((g.channels + g.group - 1) / g.group);  // ≤ outer·channels, no overflow
}

int64_t quant_storage_bytes(QType type, int64_t count, int64_t row_len) noexcept {
  if (count < 0) return -1;
  if (!is_4bit(type)) return count;
  if (row_len <= 0 || count % row_len != 0) return -1;
  return (count / row_len) * ((row_len + 1) / 2);
}

Status quantize(const QuantKernel& kernel, const QuantArgs& args) noexcept {
  int64_t count = 0;
  const Status st = check_args(args, true, &count);
  if (st != Status::kOk) return st;
  if (count == 0) return Status::kOk;
  if (args.q == nullptr) return Status::kInvalidArgument;
  std::atomic<int64_t> nans{0};
  try {
    std::vector<float> inv;
    const QuantArgs a = with_reciprocals(args, count, &inv);
    split(count, is_4bit(args.type) ? args.row_len : 1, [&](int64_t e0, int64_t e1) {
      const int64_t n = kernel.quantize(a, e0, e1);
      if (n != 0) nans.fetch_add(n, std::memory_order_relaxed);
    });
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return nans.load() != 0 ? Status::kNonFinite : Status::kOk;
}

Status dequantize(const QuantKernel& kernel, const QuantArgs& args) noexcept {
  int64_t count = 0;
  const Status st = check_args(args, true, &count);
  if (st != Status::kOk) return st;
  if (count == 0) return Status::kOk;
  if (args.q == nullptr) return Status::kInvalidArgument;
  try {
    split(count, is_4bit(args.type) ? args.row_len : 1,
          [&](int64_t e0, int64_t e1) { kernel.dequantize(args, e0, e1); });
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

Status fake_quantize(const QuantKernel& kernel, const QuantArgs& args) noexcept {
  int64_t count = 0;
  const Status st = check_args(args, false, &count);
  if (st != Status::kOk) return st;
  if (count == 0) return Status::kOk;
  if (args.y == nullptr) return Status::kInvalidArgument;
  std::atomic<int64_t> nans{0};
  try {
    std::vector<float> inv;
    const QuantArgs a = with_reciprocals(args, count, &inv);
    split(count, 1, [&](int64_t e0, int64_t e1) {
      const int64_t n = kernel.fake_quant(a, e0, e1);
      if (n != 0) nans.fetch_add(n, std::memory_order_relaxed);
    });
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return nans.load() != 0 ? Status::kNonFinite : Status::kOk;
}

Status min_max(const QuantKernel& kernel, const float* x, const QuantGeometry& geo, float* mins, float* maxs) noexcept {
  const int64_t count = element_count(geo);
  const int64_t params = quant_param_count(geo);
  if (count < 0 || params < 0) return Status::kInvalidArgument;
  if (params > 0 && (mins == nullptr || maxs == nullptr)) return Status::kInvalidArgument;
  if (count > 0 && x == nullptr) return Status::kInvalidArgument;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  std::fill(mins, mins + params, kInf);
  std::fill(maxs, maxs + params, -kInf);
  if (count == 0) return Status::kOk;
  std::atomic<int64_t> bad{0};
  try {
    if (geo.group > 0 || (geo.outer == 1 && geo.channels > 1)) {
      // Per-group: whole outer rows own disjoint parameter slots; per-channel with outer == 1: whole channels
      // (runs of `inner`) do. Either way chunks write straight into mins/maxs.
      const int64_t unit = geo.group > 0 ? geo.channels : geo.inner;
      split(count, unit, [&](int64_t e0, int64_t e1) {
        const int64_t n = kernel.minmax(x, geo, e0, e1, mins, maxs);
        if (n != 0) bad.fetch_add(n, std::memory_order_relaxed);
      });
    } else {
      // Per-channel / per-tensor: slots are shared across outer rows → one partial array per chunk, merged in
      // chunk order. Chunk 0 folds straight into the outputs. Partials cost `params` floats each, so they are
      // used only while that stays small next to the chunk's data.
      int64_t chunks = std::clamp<int64_t>(count / kGrainElements, 1, get_num_threads());
      while (chunks > 1 && params > count / chunks / 4) --chunks;
      std::vector<float> pmin(static_cast<size_t>((chunks - 1) * params), kInf);
      std::vector<float> pmax(static_cast<size_t>((chunks - 1) * params), -kInf);
      parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t e0 = count / chunks * c + std::min(c, count % chunks);
          const int64_t e1 = e0 + count / chunks + (c < count % chunks ? 1 : 0);
          float* lo = c == 0 ? mins : pmin.data() + (c - 1) * params;
          float* hi = c == 0 ? maxs : pmax.data() + (c - 1) * params;
          const int64_t n = kernel.minmax(x, geo, e0, e1, lo, hi);
          if (n != 0) bad.fetch_add(n, std::memory_order_relaxed);
        }
      });
      for (int64_t c = 1; c < chunks; ++c) {
        const float* lo = pmin.data() + (c - 1) * params;
        const float* hi = pmax.data() + (c - 1) * params;
        for (int64_t p = 0; p < params; ++p) {
          if (lo[p] < mins[p]) mins[p] = lo[p];
          if (hi[p] > maxs[p]) maxs[p] = hi[p];
        }
      }
    }
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  // −0 and +0 compare equal, so which one a reduction keeps depends on order; report zeros as +0 everywhere.
  for (int64_t p = 0; p < params; ++p) {
    mins[p] += 0.0f;
    maxs[p] += 0.0f;
  }
  return bad.load() != 0 ? Status::kNonFinite : Status::kOk;
}

}  // namespace distiq
