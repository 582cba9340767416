// int4 weight-only GEMM tests: the reference against an independent evaluation of the header's expression (from
// the unpacked codes), then every ISA level this CPU runs against the reference, bit for bit: signed/unsigned codes
// with and without zero points, shapes around the 16-column blocks and the 8-k chunks, short last groups, group
// sizes that are not multiples of 8, per-channel groups, code extremes (−8/7, 0/15), all-zero and extreme
// activation rows, bias, strides, guard bytes, non-finite input, layout mismatch, limits, and thread counts.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "distiq/gemm_s4.h"
#include "distiq/kernels.h"
#include "distiq/threadpool.h"
#include "harness.h"

namespace {

using distiq::GemmS4Codes;
using distiq::GemmS4Kernel;
using distiq::Isa;
using distiq::PackedS4;
using distiq::Status;

constexpr float kSentinel = -12345.678f;
constexpr int64_t kGuard = 16;

enum class Codes { kSigned, kSignedZp, kUnsigned, kUnsignedZp };

struct Weights {
  int64_t n = 0, k = 0, group = 0, groups = 0;
  bool is_signed = true, zp = false;
  std::vector<uint8_t> codes;   // DESIGN §3 storage
  std::vector<int32_t> values;  // [n, k] code values (for the independent reference)
  std::vector<float> scales;
  std::vector<int32_t> zero_points;

  GemmS4Codes view() const {
    GemmS4Codes c;
    c.n = n, c.k = k, c.group = group, c.is_signed = is_signed;
    c.codes = codes.data();
    c.scales = scales.data();
    c.zero_points = zp ? zero_points.data() : nullptr;
    return c;
  }
};

// Random codes; `extreme` picks only the ends of the code range.
Weights make_weights(dqtest::Rng& rng, int64_t n, int64_t k, int64_t group, Codes kind, bool extreme = false) {
  Weights w;
  w.n = n, w.k = k, w.group = group, w.groups = distiq::gemm_s4_groups(k, group);
  w.is_signed = kind == Codes::kSigned || kind == Codes::kSignedZp;
  w.zp = kind == Codes::kSignedZp || kind == Codes::kUnsignedZp;
  const int32_t lo = w.is_signed ? -8 : 0, hi = w.is_signed ? 7 : 15;
  const int64_t row_bytes = (k + 1) / 2;
  w.codes.assign(static_cast<size_t>(n * row_bytes), 0);
  w.values.resize(static_cast<size_t>(n * k));
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t kk = 0; kk < k; ++kk) {
      const int32_t v = extreme ? ((rng.next() & 1) ? lo : hi) : rng.uniform_int(lo, hi);
      w.values[j * k + kk] = v;
      w.codes[j * row_bytes + kk / 2] |= static_cast<uint8_t>((v & 0x0F) << ((kk & 1) * 4));
    }
    if (k & 1) w.codes[j * row_bytes + row_bytes - 1] |= static_cast<uint8_t>((rng.next() & 0x0F) << 4);  // pad nibble: ignored
  }
  w.scales.resize(static_cast<size_t>(n * w.groups));
  const bool f16_exact = rng.next() % 3 == 0;  // then the SIMD layouts store the scales as float16
  for (auto& s : w.scales) {
    s = rng.uniform(0.001f, 0.1f) * ((rng.next() % 8 == 0) ? -1.0f : 1.0f);
    if (f16_exact) s = static_cast<float>(rng.uniform_int(-2047, 2047)) * 0x1p-14f;  // 11-bit significands
  }
  w.zero_points.resize(static_cast<size_t>(n * w.groups));
  for (auto& z : w.zero_points) z = extreme ? ((rng.next() & 1) ? lo : hi) : rng.uniform_int(lo, hi);
  return w;
}

// Activations [m, lda]; row kinds by index: some all-zero, some huge, some tiny/denormal, one single spike.
std::vector<float> make_x(dqtest::Rng& rng, int64_t m, int64_t k, int64_t lda) {
  std::vector<float> x(static_cast<size_t>(m > 0 ? (m - 1) * lda + k : 0), kSentinel);
  for (int64_t i = 0; i < m; ++i) {
    const int kind = static_cast<int>(rng.next() % 8);
    for (int64_t kk = 0; kk < k; ++kk) {
      float v = rng.normal();
      if (kind == 0) v = 0.0f;
      if (kind == 1) v *= 1e30f;
      if (kind == 2) v *= 1e-38f;  // denormal range: absmax/127 may underflow
      if (kind == 3) v = (kk == k / 2) ? -3.5f : 0.0f;
      if (kind == 4) v = std::nearbyintf(v * 2.0f) * 63.5f;  // many exact .5 ties after division
      x[i * lda + kk] = v;
    }
  }
  return x;
}

// The header's expression evaluated from the unpacked codes (independent of every kernel's layout and code).
std::vector<float> spec(const Weights& w, const std::vector<float>& x, int64_t m, int64_t lda,
                        const std::vector<float>& bias) {
  const int64_t n = w.n, k = w.k;
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    float amax = 0.0f;
    for (int64_t kk = 0; kk < k; ++kk) amax = std::max(amax, std::fabs(x[i * lda + kk]));
    const float s = amax / 127.0f;
    std::vector<int64_t> a(static_cast<size_t>(k), 0);
    if (s > 0.0f) {
      for (int64_t kk = 0; kk < k; ++kk) {
        const float q = std::nearbyintf(x[i * lda + kk] / s);
        a[kk] = static_cast<int64_t>(std::min(127.0f, std::max(-127.0f, q)));
      }
    }
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t g = 0; g < w.groups; ++g) {
        const int64_t z = w.zp ? w.zero_points[j * w.groups + g] : 0;
        int64_t dot = 0;
        for (int64_t kk = g * w.group; kk < std::min(k, (g + 1) * w.group); ++kk) dot += a[kk] * (w.values[j * k + kk] - z);
        acc = std::fmaf(static_cast<float>(dot), w.scales[j * w.groups + g], acc);
      }
      y[i * n + j] = std::fmaf(acc, s, bias.empty() ? 0.0f : bias[j]);
    }
  }
  return y;
}

struct Output {
  Status status = Status::kOk;
  std::vector<float> y;  // [m, ldy] with kGuard sentinels on both sides
};

Output run(const GemmS4Kernel& kernel, const Weights& w, const std::vector<float>& x, int64_t m, int64_t lda,
           const std::vector<float>& bias, int64_t ldy) {
  Output out;
  // Exactly sized (ASan sees any overread of the packed layout); never empty, so data() is valid.
  std::vector<uint8_t> packed(std::max<size_t>(kernel.packed_bytes(w.view()), 1));
  PackedS4 view;
  const Status ps = distiq::pack_s4(kernel, w.view(), packed.data(), &view);
  if (ps != Status::kOk) {
    out.status = ps;
    return out;
  }
  out.y.assign(static_cast<size_t>(m * ldy + 2 * kGuard), kSentinel);
  out.status = distiq::gemm_s4(kernel, view, x.data(), m, lda, bias.empty() ? nullptr : bias.data(),
                               out.y.data() + kGuard, ldy);
  return out;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0 || (std::isnan(a) && std::isnan(b)); }

// Checks y (ldy-strided, guarded) against an [m, n] expectation; untouched padding and guards keep the sentinel.
void check_output(const Output& out, const std::vector<float>& want, int64_t m, int64_t n, int64_t ldy,
                  const std::string& what) {
  DQ_CHECK(out.status == Status::kOk, what << ": status " << distiq::status_name(out.status));
  if (out.status != Status::kOk) return;
  int bad = 0;
  for (int64_t t = 0; t < static_cast<int64_t>(out.y.size()); ++t) {
    const int64_t e = t - kGuard;
    const int64_t i = e >= 0 ? e / ldy : -1, j = e >= 0 ? e % ldy : -1;
    const bool inside = e >= 0 && i < m && j < n;
    const float expect = inside ? want[i * n + j] : kSentinel;
    if (!same_bits(out.y[t], expect) && bad++ < 3) {
      DQ_CHECK(false, what << ": y[" << i << "," << j << "] = " << out.y[t] << " expected " << expect);
    }
  }
}

std::string describe(const char* level, int64_t m, int64_t n, int64_t k, int64_t group, Codes c) {
  std::ostringstream os;
  os << level << " m=" << m << " n=" << n << " k=" << k << " group=" << group << " codes=" << static_cast<int>(c);
  return os.str();
}

const Codes kAllCodes[] = {Codes::kSigned, Codes::kSignedZp, Codes::kUnsigned, Codes::kUnsignedZp};

}  // namespace

DQ_TEST("gemm_s4 ref matches the header expression evaluated from the codes") {
  dqtest::Rng rng(dqtest::base_seed() + 401);
  const GemmS4Kernel& ref = distiq::gemm_s4_ref();
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {3, 5, 33, 32}, {2, 17, 100, 32}, {4, 9, 130, 128}, {5, 3, 77, 1000},
                               {2, 4, 64, 5}, {1, 7, 0, 32}};
  for (const auto& s : shapes) {
    for (Codes c : kAllCodes) {
      const Weights w = make_weights(rng, s[1], s[2], s[3], c);
      const std::vector<float> x = make_x(rng, s[0], s[2], s[2]);
      std::vector<float> bias(static_cast<size_t>(s[1]));
      for (auto& b : bias) b = rng.uniform(-1.0f, 1.0f);
      const Output out = run(ref, w, x, s[0], s[2], bias, s[1]);
      check_output(out, spec(w, x, s[0], s[2], bias), s[0], s[1], s[1], describe("ref", s[0], s[1], s[2], s[3], c));
    }
  }
}

DQ_TEST("gemm_s4 every level matches ref bit for bit over the shape grid") {
  dqtest::Rng rng(dqtest::base_seed() + 402);
  const int64_t ms[] = {1, 2, 3, 4, 5, 17};
  const int64_t ns[] = {1, 15, 16, 17, 33, 48, 64, 65, 79};
  const int64_t kg[][2] = {{1, 32},  {7, 32},   {8, 32},    {31, 32},  {32, 32},   {33, 32}, {95, 32},
                           {128, 64}, {130, 64}, {200, 128}, {256, 128}, {100, 24}, {61, 5},  {64, 8},
                           {300, 1 << 20}, {784, 784}, {40, 1}};
  const GemmS4Kernel& ref = distiq::gemm_s4_ref();
  for (Isa level : distiq::supported_isas()) {
    const GemmS4Kernel& kernel = *distiq::kernels_for(level).gemm_s4;
    if (level == Isa::kRef) continue;
    DQ_CHECK(kernel.isa != Isa::kRef, distiq::isa_name(level) << " has a SIMD int4 kernel");
    for (const auto& p : kg) {
      for (int64_t n : ns) {
        const Codes c = kAllCodes[rng.next() % 4];
        const Weights w = make_weights(rng, n, p[0], p[1], c, rng.next() % 5 == 0);
        for (int64_t m : ms) {
          const int64_t lda = p[0] + (rng.next() % 2 ? 3 : 0);
          const int64_t ldy = n + (rng.next() % 2 ? 5 : 0);
          const std::vector<float> x = make_x(rng, m, p[0], lda);
          std::vector<float> bias;
          if (rng.next() % 2) {
            bias.resize(static_cast<size_t>(n));
            for (auto& b : bias) b = rng.uniform(-2.0f, 2.0f);
          }
          const Output want = run(ref, w, x, m, lda, bias, ldy);
          const Output got = run(kernel, w, x, m, lda, bias, ldy);
          std::vector<float> dense(static_cast<size_t>(m * n));
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) dense[i * n + j] = want.y[kGuard + i * ldy + j];
          check_output(got, dense, m, n, ldy, describe(distiq::isa_name(level), m, n, p[0], p[1], c));
        }
      }
    }
  }
}

DQ_TEST("gemm_s4 extremes: codes at the range ends, huge/zero rows, exact against the spec on every level") {
  dqtest::Rng rng(dqtest::base_seed() + 403);
  for (Isa level : distiq::supported_isas()) {
    const GemmS4Kernel& kernel = *distiq::kernels_for(level).gemm_s4;
    for (Codes c : kAllCodes) {
      const int64_t m = 6, n = 35, k = 4096 + 17, group = 4096;  // one group near the 2^24 float-exactness edge
      const Weights w = make_weights(rng, n, k, group, c, true);
      std::vector<float> x(static_cast<size_t>(m * k));
      for (int64_t kk = 0; kk < k; ++kk) {
        x[0 * k + kk] = (kk % 2) ? 1.0f : -1.0f;    // a = ±127 everywhere
        x[1 * k + kk] = 3.0e38f;                    // huge, all a = 127
        x[2 * k + kk] = 0.0f;                       // all-zero row: y = bias
        x[3 * k + kk] = -std::numeric_limits<float>::denorm_min();  // absmax/127 underflows: y = bias
        x[4 * k + kk] = kk == 5 ? std::numeric_limits<float>::max() : 1.0f;  // one spike, the rest round to 0
        x[5 * k + kk] = -1.0f;                      // a = −127 everywhere
      }
      std::vector<float> bias(static_cast<size_t>(n));
      for (auto& b : bias) b = rng.uniform(-2.0f, 2.0f);
      const Output out = run(kernel, w, x, m, k, bias, n);
      const std::vector<float> want = spec(w, x, m, k, bias);
      check_output(out, want, m, n, n, describe(distiq::isa_name(level), m, n, k, group, c));
      for (int64_t j = 0; j < n; ++j) {
        DQ_CHECK(same_bits(want[2 * n + j], bias[j]), "zero row gives bias");
        DQ_CHECK(same_bits(want[3 * n + j], bias[j]), "underflowing row gives bias");
      }
    }
  }
}

DQ_TEST("gemm_s4 results do not depend on the thread count") {
  dqtest::Rng rng(dqtest::base_seed() + 404);
  const int saved = distiq::get_num_threads();
  const int64_t shapes[][4] = {{1, 4096 + 16 * 3 + 5, 2048, 32}, {5, 700, 4096, 128}, {17, 333, 2000, 2000}};
  for (Isa level : distiq::supported_isas()) {
    const GemmS4Kernel& kernel = *distiq::kernels_for(level).gemm_s4;
    for (const auto& s : shapes) {
      const Codes c = kAllCodes[rng.next() % 4];
      const Weights w = make_weights(rng, s[1], s[2], s[3], c);
      const std::vector<float> x = make_x(rng, s[0], s[2], s[2]);
      std::vector<float> bias(static_cast<size_t>(s[1]), 0.25f);
      distiq::set_num_threads(1);
      const Output one = run(kernel, w, x, s[0], s[2], bias, s[1]);
      for (int t : {2, 3}) {
        distiq::set_num_threads(t);
        const Output many = run(kernel, w, x, s[0], s[2], bias, s[1]);
        bool same = one.y.size() == many.y.size();
        for (size_t e = 0; same && e < one.y.size(); ++e) same = same_bits(one.y[e], many.y[e]);
        DQ_CHECK(same, describe(distiq::isa_name(level), s[0], s[1], s[2], s[3], c) << " threads=" << t);
      }
    }
  }
  distiq::set_num_threads(saved);
}

DQ_TEST("gemm_s4 rejects non-finite activations, foreign layouts and bad codes") {
  dqtest::Rng rng(dqtest::base_seed() + 405);
  const Weights w = make_weights(rng, 20, 70, 32, Codes::kSigned);
  for (Isa level : distiq::supported_isas()) {
    const GemmS4Kernel& kernel = *distiq::kernels_for(level).gemm_s4;
    for (float badv : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()}) {
      for (int64_t pos : {0, 33, 69}) {
        std::vector<float> x = make_x(rng, 3, 70, 70);
        x[2 * 70 + pos] = badv;
        const Output out = run(kernel, w, x, 3, 70, {}, 20);
        DQ_CHECK(out.status == Status::kNonFinite, distiq::isa_name(level) << " bad value at " << pos);
      }
    }
    // Packed for another layout.
    for (Isa other : distiq::supported_isas()) {
      const GemmS4Kernel& k2 = *distiq::kernels_for(other).gemm_s4;
      if (k2.isa == kernel.isa) continue;
      std::vector<uint8_t> packed(k2.packed_bytes(w.view()));
      PackedS4 view;
      DQ_CHECK(distiq::pack_s4(k2, w.view(), packed.data(), &view) == Status::kOk, "pack");
      std::vector<float> x(70, 1.0f), y(20);
      DQ_CHECK(distiq::gemm_s4(kernel, view, x.data(), 1, 70, nullptr, y.data(), 20) == Status::kLayoutMismatch,
               distiq::isa_name(level) << " vs " << distiq::isa_name(other));
    }
  }
  const GemmS4Kernel& ref = distiq::gemm_s4_ref();
  std::vector<uint8_t> packed(1 << 16);
  PackedS4 view;
  Weights bad = make_weights(rng, 2, 10, 4, Codes::kSignedZp);
  bad.zero_points[1] = 8;  // outside [−8, 7]
  DQ_CHECK(distiq::pack_s4(ref, bad.view(), packed.data(), &view) == Status::kInvalidArgument, "signed zp 8");
  bad = make_weights(rng, 2, 10, 4, Codes::kUnsignedZp);
  bad.zero_points[0] = -1;
  DQ_CHECK(distiq::pack_s4(ref, bad.view(), packed.data(), &view) == Status::kInvalidArgument, "unsigned zp -1");
  bad = make_weights(rng, 2, 10, 4, Codes::kSigned);
  bad.scales[3] = std::numeric_limits<float>::infinity();
  DQ_CHECK(distiq::pack_s4(ref, bad.view(), packed.data(), &view) == Status::kNonFinite, "inf scale");
  bad = make_weights(rng, 2, 10, 4, Codes::kSigned);
  bad.group = 0;
  DQ_CHECK(distiq::pack_s4(ref, bad.view(), packed.data(), &view) == Status::kInvalidArgument, "group 0");
  GemmS4Codes big;
  big.n = 1, big.k = distiq::kGemmS4MaxGroup + 1, big.group = big.k;
  DQ_CHECK(distiq::gemm_s4_check_codes(big) == Status::kLimitExceeded, "group limit");
  big.group = 4096;  // same k in groups of 4096 is fine (scales/codes null: n·G > 0 → invalid, not a limit)
  DQ_CHECK(distiq::gemm_s4_check_codes(big) == Status::kInvalidArgument, "null codes");
}

DQ_TEST("gemm_s4 quantize_s4_rtn matches an independent per-group round-to-nearest and packs through every level") {
  dqtest::Rng rng(dqtest::base_seed() + 406);
  const int64_t n = 9, k = 77, group = 32, ldw = 80, groups = 3;
  std::vector<float> wf(static_cast<size_t>((n - 1) * ldw + k));
  for (auto& v : wf) v = rng.normal();
  for (int64_t kk = 32; kk < 64; ++kk) wf[2 * ldw + kk] = 0.0f;  // an all-zero group
  std::vector<uint8_t> codes(static_cast<size_t>(n * ((k + 1) / 2)), 0xFF);
  std::vector<float> scales(static_cast<size_t>(n * groups));
  DQ_CHECK(distiq::quantize_s4_rtn(wf.data(), ldw, n, k, group, false, codes.data(), scales.data()) == Status::kOk, "rtn");
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t g = 0; g < groups; ++g) {
      float amax = 0.0f;
      for (int64_t kk = g * group; kk < std::min(k, (g + 1) * group); ++kk) amax = std::max(amax, std::fabs(wf[j * ldw + kk]));
      const float s = amax > 0.0f ? amax / 7.0f : 1.0f;
      DQ_CHECK(same_bits(scales[j * groups + g], s), "scale " << j << "," << g);
      for (int64_t kk = g * group; kk < std::min(k, (g + 1) * group); ++kk) {
        const int32_t q = static_cast<int32_t>(std::min(7.0f, std::max(-7.0f, std::nearbyintf(wf[j * ldw + kk] / s))));
        const int32_t nib = (codes[j * ((k + 1) / 2) + kk / 2] >> ((kk & 1) * 4)) & 0x0F;
        DQ_CHECK((nib >= 8 ? nib - 16 : nib) == q, "code " << j << "," << kk);
      }
    }
    DQ_CHECK((codes[j * ((k + 1) / 2) + k / 2] >> 4) == 0, "pad nibble is 0");
  }
  std::vector<float> nan_w = wf;
  nan_w[5] = std::numeric_limits<float>::quiet_NaN();
  DQ_CHECK(distiq::quantize_s4_rtn(nan_w.data(), ldw, n, k, group, false, codes.data(), scales.data()) == Status::kNonFinite,
           "NaN weight");
}

DQ_TEST("gemm_s4 float16 scale conversion: every half round-trips, ties round to even, f16 layouts are chosen") {
  int bad = 0;
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    const uint16_t hh = static_cast<uint16_t>(h);
    if ((hh & 0x7C00u) == 0x7C00u && (hh & 0x3FFu) != 0) continue;  // NaN payloads
    const float f = distiq::f16_to_f32(hh);
    if (distiq::f32_to_f16_rne(f) != hh && bad++ < 3) DQ_CHECK(false, "half 0x" << std::hex << h << " round trip");
    DQ_CHECK(distiq::f32_fits_f16(f) == std::isfinite(f), "fits " << h);
    // Halfway to the next half (same sign, larger magnitude) rounds to the even one; a hair above rounds up.
    const uint16_t next = static_cast<uint16_t>(hh + 1);
    if ((hh & 0x7FFFu) < 0x7BFFu) {
      const float g = distiq::f16_to_f32(next);
      const double mid = (static_cast<double>(f) + static_cast<double>(g)) / 2.0;
      const float midf = static_cast<float>(mid);  // exact: halves have 11-bit significands
      const uint16_t even = (hh & 1u) ? next : hh;
      if (distiq::f32_to_f16_rne(midf) != even && bad++ < 3) DQ_CHECK(false, "tie at 0x" << std::hex << h);
      const float above = std::nextafter(midf, 2.0f * g);
      if (distiq::f32_to_f16_rne(above) != next && bad++ < 3) DQ_CHECK(false, "above tie at 0x" << std::hex << h);
      DQ_CHECK(!distiq::f32_fits_f16(midf), "midpoint is not a half " << h);
    }
  }
  DQ_CHECK(distiq::f32_to_f16_rne(65520.0f) == 0x7C00u, "65520 rounds to Inf");
  DQ_CHECK(distiq::f32_to_f16_rne(65519.0f) == 0x7BFFu, "65519 rounds to 65504");
  DQ_CHECK(distiq::f32_to_f16_rne(0x1p-25f) == 0u, "2^-25 ties to 0");
  DQ_CHECK(distiq::f32_to_f16_rne(std::nextafter(0x1p-25f, 1.0f)) == 1u, "above 2^-25 rounds to the smallest subnormal");

  dqtest::Rng rng(dqtest::base_seed() + 407);
  Weights w = make_weights(rng, 20, 70, 32, Codes::kSignedZp);
  for (auto& s : w.scales) s = static_cast<float>(rng.uniform_int(1, 2047)) * 0x1p-12f;
  for (Isa level : distiq::supported_isas()) {
    const GemmS4Kernel& kernel = *distiq::kernels_for(level).gemm_s4;
    std::vector<uint8_t> packed(kernel.packed_bytes(w.view()) + 1);
    PackedS4 view;
    DQ_CHECK(distiq::pack_s4(kernel, w.view(), packed.data(), &view) == Status::kOk, "pack");
    DQ_CHECK(view.scales_f16 == (kernel.isa != Isa::kRef), distiq::isa_name(level) << " float16 scales");
    const std::vector<float> x = make_x(rng, 3, 70, 70);
    const Output out = run(kernel, w, x, 3, 70, {}, 20);
    check_output(out, spec(w, x, 3, 70, {}), 3, 20, 20, distiq::isa_name(level) + std::string(" f16 scales"));
  }
  // RTN with float16 scales: s = half(max|w|/7).
  const int64_t n = 3, k = 40, group = 16, groups = 3;
  std::vector<float> wf(static_cast<size_t>(n * k));
  for (auto& v : wf) v = rng.normal();
  std::vector<uint8_t> codes(static_cast<size_t>(n * k / 2));
  std::vector<float> scales(static_cast<size_t>(n * groups));
  DQ_CHECK(distiq::quantize_s4_rtn(wf.data(), k, n, k, group, true, codes.data(), scales.data()) == Status::kOk, "rtn16");
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t g = 0; g < groups; ++g) {
      float amax = 0.0f;
      for (int64_t kk = g * group; kk < std::min(k, (g + 1) * group); ++kk) amax = std::max(amax, std::fabs(wf[j * k + kk]));
      const float want = distiq::f16_to_f32(distiq::f32_to_f16_rne(amax / 7.0f));
      DQ_CHECK(same_bits(scales[j * groups + g], want) && distiq::f32_fits_f16(want), "f16 scale " << j << "," << g);
    }
  }
  std::vector<float> huge(static_cast<size_t>(n * k), 1.0e6f);
  DQ_CHECK(distiq::quantize_s4_rtn(huge.data(), k, n, k, group, true, codes.data(), scales.data()) == Status::kNonFinite,
           "float16 scale overflow");
}
