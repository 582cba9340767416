// Shared by the three AArch64 int8 GEMM kernels (gemm_s8_neon.cc, gemm_s8_neondot.cc, gemm_s8_i8mm.cc): the
// zero-point correction and the epilogue of distiq/gemm_s8.h for 4 adjacent output columns, in armv8.0 NEON only
// (so the header is valid in every arm64 TU). Every helper is `static inline`: each ISA TU gets its own private
// copy, nothing with external linkage is compiled with extension flags (ISA hygiene, docs/ARCHITECTURE.md).
//
// Correction. A kernel accumulates raw = Σ_k a'·w where a' is A as the kernel fed it: A itself, or for the u8
// XOR trick a' = a ^ 0x80 = a − 128 as int8. Then, modulo 2^32,
//   Σ(a − z_a)(w − z_w) = raw + (off − z_a)·Σw[j] + (K·z_a·z_w − z_w·Σa[i])        off = 128 or 0
// i.e. raw + col_term[j] + row_term[i]. Vector int32 adds and multiplies wrap, matching the ref's uint32 math.
//
// Epilogue: the exact float expressions of the ref (vfmaq_f32 = fmaf, vdivq_f32 = true division, vrndnq_f32 =
// nearbyintf half-to-even), and its clamps written as compare+select ("v > lo ? v : lo"), so a NaN from a NaN bias
// goes to the lower bound as in the ref (vmaxq_f32 would propagate it). Partial column groups (n_valid < 4) load
// their parameters through a zero-filled stack copy and store lane by lane: no read or write past n.
#pragma once

#include <arm_neon.h>

#include <cstdint>

#include "distiq/gemm_s8.h"

namespace distiq {
namespace arm_gemm_s8 {

// Per 4-column group: the column part of the correction and the epilogue's per-column scale and bias.
struct ColumnTerms {
  int32x4_t col_term_i32x4;
  float32x4_t scale_f32x4;
  float32x4_t bias_f32x4;
};

static inline ColumnTerms column_terms(const GemmS8Args& p, int64_t j, int n_valid, int32_t off) {
  ColumnTerms t;
  int32_t sums[4] = {0, 0, 0, 0};
  if (p.w->k > 0) {
    for (int c = 0; c < n_valid; ++c) sums[c] = p.w->row_sums[j + c];
  }
  const uint32_t factor = static_cast<uint32_t>(off) - static_cast<uint32_t>(p.za);
  t.col_term_i32x4 = vmulq_s32(vld1q_s32(sums), vdupq_n_s32(static_cast<int32_t>(factor)));
  if (p.out == GemmOut::kS32) {
    t.scale_f32x4 = vdupq_n_f32(0.0f);
    t.bias_f32x4 = vdupq_n_f32(0.0f);
    return t;
  }
  float ws[4] = {0.0f, 0.0f, 0.0f, 0.0f}, bs[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int c = 0; c < n_valid; ++c) {
    ws[c] = p.w_scale[p.w_scale_count == 1 ? 0 : j + c];
    if (p.bias != nullptr) bs[c] = p.bias[j + c];
  }
  t.scale_f32x4 = vmulq_f32(vdupq_n_f32(p.a_scale), vld1q_f32(ws));  // a_scale * w_scale[j], a plain multiply
  t.bias_f32x4 = vld1q_f32(bs);
  return t;
}

// Σ_k A[i,k] (the real values, u8 or s8), modulo 2^32. Needed only when z_w ≠ 0.
static inline uint32_t a_row_sum(const void* row, bool a_signed, int64_t k) {
  int64_t kk = 0;
  uint32_t total = 0;
  if (a_signed) {
    const int8_t* a = static_cast<const int8_t*>(row);
    int32x4_t sum_i32x4 = vdupq_n_s32(0);
    for (; kk + 16 <= k; kk += 16) sum_i32x4 = vpadalq_s16(sum_i32x4, vpaddlq_s8(vld1q_s8(a + kk)));
    total = static_cast<uint32_t>(vaddvq_s32(sum_i32x4));
    for (; kk < k; ++kk) total += static_cast<uint32_t>(static_cast<int32_t>(a[kk]));
  } else {
    const uint8_t* a = static_cast<const uint8_t*>(row);
    uint32x4_t sum_u32x4 = vdupq_n_u32(0);
    for (; kk + 16 <= k; kk += 16) sum_u32x4 = vpadalq_u16(sum_u32x4, vpaddlq_u8(vld1q_u8(a + kk)));
    total = vaddvq_u32(sum_u32x4);
    for (; kk < k; ++kk) total += a[kk];
  }
  return total;
}

// K·z_a·z_w − z_w·Σa[i] (mod 2^32).
static inline uint32_t row_term(const GemmS8Args& p, int64_t i) {
  const int64_t k = p.w->k;
  if (p.zw == 0) return 0;
  const void* row = p.a_signed ? static_cast<const void*>(static_cast<const int8_t*>(p.a) + i * p.lda)
                               : static_cast<const void*>(static_cast<const uint8_t*>(p.a) + i * p.lda);
  const uint32_t sum_a = k > 0 ? a_row_sum(row, p.a_signed, k) : 0u;
  const uint32_t zw = static_cast<uint32_t>(p.zw), za = static_cast<uint32_t>(p.za);
  return static_cast<uint32_t>(k) * za * zw - zw * sum_a;
}

// Finishes and stores C[i, j .. j+n_valid) from the raw accumulators of 4 columns.
static inline void store4(const GemmS8Args& p, int64_t i, int64_t j, int n_valid, int32x4_t raw_i32x4,
                          const ColumnTerms& t, uint32_t row_term_u32) {
  const int32x4_t acc_i32x4 =
      vaddq_s32(vaddq_s32(raw_i32x4, t.col_term_i32x4), vdupq_n_s32(static_cast<int32_t>(row_term_u32)));
  if (p.out == GemmOut::kS32) {
    int32_t* c = static_cast<int32_t*>(p.c) + i * p.ldc + j;
    if (n_valid == 4) {
      vst1q_s32(c, acc_i32x4);
    } else {
      int32_t lanes[4];
      vst1q_s32(lanes, acc_i32x4);
      for (int q = 0; q < n_valid; ++q) c[q] = lanes[q];
    }
    return;
  }
  const float32x4_t zero_f32x4 = vdupq_n_f32(0.0f);
  float32x4_t y_f32x4 = vfmaq_f32(t.bias_f32x4, vcvtq_f32_s32(acc_i32x4), t.scale_f32x4);
  if (p.relu) y_f32x4 = vbslq_f32(vcgtq_f32(y_f32x4, zero_f32x4), y_f32x4, zero_f32x4);
  if (p.out == GemmOut::kF32) {
    float* c = static_cast<float*>(p.c) + i * p.ldc + j;
    if (n_valid == 4) {
      vst1q_f32(c, y_f32x4);
    } else {
      float lanes[4];
      vst1q_f32(lanes, y_f32x4);
      for (int q = 0; q < n_valid; ++q) c[q] = lanes[q];
    }
    return;
  }
  const bool u8 = p.out == GemmOut::kU8;
  const float32x4_t lo_f32x4 = vdupq_n_f32(u8 ? 0.0f : -128.0f);
  const float32x4_t hi_f32x4 = vdupq_n_f32(u8 ? 255.0f : 127.0f);
  float32x4_t v_f32x4 = vaddq_f32(vrndnq_f32(vdivq_f32(y_f32x4, vdupq_n_f32(p.out_scale))),
                                  vdupq_n_f32(static_cast<float>(p.out_zp)));
  v_f32x4 = vbslq_f32(vcgtq_f32(v_f32x4, lo_f32x4), v_f32x4, lo_f32x4);
  v_f32x4 = vbslq_f32(vcltq_f32(v_f32x4, hi_f32x4), v_f32x4, hi_f32x4);
  // Integral and within [-128, 255]: the int32 conversion is exact and the low byte is the u8/s8 bit pattern.
  const int32x4_t q_i32x4 = vcvtq_s32_f32(v_f32x4);
  const int16x4_t q_i16x4 = vmovn_s32(q_i32x4);
  const uint8x8_t q_u8x8 = vreinterpret_u8_s8(vmovn_s16(vcombine_s16(q_i16x4, q_i16x4)));
  uint8_t* c = static_cast<uint8_t*>(p.c) + i * p.ldc + j;  // int8 and uint8 outputs share the byte pattern
  uint8_t lanes[8];
  vst1_u8(lanes, q_u8x8);
  for (int q = 0; q < n_valid; ++q) c[q] = lanes[q];
}

}  // namespace arm_gemm_s8
}  // namespace distiq
