// gemm_f32_neon: fp32 GEMM for AArch64 Advanced SIMD (armv8.0-a), register-blocked micro-kernel of 8 rows ×
// 12 columns (24 float32x4 accumulators, the classic AArch64 SGEMM shape).
//
// Contract: distiq/gemm_f32.h. Each element is one fmaf chain over k in increasing order, then r = α·acc and, when
// β ≠ 0, r = fmaf(β, C, r): the same operations as gemm_f32_ref, hence the same bits. vfmaq_laneq_f32(acc, b, a, l)
// computes acc + b·a[l] with one rounding, i.e. fmaf(a[l], b, acc) (the product commutes); one accumulator lane
// per element, never split over K.
// Algebra: rank-1 updates. For each k the micro-kernel loads three 4-float vectors of op(B)[k, j:j+12] and the 8
// packed op(A)[i:i+8, k] values as two vectors, then issues 24 FMAs by lane (24 + 3 + 2 = 29 of 32 registers).
// Blocking: for each M block (kMc rows) × N block (kNc columns), K is walked in blocks of kKc in increasing order;
// op(A) and op(B) blocks are packed k-major into per-thread scratch (Ã strips of 8 rows, B̃ strips of 12 columns,
// zero-padded, so the micro-kernel never needs a masked load). With more than one K block the unrounded float
// accumulators are parked in a scratch block between K blocks (a float store/reload is exact) and C is read only
// by the last block's epilogue, so β·C_old always sees the caller's C.
// Tails: partial rows use a smaller template instance (the Ã strip is zero-padded to 8 rows, so the two A vector
// loads stay inside it); partial columns store (and, for β ≠ 0, load C) lane by lane: nothing outside the
// user's buffers is read or written. If scratch cannot be allocated the tile falls back to the plain loops.
#include <arm_neon.h>

#include <cmath>
#include <cstdlib>

#include "distiq/gemm_f32.h"
#include "distiq/scratch.h"

namespace distiq {
namespace {

constexpr int kMr = 8, kVl = 4, kNv = 3, kNr = kVl * kNv;
constexpr int64_t kKc = 256, kMc = 128, kNc = 384;
static_assert(kMc % kMr == 0 && kNc % kNr == 0, "blocks are whole strips");

// One micro-kernel call on a strip: rows ≤ 8, cols ≤ 12.
struct MicroTask {
  int64_t kc;
  const float* a;    // packed Ã strip: a[p·kMr + r]
  const float* b;    // packed B̃ strip: b[p·kNr + j]
  const float* acc;  // parked accumulators to continue (row stride ld_acc), or null for the first K block
  int64_t ld_acc;
  float* park;       // not the last K block: store the raw accumulators here (row stride ld_park)
  int64_t ld_park;
  float* c;          // last K block: the C strip (row stride ldc), epilogue applied
  int64_t ldc;
  int cols;
  float alpha, beta;
};

// Loads `left` (≥ 1) floats, zero-filling the rest, without touching memory past p[left − 1].
float32x4_t load_part(const float* p, int left) {
  if (left >= kVl) return vld1q_f32(p);
  float32x4_t x_f32x4 = vdupq_n_f32(0.0f);
  x_f32x4 = vld1q_lane_f32(p, x_f32x4, 0);
  if (left > 1) x_f32x4 = vld1q_lane_f32(p + 1, x_f32x4, 1);
  if (left > 2) x_f32x4 = vld1q_lane_f32(p + 2, x_f32x4, 2);
  return x_f32x4;
}

void store_part(float* p, int left, float32x4_t x_f32x4) {
  if (left >= kVl) {
    vst1q_f32(p, x_f32x4);
    return;
  }
  vst1q_lane_f32(p, x_f32x4, 0);
  if (left > 1) vst1q_lane_f32(p + 1, x_f32x4, 1);
  if (left > 2) vst1q_lane_f32(p + 2, x_f32x4, 2);
}

template <int ROWS, int NV>
void micro(const MicroTask& t) {
  int left[NV];
  for (int v = 0; v < NV; ++v) left[v] = t.cols - v * kVl;
  float32x4_t acc_f32x4[kMr][NV];
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v)
      acc_f32x4[r][v] = t.acc != nullptr ? load_part(t.acc + r * t.ld_acc + v * kVl, left[v]) : vdupq_n_f32(0.0f);
  const float* a = t.a;
  const float* b = t.b;
  for (int64_t p = 0; p < t.kc; ++p, a += kMr, b += kNr) {
    float32x4_t b_f32x4[NV];
    for (int v = 0; v < NV; ++v) b_f32x4[v] = vld1q_f32(b + v * kVl);
    const float32x4_t a0_f32x4 = vld1q_f32(a);      // rows 0-3 of the packed strip
    const float32x4_t a1_f32x4 = vld1q_f32(a + 4);  // rows 4-7 (zero padding past ROWS)
    // The lane index must be an immediate: one literal per row.
#define DQ_NEON_ROW(r, a_vec, lane)                                                        \
  if (ROWS > (r)) {                                                                        \
    for (int v = 0; v < NV; ++v)                                                           \
      acc_f32x4[(r)][v] = vfmaq_laneq_f32(acc_f32x4[(r)][v], b_f32x4[v], (a_vec), (lane)); \
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
  if (t.park != nullptr) {
    for (int r = 0; r < ROWS; ++r)
      for (int v = 0; v < NV; ++v) store_part(t.park + r * t.ld_park + v * kVl, left[v], acc_f32x4[r][v]);
    return;
  }
  const float32x4_t alpha_f32x4 = vdupq_n_f32(t.alpha);
  if (t.beta != 0.0f) {
    const float32x4_t beta_f32x4 = vdupq_n_f32(t.beta);
    for (int r = 0; r < ROWS; ++r)
      for (int v = 0; v < NV; ++v) {
        float* c = t.c + r * t.ldc + v * kVl;
        // fmaf(β, C, α·acc): vfmaq_f32(x, y, z) = x + y·z with one rounding
        const float32x4_t r_f32x4 =
            vfmaq_f32(vmulq_f32(alpha_f32x4, acc_f32x4[r][v]), beta_f32x4, load_part(c, left[v]));
        store_part(c, left[v], r_f32x4);
      }
  } else {
    for (int r = 0; r < ROWS; ++r)
      for (int v = 0; v < NV; ++v)
        store_part(t.c + r * t.ldc + v * kVl, left[v], vmulq_f32(alpha_f32x4, acc_f32x4[r][v]));
  }
}

using MicroFn = void (*)(const MicroTask&);

template <int ROWS>
MicroFn micro_for_rows(int nv) {
  return nv == 3 ? &micro<ROWS, 3> : nv == 2 ? &micro<ROWS, 2> : &micro<ROWS, 1>;
}

MicroFn micro_for(int rows, int nv) {
  switch (rows) {
    case 8: return micro_for_rows<8>(nv);
    case 7: return micro_for_rows<7>(nv);
    case 6: return micro_for_rows<6>(nv);
    case 5: return micro_for_rows<5>(nv);
    case 4: return micro_for_rows<4>(nv);
    case 3: return micro_for_rows<3>(nv);
    case 2: return micro_for_rows<2>(nv);
    default: return micro_for_rows<1>(nv);
  }
}

// op(A)[i0:i0+rows, p0:p0+kc] as ceil(rows/8) strips of kc·8 floats (dst[s][p][r]); missing rows are 0.
void pack_a(const GemmF32Args& g, int64_t i0, int64_t rows, int64_t p0, int64_t kc, float* dst) {
  for (int64_t s = 0; s < rows; s += kMr, dst += kc * kMr) {
    const int r_count = static_cast<int>(rows - s < kMr ? rows - s : kMr);
    for (int64_t p = 0; p < kc; ++p) {
      float* d = dst + p * kMr;
      for (int r = 0; r < kMr; ++r) {
        const int64_t i = i0 + s + r;
        d[r] = r >= r_count ? 0.0f : g.trans_a ? g.a[(p0 + p) * g.lda + i] : g.a[i * g.lda + p0 + p];
      }
    }
  }
}

// op(B)[p0:p0+kc, j0:j0+cols] as ceil(cols/12) strips of kc·12 floats (dst[s][p][c]); missing columns are 0.
void pack_b(const GemmF32Args& g, int64_t p0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
  for (int64_t s = 0; s < cols; s += kNr, dst += kc * kNr) {
    const int c_count = static_cast<int>(cols - s < kNr ? cols - s : kNr);
    if (!g.trans_b) {  // op(B)[p, j] = b[p·ldb + j]: contiguous rows
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = g.b + (p0 + p) * g.ldb + j0 + s;
        float* d = dst + p * kNr;
        for (int c = 0; c < kNr; ++c) d[c] = c < c_count ? src[c] : 0.0f;
      }
    } else {  // op(B)[p, j] = b[j·ldb + p]: each of the strip's columns is a contiguous row of B
      for (int c = 0; c < kNr; ++c) {
        const float* row = g.b + (j0 + s + c) * g.ldb + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * kNr + c] = c < c_count ? row[p] : 0.0f;
      }
    }
  }
}

// Per-thread scratch (distiq/scratch.h: 64-byte aligned, grown only when a larger problem arrives, never in the hot
// loops); nullptr when the allocation fails.
float* scratch_floats(size_t floats) {
  return reinterpret_cast<float*>(thread_scratch(ScratchSlot::kGemmF32Pack, floats * sizeof(float)));
}

// The contract expression as plain loops, for when scratch cannot be allocated (same bits).
void plain_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t i = m0; i < m1; ++i) {
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < g.k; ++p) {
        const float a = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        const float b = g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        acc = std::fmaf(a, b, acc);
      }
      float r = g.alpha * acc;
      float* c = g.c + i * g.ldc + j;
      if (g.beta != 0.0f) r = std::fmaf(g.beta, *c, r);
      *c = r;
    }
  }
}

void gemm_f32_neon_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t K = g.k;
  const int64_t kc_max = K < kKc ? K : kKc;
  const int64_t mc_max = (m1 - m0) < kMc ? ((m1 - m0) + kMr - 1) / kMr * kMr : kMc;
  const int64_t nc_max = (n1 - n0) < kNc ? ((n1 - n0) + kNr - 1) / kNr * kNr : kNc;
  const bool multi_k = K > kKc;
  const size_t a_floats = static_cast<size_t>(mc_max * kc_max);
  const size_t b_floats = static_cast<size_t>(kc_max * nc_max);
  const size_t park_floats = multi_k ? static_cast<size_t>(mc_max * nc_max) : 0;
  float* const a_pack = scratch_floats(a_floats + b_floats + park_floats);
  if (a_pack == nullptr) {
    plain_tile(g, m0, m1, n0, n1);
    return;
  }
  float* const b_pack = a_pack + a_floats;
  float* const park = b_pack + b_floats;

  MicroTask t{};
  t.alpha = g.alpha;
  t.beta = g.beta;
  for (int64_t mb = m0; mb < m1; mb += kMc) {
    const int64_t mc = (m1 - mb) < kMc ? (m1 - mb) : kMc;
    for (int64_t nb = n0; nb < n1; nb += kNc) {
      const int64_t nc = (n1 - nb) < kNc ? (n1 - nb) : kNc;
      for (int64_t pb = 0; pb < K; pb += kKc) {
        const int64_t kc = (K - pb) < kKc ? (K - pb) : kKc;
        const bool first = pb == 0, last = pb + kc == K;
        pack_a(g, mb, mc, pb, kc, a_pack);
        pack_b(g, pb, kc, nb, nc, b_pack);
        t.kc = kc;
        for (int64_t is = 0; is < mc; is += kMr) {
          const int rows = static_cast<int>((mc - is) < kMr ? (mc - is) : kMr);
          t.a = a_pack + is * kc;
          for (int64_t js = 0; js < nc; js += kNr) {
            const int cols = static_cast<int>((nc - js) < kNr ? (nc - js) : kNr);
            float* park_strip = park + is * nc + js;
            t.b = b_pack + js * kc;
            t.acc = first ? nullptr : park_strip;
            t.ld_acc = nc;
            t.park = last ? nullptr : park_strip;
            t.ld_park = nc;
            t.c = g.c + (mb + is) * g.ldc + nb + js;
            t.ldc = g.ldc;
            t.cols = cols;
            micro_for(rows, (cols + kVl - 1) / kVl)(t);
          }
        }
      }
    }
  }
}

const GemmF32Kernel kKernel{Isa::kNeon, "gemm_f32_neon", kMr, kNr, gemm_f32_neon_tile};

}  // namespace

const GemmF32Kernel& gemm_f32_neon() noexcept { return kKernel; }

}  // namespace distiq
