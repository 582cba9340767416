// gemm_s4 driver (baseline code, no ISA flags): code checks, packing entry points, the RTN weight quantizer, the n16
// layout packer shared by the SIMD kernels, and the threaded driver. The driver quantizes the activations once per
// call into per-thread scratch (rows split over the pool), then cuts the output at multiples of the kernel's
// m_step / n_step only, so every element is computed by one tile call and results do not depend on thread count.
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "distiq/gemm_s4.h"
#include "distiq/threadpool.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

// Multiply-adds per extra thread below which one thread is faster (as gemm_s8).
constexpr double kMinMacsPerThread = 4.0e6;
// Activation elements per quantization chunk handed to the pool.
constexpr int64_t kQuantGrainElems = int64_t{1} << 16;

bool dims_ok(int64_t n, int64_t k, int64_t group) {
  constexpr int64_t kMaxDim = int64_t{1} << 40;
  return n >= 0 && k >= 0 && group >= 1 && n <= kMaxDim && k <= kMaxDim;
}

}  // namespace

int64_t gemm_s4_groups(int64_t k, int64_t group) noexcept {
  if (k < 0 || group < 1) return -1;
  return k == 0 ? 0 : (k + group - 1) / group;
}

Status gemm_s4_check_codes(const GemmS4Codes& s) noexcept {
  if (!dims_ok(s.n, s.k, s.group)) return Status::kInvalidArgument;
  if ((s.group < s.k ? s.group : s.k) > kGemmS4MaxGroup) return Status::kLimitExceeded;
  const int64_t groups = gemm_s4_groups(s.k, s.group);
  const int64_t params = s.n * groups;
  if (params > 0 && (s.codes == nullptr || s.scales == nullptr)) return Status::kInvalidArgument;
  for (int64_t i = 0; i < params; ++i) {
    if (!std::isfinite(s.scales[i])) return Status::kNonFinite;
  }
  if (s.zero_points != nullptr) {
    const int32_t lo = s.is_signed ? -8 : 0, hi = s.is_signed ? 7 : 15;
    for (int64_t i = 0; i < params; ++i) {
      if (s.zero_points[i] < lo || s.zero_points[i] > hi) return Status::kInvalidArgument;
    }
  }
  return Status::kOk;
}

Status pack_s4(const GemmS4Kernel& kernel, const GemmS4Codes& src, uint8_t* dst, PackedS4* view) noexcept {
  const Status s = gemm_s4_check_codes(src);
  if (s != Status::kOk) return s;
  if (view == nullptr) return Status::kInvalidArgument;
  const size_t bytes = kernel.packed_bytes(src);
  if (bytes > 0 && dst == nullptr) return Status::kInvalidArgument;
  view->n = src.n;
  view->k = src.k;
  view->group = src.group;
  view->layout = kernel.isa;
  view->has_zp = src.zero_points != nullptr;
  view->zp_const = src.is_signed ? 8 : 0;
  view->scales_f16 = false;
  view->data = dst;
  kernel.pack(src, dst, view);
  return Status::kOk;
}

uint16_t f32_to_f16_rne(float f) noexcept {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0u));  // Inf/NaN
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // ≥ 65520: rounds to Inf
  const int32_t e = static_cast<int32_t>(ax >> 23) - 127;
  if (e >= -14) {  // normal half: keep 10 mantissa bits, round the 13 dropped ones half to even
    const uint32_t mant = ax & 0x7FFFFFu, rest = mant & 0x1FFFu;
    uint32_t h = (static_cast<uint32_t>(e + 15) << 10) | (mant >> 13);
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is still correct
    return static_cast<uint16_t>(sign | h);
  }
  if (e < -25) return sign;  // below half the smallest subnormal: ±0
  // subnormal half: value = m·2^-24 with m = round(significand·2^(e+24))
  const uint32_t sig = (ax & 0x7FFFFFu) | 0x800000u;  // 24 bits, value sig·2^(e−23)
  const int32_t shift = -e - 1;                        // sig·2^(e−23) / 2^-24 = sig >> (−e − 1)
  const uint32_t m = sig >> shift, rest = sig & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
  uint32_t h = m;
  if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  float f;
  if (e == 0) {
    f = static_cast<float>(m) * 5.9604644775390625e-08f;  // m·2^-24, exact
    uint32_t x;
    std::memcpy(&x, &f, 4);
    x |= sign;
    std::memcpy(&f, &x, 4);
    return f;
  }
  const uint32_t x = sign | (e == 31 ? (0xFFu << 23) | (m << 13) : ((e + 112) << 23) | (m << 13));
  std::memcpy(&f, &x, 4);
  return f;
}

bool f32_fits_f16(float f) noexcept {
  if (!std::isfinite(f)) return false;
  const float back = f16_to_f32(f32_to_f16_rne(f));
  return std::memcmp(&back, &f, 4) == 0;
}

Status quantize_s4_rtn(const float* w, int64_t ldw, int64_t n, int64_t k, int64_t group, bool f16_scales,
                       uint8_t* codes, float* scales) noexcept {
  if (!dims_ok(n, k, group) || ldw < k) return Status::kInvalidArgument;
  if ((group < k ? group : k) > kGemmS4MaxGroup) return Status::kLimitExceeded;
  const int64_t groups = gemm_s4_groups(k, group);
  const int64_t row_bytes = (k + 1) / 2;
  if (n > 0 && k > 0 && (w == nullptr || codes == nullptr || scales == nullptr)) return Status::kInvalidArgument;
  for (int64_t j = 0; j < n; ++j) {
    const float* row = w + j * ldw;
    uint8_t* out = codes + j * row_bytes;
    if (row_bytes > 0) std::memset(out, 0, static_cast<size_t>(row_bytes));
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t k0 = g * group, k1 = k0 + group < k ? k0 + group : k;
      float amax = 0.0f;
      for (int64_t kk = k0; kk < k1; ++kk) {
        if (!std::isfinite(row[kk])) return Status::kNonFinite;
        const float a = std::fabs(row[kk]);
        amax = a > amax ? a : amax;
      }
      float s = amax / 7.0f;
      if (f16_scales) {
        s = f16_to_f32(f32_to_f16_rne(s));
        if (!std::isfinite(s)) return Status::kNonFinite;
      }
      if (!(s > 0.0f)) s = 1.0f;
      scales[j * groups + g] = s;
      for (int64_t kk = k0; kk < k1; ++kk) {
        float q = std::nearbyintf(row[kk] / s);
        q = q > -7.0f ? q : -7.0f;
        q = q < 7.0f ? q : 7.0f;
        const uint8_t nib = static_cast<uint8_t>(static_cast<int32_t>(q) & 0x0F);
        out[kk / 2] = static_cast<uint8_t>(out[kk / 2] | (nib << ((kk & 1) * 4)));
      }
    }
  }
  return Status::kOk;
}

// ---- n16 layout (see gemm_s4_layout.h) ----

int64_t s4_n16_padded_k(int64_t k, int64_t group) { return s4_geometry(k, group, false, false).padded_k; }

bool s4_n16_scales_f16(const GemmS4Codes& src) {
  const int64_t params = src.n * gemm_s4_groups(src.k, src.group);
  for (int64_t i = 0; i < params; ++i) {
    if (!f32_fits_f16(src.scales[i])) return false;
  }
  return params > 0;
}

size_t s4_n16_packed_bytes(const GemmS4Codes& src) {
  const S4Geometry geo = s4_geometry(src.k, src.group, src.zero_points != nullptr, s4_n16_scales_f16(src));
  return static_cast<size_t>((src.n + 15) / 16) * static_cast<size_t>(geo.block_bytes);
}

void s4_n16_pack(const GemmS4Codes& src, uint8_t* dst, PackedS4* view) {
  const bool has_zp = src.zero_points != nullptr;
  const bool f16 = s4_n16_scales_f16(src);
  const S4Geometry geo = s4_geometry(src.k, src.group, has_zp, f16);
  const int64_t blocks = (src.n + 15) / 16;
  view->has_zp = has_zp;
  view->zp_const = src.is_signed ? 8 : 0;
  view->scales_f16 = f16;
  if (geo.groups == 0) return;
  std::memset(dst, 0, static_cast<size_t>(blocks * geo.block_bytes));
  for (int64_t nb = 0; nb < blocks; ++nb) {
    uint8_t* block = dst + nb * geo.block_bytes;
    for (int64_t g = 0; g < geo.groups; ++g) {
      const int64_t len = g + 1 < geo.groups ? geo.full_len : geo.last_len;
      const int64_t kp = g + 1 < geo.groups ? geo.full_kp : geo.last_kp;
      uint8_t* rec = block + g * geo.full_rec;
      uint8_t* sc = rec + kp / 8 * 64;  // written with memcpy below (any alignment)
      for (int64_t c = 0; c < 16; ++c) {
        const int64_t j = nb * 16 + c;
        if (j >= src.n) break;
        for (int64_t t = 0; t < len; ++t) {
          const int64_t kk = g * geo.full_len + t;
          const int32_t u = s4_source_u(src, j, kk);
          const int64_t b = t / 8, r = t % 8;
          uint8_t& byte = rec[b * 64 + 4 * c + (r & 3)];
          byte = static_cast<uint8_t>(byte | (u << (r < 4 ? 0 : 4)));
        }
        const float scale = src.scales[j * geo.groups + g];
        if (f16) {
          const uint16_t h = f32_to_f16_rne(scale);
          std::memcpy(sc + 2 * c, &h, 2);
        } else {
          std::memcpy(sc + 4 * c, &scale, 4);
        }
        if (has_zp) rec[kp / 8 * 64 + geo.scale_bytes + c] = static_cast<uint8_t>(s4_source_z(src, j, g, geo.groups));
      }
    }
  }
}

// ---- the GEMM driver ----

Status gemm_s4(const GemmS4Kernel& kernel, const PackedS4& w, const float* x, int64_t m, int64_t lda,
               const float* bias, float* y, int64_t ldy) noexcept {
  const int64_t n = w.n, k = w.k;
  if (m < 0 || !dims_ok(n, k, w.group)) return Status::kInvalidArgument;
  if (w.layout != kernel.isa) return Status::kLayoutMismatch;
  if (m == 0 || n == 0) return Status::kOk;
  if (lda < k || ldy < n || y == nullptr) return Status::kInvalidArgument;
  if (k > 0 && (x == nullptr || w.data == nullptr)) return Status::kInvalidArgument;
  const int64_t groups = gemm_s4_groups(k, w.group);
  const int64_t kq = kernel.padded_k(k, w.group);

  // Per-thread scratch, reused across calls: aq [m, kq] (+16 bytes of slack for vector tails), a_scale [m],
  // a_gsum [m, groups].
  thread_local std::vector<int8_t> aq_buf;
  thread_local std::vector<float> scale_buf;
  thread_local std::vector<int32_t> gsum_buf;
  try {
    aq_buf.resize(static_cast<size_t>(m * kq + 16));
    scale_buf.resize(static_cast<size_t>(m));
    gsum_buf.resize(static_cast<size_t>(m * groups + 1));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  int8_t* aq = aq_buf.data();
  float* a_scale = scale_buf.data();
  int32_t* gsum = gsum_buf.data();

  const bool one_thread = get_num_threads() == 1;
  const int64_t rows_per_chunk = k > 0 ? (kQuantGrainElems + k - 1) / k : m;
  std::atomic<int64_t> bad{0};
  if (one_thread || m <= rows_per_chunk) {
    bad = kernel.quantize_rows(x, lda, k, w.group, 0, m, aq, kq, a_scale, gsum);
  } else {
    parallel_for(m, rows_per_chunk, [&](int64_t m0, int64_t m1) {
      const int64_t b = kernel.quantize_rows(x, lda, k, w.group, m0, m1, aq, kq, a_scale, gsum);
      if (b != 0) bad.fetch_add(b);
    });
  }
  if (bad.load() != 0) return Status::kNonFinite;

  GemmS4Run run;
  run.m = m;
  run.w = &w;
  run.aq = aq;
  run.kq = kq;
  run.a_scale = a_scale;
  run.a_gsum = gsum;
  run.bias = bias;
  run.y = y;
  run.ldy = ldy;
  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (macs < 2.0 * kMinMacsPerThread || one_thread) {
    kernel.tile(run, 0, m, 0, n);
    return Status::kOk;
  }
  parallel_for_2d(m, n, kernel.m_step, kernel.n_step,
                  [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) { kernel.tile(run, m0, m1, n0, n1); });
  return Status::kOk;
}

}  // namespace distiq
