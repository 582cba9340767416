// gemm_f32_neon: fp32 GEMM for AArch64 Advanced SIMD (armv8.0-a), register-blocked micro-kernel of 8 rows ×
// 12 columns (24 float32x4 accumulators, the classic AArch64 SGEMM shape).
//
// Contract: distiq/gemm_f32.h. Each element is one fmaf chain over k in increasing order, then r = α·acc and, when
// β ≠ 0, r = fmaf(β, C, r): the same operations as gemm_f32_ref, hence the same bits. vfmaq_laneq_f32(acc, b, a, l)
// computes acc + b·a[l] with one rounding, i.e. fmaf(a[l], b, acc) (the product commutes); one accumulator lane
// per element, never split over K.
// Algebra: rank-1 updates. For each k the micro-kernel loads three 4-float vectors of op(B)[k, j:j+12] and the 8
// packed op(A)[i:i+8, k] values as two vectors, then issues 24 FMAs by lane (24 + 3 + 2 = 29 of 32 registers).
// Blocking and packing: gemm_f32_blocked.h (the loop nest shared with the x86 kernels, intrinsic-free and included
// into this file's anonymous namespace): Ã/B̃ panels in per-thread scratch, K blocks parked in C.
// Tails: partial rows use a smaller template instance (the packed Ã strip is zero-padded to 8 rows, so the two
// A vector loads stay inside it); partial columns load and store the last vector lane by lane, on C and on an
// unpacked B, so nothing outside the user's buffers is read or written.
#include <arm_neon.h>

#include "distiq/gemm_f32.h"
#include "gemm_f32_blocked.h"

namespace distiq {
namespace {

struct Neon {
  static constexpr int kMr = 8, kVl = 4, kNvMax = 3, kNr = kVl * kNvMax;
  static constexpr int64_t kKc = 256, kMc = 128, kNc = 384;
  static constexpr int64_t kDirectBMaxRows = 2 * kMr;

  // Loads `left` (≥ 1) floats, zero-filling the rest, without touching memory past p[left − 1].
  static float32x4_t load(const float* p, int left) {
    if (left >= kVl) return vld1q_f32(p);
    float32x4_t x_f32x4 = vdupq_n_f32(0.0f);
    x_f32x4 = vld1q_lane_f32(p, x_f32x4, 0);
    if (left > 1) x_f32x4 = vld1q_lane_f32(p + 1, x_f32x4, 1);
    if (left > 2) x_f32x4 = vld1q_lane_f32(p + 2, x_f32x4, 2);
    return x_f32x4;
  }
  static void store(float* p, int left, float32x4_t x_f32x4) {
    if (left >= kVl) {
      vst1q_f32(p, x_f32x4);
      return;
    }
    vst1q_lane_f32(p, x_f32x4, 0);
    if (left > 1) vst1q_lane_f32(p + 1, x_f32x4, 1);
    if (left > 2) vst1q_lane_f32(p + 2, x_f32x4, 2);
  }

  template <int ROWS, int NV, bool MASKED_B>
  static void micro(const MicroTask& t) {
    int left[NV];
    for (int v = 0; v < NV; ++v) left[v] = t.cols - v * kVl;
    float32x4_t acc_f32x4[kMr][NV];
#pragma GCC unroll 8
    for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v)
        acc_f32x4[r][v] = t.load_acc ? load(t.c + r * t.ldc + v * kVl, left[v]) : vdupq_n_f32(0.0f);
    const float* a = t.a;
    const float* b = t.b;
    const int64_t ldb = t.ldb;
    for (int64_t p = 0; p < t.kc; ++p, a += kMr, b += ldb) {
      float32x4_t b_f32x4[NV];
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) b_f32x4[v] = MASKED_B ? load(b + v * kVl, left[v]) : vld1q_f32(b + v * kVl);
      const float32x4_t a0_f32x4 = vld1q_f32(a);      // rows 0-3 of the packed strip
      const float32x4_t a1_f32x4 = vld1q_f32(a + 4);  // rows 4-7 (zero padding past ROWS)
      // The lane index must be an immediate: one literal per row.
#define DQ_NEON_ROW(r, a_vec, lane)                                                          \
  if (ROWS > (r)) {                                                                          \
    for (int v = 0; v < NV; ++v)                                                             \
      acc_f32x4[(r)][v] = vfmaq_laneq_f32(acc_f32x4[(r)][v], b_f32x4[v], (a_vec), (lane));   \
  }
      DQ_NEON_ROW(0, a0_f32x4, 0)
      DQ_NEON_ROW(1, a0_f32x4, 1)
      DQ_NEON_ROW(2, a0_f32x4, 2)
      DQ_NEON_ROW(3, a0_f32x4, 3)
      DQ_NEON_ROW(4, a1_f32x4, 0)
      DQ_NEON_ROW(5, a1_f32x4, 1)
      DQ_NEON_ROW(6, a1_f32x4, 2)
      DQ_NEON_ROW(7, a1_f32x4, 3)
#undef DQ_NEON_ROW
    }
    if (!t.last) {
      for (int r = 0; r < ROWS; ++r)
        for (int v = 0; v < NV; ++v) store(t.c + r * t.ldc + v * kVl, left[v], acc_f32x4[r][v]);
      return;
    }
    const float32x4_t alpha_f32x4 = vdupq_n_f32(t.alpha);
    if (t.beta != 0.0f) {
      const float32x4_t beta_f32x4 = vdupq_n_f32(t.beta);
      for (int r = 0; r < ROWS; ++r)
        for (int v = 0; v < NV; ++v) {
          const float32x4_t old_f32x4 = load(t.c_old + r * t.ldc_old + v * kVl, left[v]);
          // fmaf(β, C, α·acc): vfmaq_f32(x, y, z) = x + y·z with one rounding
          const float32x4_t r_f32x4 = vfmaq_f32(vmulq_f32(alpha_f32x4, acc_f32x4[r][v]), beta_f32x4, old_f32x4);
          store(t.c + r * t.ldc + v * kVl, left[v], r_f32x4);
        }
    } else {
      for (int r = 0; r < ROWS; ++r)
        for (int v = 0; v < NV; ++v)
          store(t.c + r * t.ldc + v * kVl, left[v], vmulq_f32(alpha_f32x4, acc_f32x4[r][v]));
    }
  }
};

void gemm_f32_neon_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  gemm_f32_blocked_tile<Neon>(g, m0, m1, n0, n1);
}

const GemmF32Kernel kKernel{Isa::kNeon, "gemm_f32_neon", Neon::kMr, Neon::kNr, gemm_f32_neon_tile};

}  // namespace

const GemmF32Kernel& gemm_f32_neon() noexcept { return kKernel; }

}  // namespace distiq
