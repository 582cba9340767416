// gemm_f32_avx512: fp32 GEMM, AVX-512F register-blocked micro-kernel (12 rows × 32 columns, 24 zmm accumulators).
//
// Contract: distiq/gemm_f32.h. Each element is one fmaf chain over k in increasing order (_mm512_fmadd_ps, one
// accumulator lane per element, never split over K), then r = α·acc and, when β ≠ 0, r = fmaf(β, C, r): the same
// operations as gemm_f32_ref, hence the same bits.
// Algebra: rank-1 updates. For each k the micro-kernel loads two 16-float vectors of op(B)[k, j:j+32] and
// broadcasts op(A)[i, k] for 12 rows: 24 FMAs per 2 loads + 12 broadcast loads (27 of the 32 zmm registers).
// Blocking and packing: gemm_f32_blocked.h (Ã/B̃ panels in per-thread scratch, K blocks parked in C).
// Tails: partial rows use a smaller template instance; partial columns use __mmask16 loads/stores on C and on an
// unpacked B, so nothing outside the user's buffers is read or written (masked-off lanes never fault).
// Strips of 1-3 rows on an unpacked B use the same template with kWideNv[rows] vectors of columns, so there are
// still ≥ 8 independent FMA chains (the k order per element is unchanged).
#include <immintrin.h>

#include "distiq/gemm_f32.h"
#include "gemm_f32_blocked.h"

namespace distiq {
namespace {

struct Avx512 {
  static constexpr int kMr = 12, kVl = 16, kNvMax = 2, kNr = kVl * kNvMax;
  // K blocks of ≤ 512 (half the C round trips of 256) × N blocks of 512: B̃ = 1 MiB, half the 2 MiB L2. Same-run
  // A/B at 1 thread against 256 × 1024 (loaded machine, thread CPU time): 128x768x3072 +5..9 % per call, others ±3 %.
  static constexpr int64_t kKc = 512, kMc = 3072, kMcSaveC = 480, kNc = 512;
  static constexpr int64_t kDirectBMaxRows = 2 * kMr;
  static constexpr int kWideNv[4] = {0, 8, 4, 3};  // ≥ 8 accumulators for 1, 2, 3 rows
  static constexpr int64_t kPrefetchSteps = 8;

  template <int ROWS, int NV, bool MASKED_B, int A_MODE>
  static void micro(const MicroTask& t) {
    // Locals, so the stores to C cannot force reloads of the task fields (a float* may alias anything).
    float* const c = t.c;
    const float* const c_old = t.c_old;
    const int64_t ldc = t.ldc, ldc_old = t.ldc_old;
    __mmask16 mask[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const int left = t.cols - v * kVl;
      mask[v] = left >= kVl ? static_cast<__mmask16>(0xFFFF)
                            : static_cast<__mmask16>(left <= 0 ? 0u : (1u << left) - 1u);
    }
    __m512 acc_f32x16[ROWS][NV];
    if (t.load_acc) {
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc_f32x16[r][v] = _mm512_maskz_loadu_ps(mask[v], c + r * ldc + v * kVl);
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc_f32x16[r][v] = _mm512_setzero_ps();
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
      __m512 b_f32x16[NV];
      // B̃ streams from L2 (the Ã strip stays in L1): fetch the lines 8 steps ahead, which the L1 prefetchers
      // alone do not keep up with at 2 lines per 12 cycles. A prefetch never faults.
      if (!MASKED_B && NV <= kNvMax) {
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
          _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchSteps * ldb + v * kVl), _MM_HINT_T0);
      }
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        b_f32x16[v] = MASKED_B ? _mm512_maskz_loadu_ps(mask[v], b + v * kVl) : _mm512_loadu_ps(b + v * kVl);
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r) {
        const __m512 a_f32x16 = _mm512_set1_ps(a[A_ROWS ? r * a_stride : r]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc_f32x16[r][v] = _mm512_fmadd_ps(a_f32x16, b_f32x16[v], acc_f32x16[r][v]);
      }
    }
    if (!t.last) {
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(c + r * ldc + v * kVl, mask[v], acc_f32x16[r][v]);
      return;
    }
    const __m512 alpha_f32x16 = _mm512_set1_ps(t.alpha);
    if (t.beta != 0.0f) {
      const __m512 beta_f32x16 = _mm512_set1_ps(t.beta);
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          const __m512 old_f32x16 = _mm512_maskz_loadu_ps(mask[v], c_old + r * ldc_old + v * kVl);
          const __m512 r_f32x16 = _mm512_fmadd_ps(beta_f32x16, old_f32x16, _mm512_mul_ps(alpha_f32x16, acc_f32x16[r][v]));
          _mm512_mask_storeu_ps(c + r * ldc + v * kVl, mask[v], r_f32x16);
        }
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v)
          _mm512_mask_storeu_ps(c + r * ldc + v * kVl, mask[v], _mm512_mul_ps(alpha_f32x16, acc_f32x16[r][v]));
    }
  }
};

void gemm_f32_avx512_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  gemm_f32_blocked_tile<Avx512>(g, m0, m1, n0, n1);
}

const GemmF32Kernel kKernel{Isa::kAvx512, "gemm_f32_avx512", Avx512::kMr, Avx512::kNr, gemm_f32_avx512_tile,
                            Avx512::kNr};

}  // namespace

const GemmF32Kernel& gemm_f32_avx512() noexcept { return kKernel; }

}  // namespace distiq
