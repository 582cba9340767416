// Quantization family: every ISA level this CPU runs vs the reference, BIT-EXACT (integer codes, float outputs,
// STE masks, min/max), through the drivers, for all four element types × per-tensor / per-channel (first, middle,
// last axis) / per-group (short last group) × symmetric / asymmetric, lengths around every vector width, extreme
// values, NaN / Inf policy, driver validation, thread-count independence, and hand-computed known answers for the
// reference itself.
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "distiq/kernels.h"
#include "distiq/quant.h"
#include "distiq/threadpool.h"
#include "harness.h"

using distiq::Isa;
using distiq::QType;
using distiq::QuantArgs;
using distiq::QuantGeometry;
using distiq::QuantKernel;
using distiq::Status;

namespace {

constexpr QType kTypes[] = {QType::kS8, QType::kU8, QType::kS4, QType::kU4};
constexpr size_t kGuard = 64;
constexpr uint8_t kSentinel = 0xA5;

const char* type_name(QType t) {
  switch (t) {
    case QType::kS8: return "s8";
    case QType::kU8: return "u8";
    case QType::kS4: return "s4";
    case QType::kU4: return "u4";
  }
  return "?";
}

void type_range(QType t, int32_t* lo, int32_t* hi) {
  switch (t) {
    case QType::kS8: *lo = -128; *hi = 127; break;
    case QType::kU8: *lo = 0; *hi = 255; break;
    case QType::kS4: *lo = -8; *hi = 7; break;
    case QType::kU4: *lo = 0; *hi = 15; break;
  }
}

// A byte buffer with sentinel guards on both sides and a start that is not vector-aligned (byteOffset ≠ 0 in JS
// terms). `align` is the element size: a JS TypedArray's byteOffset is always a multiple of it, so a float view
// starts 4 bytes in and a byte view 1 byte in.
struct Guarded {
  std::vector<uint8_t> bytes;
  size_t size, offset;
  explicit Guarded(size_t n, size_t align = 1)
      : bytes(n + 2 * kGuard + 2 * align, kSentinel), size(n), offset(kGuard + align) {}
  uint8_t* data() { return bytes.data() + offset; }
  bool guards_ok() const {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (i >= offset && i < offset + size) continue;
      if (bytes[i] != kSentinel) return false;
    }
    return true;
  }
};

// A float array at a misaligned address (4 bytes past the heap block's start) that ends exactly where its
// allocation ends, so an overread past the last element is a heap overflow under ASan.
struct Floats {
  std::vector<float> store;
  size_t n;
  explicit Floats(size_t count) : store(count + 1, 0.0f), n(count) {}
  float* data() { return store.data() + 1; }
};

// One test case: a shape and a granularity, converted to geometry exactly as lib/ops/quantize.ts does.
struct Case {
  std::vector<int64_t> shape;
  int kind;  // 0 per-tensor, 1 per-channel, 2 per-group
  int axis = 0;
  int64_t group = 0;
  std::string describe() const {
    std::string s = "shape [";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    s += kind == 0 ? "] per-tensor" : kind == 1 ? "] per-channel axis " + std::to_string(axis)
                                                : "] per-group g=" + std::to_string(group);
    return s;
  }
  QuantGeometry geometry() const {
    QuantGeometry g;
    const int last = static_cast<int>(shape.size()) - 1;
    auto prod = [&](int from, int to) {
      int64_t p = 1;
      for (int i = from; i < to; ++i) p *= shape[i];
      return p;
    };
    if (kind == 0) {
      g.outer = prod(0, last);
      g.channels = 1;
      g.inner = shape[last];
    } else if (kind == 1) {
      g.outer = prod(0, axis);
      g.channels = shape[axis];
      g.inner = prod(axis + 1, last + 1);
    } else {
      g.outer = prod(0, last);
      g.channels = shape[last];
      g.inner = 1;
      g.group = group;
    }
    return g;
  }
  int64_t row_len() const { return shape.back(); }
  int64_t count() const {
    int64_t p = 1;
    for (auto d : shape) p *= d;
    return p;
  }
};

std::vector<Case> catalogue() {
  std::vector<Case> cases;
  std::vector<int64_t> lengths;
  for (int64_t n = 1; n <= 70; ++n) lengths.push_back(n);
  for (int64_t n : {127, 129, 1000}) lengths.push_back(n);
  for (int64_t n : lengths) {
    cases.push_back({{n}, 0});
    cases.push_back({{3, n}, 0});
    cases.push_back({{3, n}, 1, 1});  // per-channel, last axis
    cases.push_back({{n, 5}, 1, 0});  // per-channel, first axis
    // group sizes below, at and around the walker's thresholds (2W and 4W for W = 8 and 16)
    for (int64_t g : {1, 2, 3, 7, 17, 32, 33, 47}) cases.push_back({{2, n}, 2, 0, g});
  }
  cases.push_back({{4, 37, 19}, 1, 1});  // middle axis
  cases.push_back({{2, 5, 64}, 1, 1});
  cases.push_back({{3, 17, 1}, 1, 1});
  cases.push_back({{7, 3, 33}, 1, 0});
  cases.push_back({{5, 7, 3, 9}, 1, 2});
  cases.push_back({{64, 300}, 1, 0});   // weight-like
  cases.push_back({{300, 64}, 1, 1});   // last-axis channels
  cases.push_back({{9, 257}, 2, 0, 32});
  cases.push_back({{9, 257}, 2, 0, 128});
  cases.push_back({{9, 257}, 2, 0, 257});
  return cases;
}

// Inputs: a mix of in-range values, saturating values, exact ties, and the extremes the contract names.
void fill_x(dqtest::Rng& rng, float* x, int64_t n, const std::vector<float>& scales, const QuantGeometry& g,
            int32_t span) {
  const float specials[] = {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            3.0e38f, -3.0e38f, 1.0e-40f, -1.0e-40f, -0.0f, 0.0f,
                            std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()};
  for (int64_t e = 0; e < n; ++e) {
    // The element's own scale, so ties are exact multiples of it.
    const int64_t ci = e / g.inner, c = ci % g.channels;
    const int64_t p = g.group > 0 ? (ci / g.channels) * ((g.channels + g.group - 1) / g.group) + c / g.group : c;
    const float s = scales[p];
    const uint32_t r = rng.next() % 16;
    if (r == 0) {
      x[e] = specials[rng.next() % (sizeof(specials) / sizeof(specials[0]))];
    } else if (r <= 3) {
      x[e] = (static_cast<float>(rng.uniform_int(-span, span)) + 0.5f) * s;  // .5 ties (exact when s = 2^k)
    } else if (r <= 5) {
      x[e] = rng.uniform(-2.0f, 2.0f) * static_cast<float>(span) * s;  // saturating
    } else {
      x[e] = rng.uniform(-0.6f, 0.6f) * static_cast<float>(span) * s;
    }
  }
}

struct Params {
  std::vector<float> scales;
  std::vector<int32_t> zps;
};

Params make_params(dqtest::Rng& rng, int64_t count, QType t, bool asym, int32_t qmin, int32_t qmax) {
  Params p;
  p.scales.resize(static_cast<size_t>(count));
  for (auto& s : p.scales) {
    const uint32_t r = rng.next() % 8;
    if (r == 0) s = std::ldexp(1.0f, rng.uniform_int(-12, 4));  // powers of two: exact ties
    else if (r == 1) s = 1.0e-30f;                               // x / s overflows for large x
    else s = rng.uniform(1.0e-3f, 2.0f);
  }
  if (asym) {
    p.zps.resize(static_cast<size_t>(count));
    for (auto& z : p.zps) z = rng.uniform_int(qmin, qmax);
  }
  (void)t;
  return p;
}

bool same_bits(const float* a, const float* b, int64_t n, int64_t* where) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t ua, ub;
    std::memcpy(&ua, a + i, 4);
    std::memcpy(&ub, b + i, 4);
    if (ua != ub) {
      *where = i;
      return false;
    }
  }
  return true;
}

int64_t first_diff(const uint8_t* a, const uint8_t* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return -1;
}

// Runs every op of `level` and of ref on the same inputs and compares everything.
void check_case(const QuantKernel& ref, const QuantKernel& simd, const Case& c, QType t, bool asym, uint64_t seed) {
  dqtest::Rng rng(seed);
  const QuantGeometry g = c.geometry();
  const int64_t n = c.count();
  const int64_t params = distiq::quant_param_count(g);
  int32_t lo, hi;
  type_range(t, &lo, &hi);
  // Symmetric schemes use the negation-safe range for signed types (DESIGN §3).
  const int32_t qmin = (!asym && (t == QType::kS8 || t == QType::kS4)) ? lo + 1 : lo;
  const int32_t qmax = hi;
  Params p = make_params(rng, params, t, asym, qmin, qmax);
  if (!asym && (t == QType::kU8 || t == QType::kU4)) {  // unsigned symmetric = zero point 0 (qmin = 0)
  }
  Floats xs(static_cast<size_t>(n));
  float* x = xs.data();
  fill_x(rng, x, n, p.scales, g, hi - lo);
  const std::string what = std::string(simd.name_quantize) + " " + type_name(t) + (asym ? " asym " : " sym ") +
                           c.describe() + " seed " + std::to_string(seed);

  QuantArgs a;
  a.geo = g;
  a.row_len = c.row_len();
  a.type = t;
  a.qmin = qmin;
  a.qmax = qmax;
  a.scales = p.scales.data();
  a.zero_points = asym ? p.zps.data() : nullptr;
  const int64_t bytes = distiq::quant_storage_bytes(t, n, a.row_len);
  DQ_CHECK(bytes >= 0, what);

  // quantize
  Guarded q_ref(static_cast<size_t>(bytes)), q_simd(static_cast<size_t>(bytes));
  a.x = x;
  a.q = q_ref.data();
  const Status s_ref = distiq::quantize(ref, a);
  a.q = q_simd.data();
  const Status s_simd = distiq::quantize(simd, a);
  DQ_CHECK(s_ref == Status::kOk && s_simd == Status::kOk, what << " status " << int(s_ref) << "/" << int(s_simd));
  const int64_t d = first_diff(q_ref.data(), q_simd.data(), bytes);
  DQ_CHECK(d < 0, what << " quantize byte " << d << ": ref " << int(q_ref.data()[d < 0 ? 0 : d]) << " simd "
                       << int(q_simd.data()[d < 0 ? 0 : d]) << " x " << x[d < 0 ? 0 : d]);
  DQ_CHECK(q_ref.guards_ok() && q_simd.guards_ok(), what << " quantize wrote outside its output");

  // dequantize (from the ref codes, copied to an exactly sized heap block: overreads trip ASan)
  Guarded y_ref(static_cast<size_t>(n) * 4, 4), y_simd(static_cast<size_t>(n) * 4, 4);
  std::vector<uint8_t> codes(q_ref.data(), q_ref.data() + bytes);
  a.q = codes.data();
  a.x = reinterpret_cast<float*>(y_ref.data());
  DQ_CHECK(distiq::dequantize(ref, a) == Status::kOk, what);
  a.x = reinterpret_cast<float*>(y_simd.data());
  DQ_CHECK(distiq::dequantize(simd, a) == Status::kOk, what);
  int64_t w = -1;
  DQ_CHECK(same_bits(reinterpret_cast<float*>(y_ref.data()), reinterpret_cast<float*>(y_simd.data()), n, &w),
           what << " dequantize element " << w);
  DQ_CHECK(y_ref.guards_ok() && y_simd.guards_ok(), what << " dequantize wrote outside its output");

  // fake-quant: y and mask
  Guarded f_ref(static_cast<size_t>(n) * 4, 4), f_simd(static_cast<size_t>(n) * 4, 4);
  Guarded m_ref(static_cast<size_t>(n)), m_simd(static_cast<size_t>(n));
  a.x = x;
  a.y = reinterpret_cast<float*>(f_ref.data());
  a.mask = m_ref.data();
  DQ_CHECK(distiq::fake_quantize(ref, a) == Status::kOk, what);
  a.y = reinterpret_cast<float*>(f_simd.data());
  a.mask = m_simd.data();
  DQ_CHECK(distiq::fake_quantize(simd, a) == Status::kOk, what);
  DQ_CHECK(same_bits(reinterpret_cast<float*>(f_ref.data()), reinterpret_cast<float*>(f_simd.data()), n, &w),
           what << " fake-quant element " << w);
  DQ_CHECK(first_diff(m_ref.data(), m_simd.data(), n) < 0, what << " fake-quant mask");
  DQ_CHECK(f_ref.guards_ok() && f_simd.guards_ok() && m_ref.guards_ok() && m_simd.guards_ok(),
           what << " fake-quant wrote outside its outputs");
  // fake-quant == dequantize(quantize(x)) in the reference
  DQ_CHECK(same_bits(reinterpret_cast<float*>(f_ref.data()), reinterpret_cast<float*>(y_ref.data()), n, &w),
           what << " ref fake-quant differs from dequantize(quantize) at " << w);
  // mask without output buffer
  a.mask = nullptr;
  DQ_CHECK(distiq::fake_quantize(simd, a) == Status::kOk, what);

  // min/max on a finite copy of x (non-finite inputs are rejected)
  std::vector<float> finite(x, x + n);
  for (auto& v : finite)
    if (!std::isfinite(v)) v = rng.uniform(-5.0f, 5.0f);
  Floats mm(static_cast<size_t>(4 * params));
  float* lo_ref = mm.data();
  float* hi_ref = lo_ref + params;
  float* lo_simd = hi_ref + params;
  float* hi_simd = lo_simd + params;
  DQ_CHECK(distiq::min_max(ref, finite.data(), g, lo_ref, hi_ref) == Status::kOk, what);
  DQ_CHECK(distiq::min_max(simd, finite.data(), g, lo_simd, hi_simd) == Status::kOk, what);
  DQ_CHECK(same_bits(lo_ref, lo_simd, params, &w), what << " min slot " << w);
  DQ_CHECK(same_bits(hi_ref, hi_simd, params, &w), what << " max slot " << w);
}

const QuantKernel& ref_kernel() { return distiq::quant_ref(); }

std::vector<const QuantKernel*> simd_kernels() {
  std::vector<const QuantKernel*> out;
  for (Isa level : distiq::supported_isas()) {
    const QuantKernel* k = distiq::kernels_for(level).quant;
    if (k->isa == Isa::kRef) continue;
    bool seen = false;
    for (auto* o : out) seen = seen || o == k;
    if (!seen) out.push_back(k);
  }
  return out;
}

QuantArgs simple_args(const float* x, void* q, const float* scales, const int32_t* zps, int64_t n, QType t) {
  QuantArgs a;
  a.geo.inner = n;
  a.row_len = n;
  a.type = t;
  type_range(t, &a.qmin, &a.qmax);
  a.scales = scales;
  a.zero_points = zps;
  a.x = x;
  a.q = q;
  return a;
}

}  // namespace

DQ_TEST("quant: ref known answers (ties to even, zero point, saturation, int4 nibbles)") {
  const QuantKernel& ref = ref_kernel();
  const float inf = std::numeric_limits<float>::infinity();
  const float x[] = {2.5f, -2.5f, 3.5f, 0.5f, -0.5f, 1.49f, 1000.0f, -1000.0f, inf, -inf, -0.0f};
  const int8_t want_s8[] = {2, -2, 4, 0, 0, 1, 127, -128, 127, -128, 0};
  const float one = 1.0f;
  int8_t q[11];
  QuantArgs a = simple_args(x, q, &one, nullptr, 11, QType::kS8);
  DQ_CHECK(distiq::quantize(ref, a) == Status::kOk, "");
  for (int i = 0; i < 11; ++i) DQ_CHECK(q[i] == want_s8[i], "element " << i << " got " << int(q[i]));
  // u8 with zero point 10 and scale 0.5: v = nearbyint(x / 0.5) + 10
  const float x2[] = {0.0f, 1.25f, -5.0f, -6.0f, 200.0f};
  const uint8_t want_u8[] = {10, 12, 0, 0, 255};  // 1.25/0.5 = 2.5 → 2; −10+10 = 0; −12+10 → clamp 0
  const float half = 0.5f;
  const int32_t z10 = 10;
  uint8_t qu[5];
  a = simple_args(x2, qu, &half, &z10, 5, QType::kU8);
  DQ_CHECK(distiq::quantize(ref, a) == Status::kOk, "");
  for (int i = 0; i < 5; ++i) DQ_CHECK(qu[i] == want_u8[i], "u8 element " << i << " got " << int(qu[i]));
  // s4, a row of 3: [1, −1, 7] → bytes 0xF1, 0x07 (pad nibble 0); two rows of 3.
  const float x3[] = {1.0f, -1.0f, 9.0f, -9.0f, 0.0f, 2.5f};
  uint8_t q4[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  a = simple_args(x3, q4, &one, nullptr, 6, QType::kS4);
  a.row_len = 3;
  DQ_CHECK(distiq::quantize(ref, a) == Status::kOk, "");
  DQ_CHECK(q4[0] == 0xF1 && q4[1] == 0x07 && q4[2] == 0x08 && q4[3] == 0x02,
           "s4 bytes " << int(q4[0]) << " " << int(q4[1]) << " " << int(q4[2]) << " " << int(q4[3]));
  // dequantize the same bytes back: [1, −1, 7, −8, 0, 2]
  float back[6];
  a.x = back;
  DQ_CHECK(distiq::dequantize(ref, a) == Status::kOk, "");
  const float want_back[] = {1, -1, 7, -8, 0, 2};
  for (int i = 0; i < 6; ++i) DQ_CHECK(back[i] == want_back[i], "s4 dequant " << i << " got " << back[i]);
  // fake-quant mask: in range ⇔ qmin ≤ v ≤ qmax
  float y[6];
  uint8_t mask[6];
  a.x = x3;
  a.y = y;
  a.mask = mask;
  DQ_CHECK(distiq::fake_quantize(ref, a) == Status::kOk, "");
  const uint8_t want_mask[] = {1, 1, 0, 0, 1, 1};
  for (int i = 0; i < 6; ++i) DQ_CHECK(mask[i] == want_mask[i] && y[i] == want_back[i], "fake-quant " << i);
}

DQ_TEST("quant: geometry helpers") {
  QuantGeometry g;
  g.outer = 3;
  g.channels = 10;
  g.group = 4;
  DQ_CHECK(distiq::quant_param_count(g) == 9, "3 rows × ceil(10/4)");
  g.group = 0;
  g.inner = 7;
  DQ_CHECK(distiq::quant_param_count(g) == 10, "per-channel");
  g.group = 2;  // group needs inner == 1
  DQ_CHECK(distiq::quant_param_count(g) < 0, "group with inner > 1");
  DQ_CHECK(distiq::quant_storage_bytes(QType::kS8, 15, 5) == 15, "8-bit");
  DQ_CHECK(distiq::quant_storage_bytes(QType::kU4, 15, 5) == 9, "3 rows × 3 bytes");
  DQ_CHECK(distiq::quant_storage_bytes(QType::kS4, 16, 16) == 8, "even rows");
  DQ_CHECK(distiq::quant_storage_bytes(QType::kS4, 15, 4) < 0, "row_len does not divide");
  DQ_CHECK(distiq::quant_storage_bytes(QType::kS4, 15, 0) < 0, "row_len 0");
}

DQ_TEST("quant: every ISA level vs ref, bit-exact (types × granularities × sym/asym × lengths)") {
  const QuantKernel& ref = ref_kernel();
  const auto cases = catalogue();
  for (const QuantKernel* k : simd_kernels()) {
    uint64_t seed = 1;
    for (const Case& c : cases) {
      for (QType t : kTypes) {
        for (bool asym : {false, true}) check_case(ref, *k, c, t, asym, seed++);
      }
    }
  }
}

DQ_TEST("quant: NaN input → kNonFinite for quantize and fake-quant; min/max rejects NaN and ±Inf") {
  std::vector<const QuantKernel*> all = simd_kernels();
  all.push_back(&ref_kernel());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const QuantKernel* k : all) {
    for (int64_t n : {1, 7, 16, 33, 1000}) {
      for (int64_t pos : {int64_t{0}, n / 2, n - 1}) {
        for (QType t : kTypes) {
          std::vector<float> x(static_cast<size_t>(n), 0.25f);
          x[static_cast<size_t>(pos)] = nan;
          std::vector<uint8_t> q(static_cast<size_t>(n));
          const float s = 0.1f;
          QuantArgs a = simple_args(x.data(), q.data(), &s, nullptr, n, t);
          DQ_CHECK(distiq::quantize(*k, a) == Status::kNonFinite, k->name_quantize << " n " << n << " pos " << pos);
          std::vector<float> y(static_cast<size_t>(n));
          a.y = y.data();
          DQ_CHECK(distiq::fake_quantize(*k, a) == Status::kNonFinite, k->name_fake_quant << " n " << n);
          // ±Inf alone saturates and is fine
          x[static_cast<size_t>(pos)] = -inf;
          DQ_CHECK(distiq::quantize(*k, a) == Status::kOk, k->name_quantize << " -Inf n " << n);
        }
        for (float bad : {nan, inf, -inf}) {
          std::vector<float> x(static_cast<size_t>(n), 1.0f);
          x[static_cast<size_t>(pos)] = bad;
          QuantGeometry g;
          g.outer = 1;
          g.channels = 1;
          g.inner = n;
          float lo, hi;
          DQ_CHECK(distiq::min_max(*k, x.data(), g, &lo, &hi) == Status::kNonFinite, k->name_minmax << " " << bad);
        }
      }
    }
  }
}

DQ_TEST("quant: min/max per granularity matches a direct computation; zeros come back as +0") {
  dqtest::Rng rng(77);
  std::vector<const QuantKernel*> all = simd_kernels();
  all.push_back(&ref_kernel());
  for (const QuantKernel* k : all) {
    for (const Case& c : {Case{{6, 35}, 0}, Case{{6, 35}, 1, 0}, Case{{6, 35}, 1, 1}, Case{{6, 35}, 2, 0, 8},
                          Case{{4, 5, 21}, 1, 1}}) {
      const QuantGeometry g = c.geometry();
      const int64_t n = c.count(), params = distiq::quant_param_count(g);
      std::vector<float> x(static_cast<size_t>(n));
      for (auto& v : x) v = rng.uniform(-3.0f, 3.0f);
      x[3] = -0.0f;
      std::vector<float> want_lo(static_cast<size_t>(params), INFINITY), want_hi(static_cast<size_t>(params), -INFINITY);
      for (int64_t e = 0; e < n; ++e) {
        const int64_t ci = e / g.inner, ch = ci % g.channels;
        const int64_t p = g.group > 0 ? (ci / g.channels) * ((g.channels + g.group - 1) / g.group) + ch / g.group : ch;
        want_lo[p] = std::min(want_lo[p], x[e]);
        want_hi[p] = std::max(want_hi[p], x[e]);
      }
      std::vector<float> lo(static_cast<size_t>(params)), hi(static_cast<size_t>(params));
      DQ_CHECK(distiq::min_max(*k, x.data(), g, lo.data(), hi.data()) == Status::kOk, c.describe());
      for (int64_t p = 0; p < params; ++p) {
        DQ_CHECK(lo[p] == want_lo[p] && hi[p] == want_hi[p], k->name_minmax << " " << c.describe() << " slot " << p);
        DQ_CHECK(!std::signbit(lo[p]) || lo[p] != 0.0f, "−0 min reported");
      }
    }
  }
}

DQ_TEST("quant: results do not depend on the thread count (large tensors)") {
  std::vector<const QuantKernel*> all = simd_kernels();
  all.push_back(&ref_kernel());
  const int before = distiq::get_num_threads();
  dqtest::Rng rng(5);
  const int64_t rows = 301, cols = 1001;  // > 4 chunks of 65536; odd rows for int4
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (auto& v : x) v = rng.uniform(-4.0f, 4.0f);
  std::vector<float> scales(static_cast<size_t>(rows));
  std::vector<int32_t> zps(static_cast<size_t>(rows));
  for (auto& s : scales) s = rng.uniform(0.01f, 0.1f);
  for (auto& z : zps) z = rng.uniform_int(-3, 3);
  for (const QuantKernel* k : all) {
    for (QType t : {QType::kS8, QType::kS4}) {
      QuantArgs a;
      a.geo.outer = 1;
      a.geo.channels = rows;
      a.geo.inner = cols;
      a.row_len = cols;
      a.type = t;
      type_range(t, &a.qmin, &a.qmax);
      a.scales = scales.data();
      a.zero_points = zps.data();
      a.x = x.data();
      const int64_t bytes = distiq::quant_storage_bytes(t, rows * cols, cols);
      std::vector<uint8_t> q1(static_cast<size_t>(bytes)), q4(static_cast<size_t>(bytes));
      distiq::set_num_threads(1);
      a.q = q1.data();
      DQ_CHECK(distiq::quantize(*k, a) == Status::kOk, "");
      distiq::set_num_threads(4);
      a.q = q4.data();
      DQ_CHECK(distiq::quantize(*k, a) == Status::kOk, "");
      DQ_CHECK(q1 == q4, k->name_quantize << " " << type_name(t) << " differs between 1 and 4 threads");
    }
    QuantGeometry g;
    g.outer = rows;
    g.channels = cols;
    std::vector<float> lo1(static_cast<size_t>(cols)), hi1(lo1), lo4(lo1), hi4(lo1);
    distiq::set_num_threads(1);
    DQ_CHECK(distiq::min_max(*k, x.data(), g, lo1.data(), hi1.data()) == Status::kOk, "");
    distiq::set_num_threads(4);
    DQ_CHECK(distiq::min_max(*k, x.data(), g, lo4.data(), hi4.data()) == Status::kOk, "");
    DQ_CHECK(lo1 == lo4 && hi1 == hi4, k->name_minmax << " differs between 1 and 4 threads");
    // outer == 1 (channels own disjoint slots) and per-group (rows own disjoint slots)
    for (int64_t group : {int64_t{0}, int64_t{7}}) {
      QuantGeometry h;
      h.outer = group > 0 ? rows : 1;
      h.channels = group > 0 ? cols : rows;
      h.inner = group > 0 ? 1 : cols;
      h.group = group;
      const auto slots = static_cast<size_t>(distiq::quant_param_count(h));
      std::vector<float> a1(slots), b1(slots), a4(slots), b4(slots);
      distiq::set_num_threads(1);
      DQ_CHECK(distiq::min_max(*k, x.data(), h, a1.data(), b1.data()) == Status::kOk, "");
      distiq::set_num_threads(4);
      DQ_CHECK(distiq::min_max(*k, x.data(), h, a4.data(), b4.data()) == Status::kOk, "");
      DQ_CHECK(a1 == a4 && b1 == b4, k->name_minmax << " group " << group << " differs between 1 and 4 threads");
      // and equals a direct scalar computation
      bool same = true;
      for (int64_t e = 0; e < rows * cols; ++e) {
        const int64_t ci = e / h.inner, ch = ci % h.channels;
        const int64_t p = group > 0 ? (ci / h.channels) * ((h.channels + group - 1) / group) + ch / group : ch;
        same = same && a1[p] <= x[e] && b1[p] >= x[e];
      }
      DQ_CHECK(same, k->name_minmax << " group " << group << " is not a bound of its slot");
    }
  }
  distiq::set_num_threads(before);
}

DQ_TEST("quant: drivers reject bad geometry and parameters with kInvalidArgument") {
  const QuantKernel& k = *distiq::active_kernels().quant;
  float x[12] = {};
  uint8_t q[12] = {};
  float y[12];
  float scales[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  int32_t zps[4] = {0, 0, 0, 0};
  auto base = [&] {
    QuantArgs a = simple_args(x, q, scales, nullptr, 12, QType::kS8);
    a.y = y;
    return a;
  };
  auto expect_invalid = [&](QuantArgs a, const char* why) {
    DQ_CHECK(distiq::quantize(k, a) == Status::kInvalidArgument, "quantize: " << why);
    DQ_CHECK(distiq::dequantize(k, a) == Status::kInvalidArgument, "dequantize: " << why);
  };
  QuantArgs a = base();
  DQ_CHECK(distiq::quantize(k, a) == Status::kOk, "baseline");
  a = base(); a.geo.inner = -1; expect_invalid(a, "negative dim");
  a = base(); a.geo.outer = 3; a.geo.inner = 4; a.geo.group = 2; expect_invalid(a, "group with inner > 1");
  a = base(); a.geo.outer = int64_t{1} << 40; a.geo.inner = int64_t{1} << 40; expect_invalid(a, "overflow");
  a = base(); a.qmin = 5; a.qmax = 4; expect_invalid(a, "qmin > qmax");
  a = base(); a.qmin = -129; expect_invalid(a, "qmin below the type");
  a = base(); a.type = QType::kS4; a.qmin = -8; a.qmax = 8; expect_invalid(a, "qmax above int4");
  a = base(); a.type = QType::kU4; a.qmin = 0; a.qmax = 15; a.row_len = 5; expect_invalid(a, "row_len ∤ count");
  a = base(); a.type = QType::kU4; a.qmin = 0; a.qmax = 15; a.row_len = 0; expect_invalid(a, "row_len 0");
  float bad_scale[3] = {0.0f, -1.0f, NAN};
  for (float s : bad_scale) {
    a = base();
    scales[0] = s;
    expect_invalid(a, "bad scale");
    DQ_CHECK(distiq::fake_quantize(k, a) == Status::kInvalidArgument, "fake-quant bad scale " << s);
    scales[0] = 0.5f;
  }
  a = base(); scales[0] = INFINITY; expect_invalid(a, "infinite scale"); scales[0] = 0.5f;
  a = base(); a.type = QType::kU8; a.qmin = 0; a.qmax = 255; a.zero_points = zps; zps[0] = 256;
  expect_invalid(a, "zero point above qmax");
  zps[0] = 0;
  a = base(); a.qmin = 1; expect_invalid(a, "null zero points (z = 0) outside [qmin, qmax]");
  a = base(); a.scales = nullptr; expect_invalid(a, "null scales");
  QuantGeometry g;
  g.outer = 2; g.channels = 3; g.inner = 2; g.group = 1;
  float lo[8], hi[8];
  DQ_CHECK(distiq::min_max(k, x, g, lo, hi) == Status::kInvalidArgument, "min/max group with inner > 1");
  // empty tensors are fine
  a = base(); a.geo.inner = 0; a.row_len = 1;
  DQ_CHECK(distiq::quantize(k, a) == Status::kOk, "empty");
}

DQ_TEST("quant: long rows and slices (≥ 2^22 elements, block-wise lane slots) match ref") {
  const QuantKernel& ref = ref_kernel();
  dqtest::Rng rng(99);
  const int64_t cols = 5 * 838863;  // ≥ 2^22: one per-group row, or one outer slice of 838863 channels × 5
  std::vector<float> x(static_cast<size_t>(cols));
  for (auto& v : x) v = rng.uniform(-3.0f, 3.0f);
  for (const QuantKernel* k : simd_kernels()) {
    for (int64_t group : {int64_t{3}, int64_t{0}}) {
      QuantArgs a;
      a.geo.outer = 1;
      a.geo.channels = group > 0 ? cols : cols / 5;
      a.geo.inner = group > 0 ? 1 : 5;
      a.geo.group = group;
      a.row_len = group > 0 ? cols : 5;
      a.type = QType::kS4;
      a.qmin = -8;
      a.qmax = 7;
      std::vector<float> scales(static_cast<size_t>(distiq::quant_param_count(a.geo)));
      std::vector<int32_t> zps(scales.size());
      for (auto& s : scales) s = rng.uniform(0.05f, 1.0f);
      for (auto& z : zps) z = rng.uniform_int(-8, 7);
      a.scales = scales.data();
      a.zero_points = zps.data();
      a.x = x.data();
      const auto bytes = static_cast<size_t>(distiq::quant_storage_bytes(a.type, cols, a.row_len));
      std::vector<uint8_t> q_ref(bytes), q_simd(bytes);
      a.q = q_ref.data();
      DQ_CHECK(distiq::quantize(ref, a) == Status::kOk, "");
      a.q = q_simd.data();
      DQ_CHECK(distiq::quantize(*k, a) == Status::kOk, "");
      DQ_CHECK(q_ref == q_simd, k->name_quantize << " group " << group << " long row differs from ref");
    }
  }
}

namespace {

// The divider-free quotient (QuantArgs::inv_scales, see docs/quantization.md): every kernel called directly with
// the reciprocals — so that path is certainly taken — and through the driver, against the reference, on inputs
// at and next to every rounding boundary, for scales across and just outside the exact range.
std::vector<float> boundary_scales(dqtest::Rng& rng) {
  const float lo = distiq::kQuantExactMinScale, hi = distiq::kQuantExactMaxScale;
  std::vector<float> s = {lo, std::nextafter(lo, 1.0f), hi, std::nextafter(hi, 0.0f), 1.0e-30f, 1.0f, 0.1f, 3.0f,
                          std::nextafter(1.0f, 0.0f), std::nextafter(1.0f, 2.0f), std::nextafter(2.0f, 0.0f),
                          std::ldexp(1.0f, -60), std::ldexp(1.0f, 60), 1.0f / 127.0f, 2.0f / 255.0f};
  for (int e = -100; e <= 99; e += 3) {
    s.push_back(std::ldexp(rng.uniform(1.0f, 2.0f), e));  // random significand in every few binades
    uint32_t all_ones = 0x3FFFFFFF;                          // significand 1.11…1 (2 − 2^−23)
    float m;
    std::memcpy(&m, &all_ones, 4);
    s.push_back(std::ldexp(m / 2.0f, e));
  }
  return s;
}

// x at and around the ties (n + ½)·s and the integers n·s (as float products, then ±1..3 ulps), near the ±4096·s
// clamp, far beyond it, ±Inf, zeros and subnormals.
std::vector<float> boundary_inputs(float s, int64_t span) {
  std::vector<float> x;
  auto around = [&](float v) {
    float lo = v, hi = v;
    x.push_back(v);
    for (int k = 0; k < 3; ++k) {
      lo = std::nextafter(lo, -std::numeric_limits<float>::infinity());
      hi = std::nextafter(hi, std::numeric_limits<float>::infinity());
      x.push_back(lo);
      x.push_back(hi);
    }
  };
  for (int64_t n = -span; n <= span; ++n) {
    around((static_cast<float>(n) + 0.5f) * s);
    around(static_cast<float>(n) * s);
  }
  for (float m : {4096.0f, -4096.0f, 4095.5f, -4095.5f, 1.0e6f, -1.0e6f, 0.25f, -0.25f, 0.125f}) around(m * s);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {inf, -inf, 0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), -1.0e-40f,
                  std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(), 1.0f, -1.0f}) {
    x.push_back(v);
  }
  return x;
}

// Quantize (s8, u8 with a zero point, s4) and fake-quant `x` with one scale; `direct` calls the kernel itself with
// inv_scales set, otherwise the driver decides. Returns a description of the first difference from ref, or "".
std::string compare_one_scale(const QuantKernel& k, const std::vector<float>& x, float s, bool direct) {
  const QuantKernel& ref = ref_kernel();
  const int64_t n = static_cast<int64_t>(x.size());
  const float inv = 1.0f / s;
  for (QType t : {QType::kS8, QType::kU8, QType::kS4}) {
    const int32_t z = t == QType::kU8 ? 131 : 0;
    const int64_t row = t == QType::kS4 ? 2 : n;  // even rows: the int4 flat range stays byte-aligned
    const int64_t m = n / row * row;
    std::vector<uint8_t> want(static_cast<size_t>(m)), got(static_cast<size_t>(m));
    QuantArgs a = simple_args(x.data(), want.data(), &s, t == QType::kU8 ? &z : nullptr, m, t);
    a.row_len = row;
    DQ_CHECK(distiq::quantize(ref, a) == Status::kOk, "ref");
    a.q = got.data();
    if (direct) {
      a.inv_scales = &inv;
      DQ_CHECK(k.quantize(a, 0, m) == 0, k.name_quantize << " reported NaN");
    } else {
      DQ_CHECK(distiq::quantize(k, a) == Status::kOk, k.name_quantize);
    }
    const int64_t d = first_diff(want.data(), got.data(), distiq::quant_storage_bytes(t, m, row));
    if (d >= 0) {
      std::ostringstream os;
      os << type_name(t) << " s " << s << " byte " << d << " ref " << int(want[d]) << " got " << int(got[d]);
      return os.str();
    }
  }
  std::vector<float> y_ref(x.size()), y(x.size());
  std::vector<uint8_t> m_ref(x.size()), m(x.size());
  QuantArgs a = simple_args(x.data(), nullptr, &s, nullptr, n, QType::kS8);
  a.qmin = -7;
  a.qmax = 100;
  a.y = y_ref.data();
  a.mask = m_ref.data();
  DQ_CHECK(distiq::fake_quantize(ref, a) == Status::kOk, "ref");
  a.y = y.data();
  a.mask = m.data();
  if (direct) {
    a.inv_scales = &inv;
    DQ_CHECK(k.fake_quant(a, 0, n) == 0, k.name_fake_quant << " reported NaN");
  } else {
    DQ_CHECK(distiq::fake_quantize(k, a) == Status::kOk, k.name_fake_quant);
  }
  int64_t w = -1;
  if (!same_bits(y_ref.data(), y.data(), n, &w) || m_ref != m) {
    std::ostringstream os;
    os << "fake-quant s " << s << " element " << w << " x " << x[w < 0 ? 0 : w];
    return os.str();
  }
  return "";
}

}  // namespace

DQ_TEST("quant: divider-free quotient matches ref at rounding boundaries, extreme scales, ±Inf, subnormals") {
  dqtest::Rng rng(31);
  const std::vector<float> scales = boundary_scales(rng);
  for (const QuantKernel* k : simd_kernels()) {
    int failures = 0;
    for (float s : scales) {
      const std::vector<float> x = boundary_inputs(s, 300);
      // Directly (the exact path) only inside its scale range; through the driver always (outside the range it
      // must fall back to the divider).
      const bool inside = s >= distiq::kQuantExactMinScale && s <= distiq::kQuantExactMaxScale;
      for (bool direct : {false, true}) {
        if (direct && !inside) continue;
        const std::string diff = compare_one_scale(*k, x, s, direct);
        DQ_CHECK(diff.empty() || failures > 5, k->name_quantize << (direct ? " (direct) " : " (driver) ") << diff);
        failures += diff.empty() ? 0 : 1;
      }
    }
    // Scales outside the range, through the driver (they take the divider): subnormal, tiny, huge.
    for (float s : {std::numeric_limits<float>::denorm_min(), 1.0e-38f, std::nextafter(distiq::kQuantExactMinScale, 0.0f),
                    std::nextafter(distiq::kQuantExactMaxScale, 1.0e38f), 1.0e35f, std::numeric_limits<float>::max()}) {
      const std::string diff = compare_one_scale(*k, boundary_inputs(s, 40), s, false);
      DQ_CHECK(diff.empty(), k->name_quantize << " outside the exact range: " << diff);
    }
  }
}

DQ_TEST("quant: divider-free quotient equals x / s for every float in [s/4, 2s) (3 binades, 2 scales)") {
  // The quantize codes of all 25 Mi floats in three binades around |x/s| = 1/4 .. 2 (the rounding boundaries 0.5 and
  // 1.5 are in there) against nearbyint(x / s) computed here, for one random and one all-ones significand.
  const QuantKernel& ref = ref_kernel();
  (void)ref;
  dqtest::Rng rng(47);
  uint32_t ones_bits = 0x3F7FFFFF;
  float ones;
  std::memcpy(&ones, &ones_bits, 4);
  for (float s : {rng.uniform(0.001f, 0.002f), ones * 0.03125f}) {
    uint32_t lo, hi;
    const float from = s * 0.25f, to = s * 2.0f;  // exact: power-of-two multiples
    std::memcpy(&lo, &from, 4);
    std::memcpy(&hi, &to, 4);
    std::vector<float> x(hi - lo);
    for (uint32_t u = lo; u < hi; ++u) std::memcpy(&x[u - lo], &u, 4);
    const float inv = 1.0f / s;
    std::vector<int8_t> q(x.size());
    for (const QuantKernel* k : simd_kernels()) {
      QuantArgs a = simple_args(x.data(), q.data(), &s, nullptr, static_cast<int64_t>(x.size()), QType::kS8);
      a.inv_scales = &inv;
      DQ_CHECK(k->quantize(a, 0, static_cast<int64_t>(x.size())) == 0, k->name_quantize);
      int64_t bad = -1;
      for (size_t i = 0; i < x.size() && bad < 0; ++i) {
        if (q[i] != static_cast<int8_t>(std::nearbyintf(x[i] / s))) bad = static_cast<int64_t>(i);
      }
      DQ_CHECK(bad < 0, k->name_quantize << " s " << s << " x " << x[bad < 0 ? 0 : bad] << " got "
                                         << int(q[bad < 0 ? 0 : bad]));
    }
  }
}
