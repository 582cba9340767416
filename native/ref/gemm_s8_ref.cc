// gemm_s8_ref: the scalar specification of the int8 GEMM (see distiq/gemm_s8.h). Every SIMD path is judged
// against this file, bit for bit.
//
// Contract: C[i,j] = Σ_k (A[i,k] − z_a)·(W[j,k] − z_w) computed modulo 2^32 (uint32 arithmetic, no UB), then the
// epilogue of gemm_s8.h. Packing is a plain row-major copy of W ([n, k], row stride k). No SIMD, no tricks, no
// overreads: every element is read through its row stride exactly once per output element.
#include <cmath>
#include <cstring>

#include "distiq/gemm_s8.h"

namespace distiq {
namespace {

size_t packed_bytes_ref(int64_t n, int64_t k) { return static_cast<size_t>(n) * static_cast<size_t>(k); }

void pack_ref(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst) {
  for (int64_t j = 0; j < n; ++j) {
    if (k > 0) std::memcpy(dst + j * k, w + j * ldw, static_cast<size_t>(k));
  }
}

// The epilogue of gemm_s8.h for one element. Clamps are written as "v > lo ? v : lo" so that a NaN (possible only
// through a NaN bias) goes to the lower bound, the same rule as the SIMD max/min instructions use.
void store_ref(const GemmS8Args& p, int64_t i, int64_t j, uint32_t acc_bits) {
  const int32_t acc = static_cast<int32_t>(acc_bits);
  if (p.out == GemmOut::kS32) {
    static_cast<int32_t*>(p.c)[i * p.ldc + j] = acc;
    return;
  }
  const float w_scale = p.w_scale[p.w_scale_count == 1 ? 0 : j];
  const float scale = p.a_scale * w_scale;
  float y = std::fmaf(static_cast<float>(acc), scale, p.bias != nullptr ? p.bias[j] : 0.0f);
  if (p.relu) y = y > 0.0f ? y : 0.0f;
  if (p.out == GemmOut::kF32) {
    static_cast<float*>(p.c)[i * p.ldc + j] = y;
    return;
  }
  float v = std::nearbyintf(y / p.out_scale) + static_cast<float>(p.out_zp);
  const float lo = p.out == GemmOut::kU8 ? 0.0f : -128.0f;
  const float hi = p.out == GemmOut::kU8 ? 255.0f : 127.0f;
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  if (p.out == GemmOut::kU8) {
    static_cast<uint8_t*>(p.c)[i * p.ldc + j] = static_cast<uint8_t>(static_cast<int32_t>(v));
  } else {
    static_cast<int8_t*>(p.c)[i * p.ldc + j] = static_cast<int8_t>(static_cast<int32_t>(v));
  }
}

void tile_ref(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k;
  const int8_t* panels = reinterpret_cast<const int8_t*>(w.panels);
  for (int64_t i = m0; i < m1; ++i) {
    for (int64_t j = n0; j < n1; ++j) {
      uint32_t acc = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const int32_t a = p.a_signed ? static_cast<const int8_t*>(p.a)[i * p.lda + kk]
                                     : static_cast<const uint8_t*>(p.a)[i * p.lda + kk];
        const int32_t b = panels[j * k + kk];
        acc += static_cast<uint32_t>(a - p.za) * static_cast<uint32_t>(b - p.zw);
      }
      store_ref(p, i, j, acc);
    }
  }
}

}  // namespace

const GemmS8Kernel& gemm_s8_ref() noexcept {
  static const GemmS8Kernel kernel{Isa::kRef, "gemm_u8s8s32_ref", "gemm_s8s8s32_ref", 1, 1,
                                   packed_bytes_ref, pack_ref, tile_ref};
  return kernel;
}

}  // namespace distiq
