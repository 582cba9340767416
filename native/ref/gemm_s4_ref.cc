// gemm_s4_ref: the scalar specification of the int4 weight-only GEMM (see distiq/gemm_s4.h). Every SIMD path is
// judged against this file, bit for bit.
//
// Layout (ref only): u [n, k] one code per byte (u ∈ [0, 15], the code shifted to unsigned), then the scales
// [n, G] float32, then z' [n, G] one byte each. Activations are quantized into an unpadded [m, k] int8 buffer.
#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"

namespace distiq {
namespace {

int64_t padded_k_ref(int64_t k, int64_t) { return k; }

size_t packed_bytes_ref(const GemmS4Codes& s) {
  const int64_t groups = gemm_s4_groups(s.k, s.group);
  return static_cast<size_t>(s.n) * static_cast<size_t>(s.k + 5 * groups);
}

void pack_ref(const GemmS4Codes& s, uint8_t* dst, PackedS4*) {
  const int64_t n = s.n, k = s.k, groups = gemm_s4_groups(k, s.group);
  const int64_t row_bytes = (k + 1) / 2;
  uint8_t* u = dst;
  uint8_t* scales = dst + n * k;
  uint8_t* zp = scales + n * groups * 4;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t kk = 0; kk < k; ++kk) {
      const uint8_t byte = s.codes[j * row_bytes + kk / 2];
      const int32_t nib = (kk & 1) ? (byte >> 4) : (byte & 0x0F);
      u[j * k + kk] = static_cast<uint8_t>(s.is_signed ? (nib ^ 8) : nib);  // q + 8 for two's complement nibbles
    }
    for (int64_t g = 0; g < groups; ++g) {
      std::memcpy(scales + (j * groups + g) * 4, &s.scales[j * groups + g], 4);
      const int32_t z = s.zero_points != nullptr ? s.zero_points[j * groups + g] : 0;
      zp[j * groups + g] = static_cast<uint8_t>(z + (s.is_signed ? 8 : 0));
    }
  }
}

int64_t quantize_rows_ref(const float* x, int64_t lda, int64_t k, int64_t group, int64_t m0, int64_t m1, int8_t* aq,
                          int64_t kq, float* a_scale, int32_t* a_gsum) {
  const int64_t groups = gemm_s4_groups(k, group);
  int64_t bad = 0;
  for (int64_t i = m0; i < m1; ++i) {
    const float* row = x + i * lda;
    float amax = 0.0f;
    for (int64_t kk = 0; kk < k; ++kk) {
      if (!std::isfinite(row[kk])) ++bad;
      const float a = std::fabs(row[kk]);
      amax = a > amax ? a : amax;
    }
    const float scale = amax / 127.0f;
    a_scale[i] = scale;
    for (int64_t g = 0; g < groups; ++g) {
      int32_t sum = 0;
      const int64_t k1 = (g + 1) * group < k ? (g + 1) * group : k;
      for (int64_t kk = g * group; kk < k1; ++kk) {
        int32_t q = 0;
        if (scale > 0.0f) {
          float v = std::nearbyintf(row[kk] / scale);
          v = v > -127.0f ? v : -127.0f;
          v = v < 127.0f ? v : 127.0f;
          q = static_cast<int32_t>(v);
        }
        aq[i * kq + kk] = static_cast<int8_t>(q);
        sum += q;
      }
      a_gsum[i * groups + g] = sum;
    }
  }
  return bad;
}

void tile_ref(const GemmS4Run& r, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS4& w = *r.w;
  const int64_t n = w.n, k = w.k, groups = gemm_s4_groups(k, w.group);
  const uint8_t* u = w.data;
  const uint8_t* scales = w.data + n * k;
  const uint8_t* zp = scales + n * groups * 4;
  for (int64_t i = m0; i < m1; ++i) {
    const int8_t* a = r.aq + i * r.kq;
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t g = 0; g < groups; ++g) {
        const int32_t z = zp[j * groups + g];
        const int64_t k1 = (g + 1) * w.group < k ? (g + 1) * w.group : k;
        int32_t dot = 0;  // |dot| ≤ 127·15·len < 2^31 within kGemmS4MaxGroup
        for (int64_t kk = g * w.group; kk < k1; ++kk) dot += static_cast<int32_t>(a[kk]) * (u[j * k + kk] - z);
        float s;
        std::memcpy(&s, scales + (j * groups + g) * 4, 4);
        acc = std::fmaf(static_cast<float>(dot), s, acc);
      }
      r.y[i * r.ldy + j] = std::fmaf(acc, r.a_scale[i], r.bias != nullptr ? r.bias[j] : 0.0f);
    }
  }
}

}  // namespace

const GemmS4Kernel& gemm_s4_ref() noexcept {
  static const GemmS4Kernel kernel{Isa::kRef, "gemm_s4_ref", 1, 1, padded_k_ref, packed_bytes_ref, pack_ref,
                                   quantize_rows_ref, tile_ref};
  return kernel;
}

}  // namespace distiq
