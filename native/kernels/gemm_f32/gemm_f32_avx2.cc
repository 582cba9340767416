// gemm_f32_avx2: fp32 GEMM, AVX2+FMA register-blocked micro-kernel (6 rows × 16 columns, 12 ymm accumulators).
//
// Contract: distiq/gemm_f32.h. Each element is one fmaf chain over k in increasing order (_mm256_fmadd_ps, one
// accumulator lane per element, never split over K), then r = α·acc and, when β ≠ 0, r = fmaf(β, C, r): the same
// operations as gemm_f32_ref, hence the same bits.
// Algebra: rank-1 updates. For each k the micro-kernel loads two 8-float vectors of op(B)[k, j:j+16] and
// broadcasts op(A)[i, k] for 6 rows: 12 FMAs per 2 loads + 6 broadcasts (2 + 12 + 1 of the 16 ymm registers).
// Blocking and packing: gemm_f32_blocked.h (Ã/B̃ panels in per-thread scratch, K blocks parked in C).
// Tails: partial rows use a smaller template instance; partial columns use vmaskmovps loads/stores on C and on an
// unpacked B, so nothing outside the user's buffers is read or written (masked-off lanes never fault).
// Strips of 1-3 rows on an unpacked B use the same template with kWideNv[rows] vectors of columns, so there are
// still ≥ 8 independent FMA chains (the k order per element is unchanged).
#include <immintrin.h>

#include "distiq/gemm_f32.h"
#include "gemm_f32_blocked.h"

namespace distiq {
namespace {

struct Avx2 {
  static constexpr int kMr = 6, kVl = 8, kNvMax = 2, kNr = kVl * kNvMax;
  static constexpr int64_t kKc = 256, kMc = 3072, kMcSaveC = 288, kNc = 192;  // B̃ ≤ 192 KiB: 256 KiB L2 parts
  static constexpr int64_t kDirectBMaxRows = 2 * kMr;
  static constexpr int kWideNv[4] = {0, 8, 4, 3};  // ≥ 8 accumulators for 1, 2, 3 rows (B loads fold into FMAs)
  static constexpr int64_t kPrefetchSteps = 8;

  // Lanes [0, left) set.
  static __m256i lane_mask(int left) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static __m256 load(const float* p, int left, __m256i mask_i32x8) {
    return left >= kVl ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask_i32x8);
  }
  static void store(float* p, int left, __m256i mask_i32x8, __m256 x_f32x8) {
    if (left >= kVl) {
      _mm256_storeu_ps(p, x_f32x8);
    } else {
      _mm256_maskstore_ps(p, mask_i32x8, x_f32x8);
    }
  }

  template <int ROWS, int NV, bool MASKED_B, int A_MODE>
  static void micro(const MicroTask& t) {
    // Locals, so the stores to C cannot force reloads of the task fields (a float* may alias anything).
    float* const c = t.c;
    const float* const c_old = t.c_old;
    const int64_t ldc = t.ldc, ldc_old = t.ldc_old;
    __m256i mask_i32x8[NV];
    int left[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      left[v] = t.cols - v * kVl;
      mask_i32x8[v] = lane_mask(left[v]);
    }
    __m256 acc_f32x8[ROWS][NV];
    if (t.load_acc) {
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc_f32x8[r][v] = load(c + r * ldc + v * kVl, left[v], mask_i32x8[v]);
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc_f32x8[r][v] = _mm256_setzero_ps();
    }
    // Warm the C lines of the next call's tile (t.c_next) while this one computes; a prefetch never
    // faults, so running past the end of a row or of C is harmless.
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const char* next = reinterpret_cast<const char*>(t.c_next + r * ldc);
      _mm_prefetch(next, _MM_HINT_T0);
      if (kVl * NV * 4 > 64) _mm_prefetch(next + 64, _MM_HINT_T0);
    }
    const float* a = t.a;
    constexpr bool A_ROWS = A_MODE != kAColsMajor;
    const int64_t a_stride = A_MODE == kARowsPacked ? packed_a_stride<kKc>() : t.a_stride;
    const float* b = t.b;
    const int64_t ldb = t.ldb;
    for (int64_t p = 0; p < t.kc; ++p, a += (A_ROWS ? 1 : a_stride), b += ldb) {
      __m256 b_f32x8[NV];
      // B̃ streams from L2 (the Ã strip stays in L1): fetch its line 8 steps ahead. A prefetch never faults.
      if (!MASKED_B && NV <= kNvMax) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; v += 2)
          _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchSteps * ldb + v * kVl), _MM_HINT_T0);
      }
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        b_f32x8[v] = MASKED_B ? _mm256_maskload_ps(b + v * kVl, mask_i32x8[v]) : _mm256_loadu_ps(b + v * kVl);
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r) {
        const __m256 a_f32x8 = _mm256_broadcast_ss(a + (A_ROWS ? r * a_stride : r));
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc_f32x8[r][v] = _mm256_fmadd_ps(a_f32x8, b_f32x8[v], acc_f32x8[r][v]);
      }
    }
    if (!t.last) {
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) store(c + r * ldc + v * kVl, left[v], mask_i32x8[v], acc_f32x8[r][v]);
      return;
    }
    const __m256 alpha_f32x8 = _mm256_set1_ps(t.alpha);
    if (t.beta != 0.0f) {
      const __m256 beta_f32x8 = _mm256_set1_ps(t.beta);
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          const __m256 old_f32x8 = load(c_old + r * ldc_old + v * kVl, left[v], mask_i32x8[v]);
          const __m256 r_f32x8 = _mm256_fmadd_ps(beta_f32x8, old_f32x8, _mm256_mul_ps(alpha_f32x8, acc_f32x8[r][v]));
          store(c + r * ldc + v * kVl, left[v], mask_i32x8[v], r_f32x8);
        }
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
          store(c + r * ldc + v * kVl, left[v], mask_i32x8[v], _mm256_mul_ps(alpha_f32x8, acc_f32x8[r][v]));
    }
  }
};

void gemm_f32_avx2_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  gemm_f32_blocked_tile<Avx2>(g, m0, m1, n0, n1);
}

const GemmF32Kernel kKernel{Isa::kAvx2, "gemm_f32_avx2", Avx2::kMr, Avx2::kNr, gemm_f32_avx2_tile, Avx2::kNr};

}  // namespace

const GemmF32Kernel& gemm_f32_avx2() noexcept { return kKernel; }

}  // namespace distiq
