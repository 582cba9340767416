// The cache-blocked GEMM loop nest shared by the x86 fp32 kernels (gemm_f32_avx2.cc, gemm_f32_avx512.cc).
//
// Included only by ISA translation units, and everything here lives in an anonymous namespace: each ISA file gets
// its own internal copy compiled with its own flags, so no ISA-compiled symbol can leak into a shared COMDAT.
//
// Loop nest for one tile C[m0:m1, n0:n1] (the driver's thread split), with per-ISA constants from `Isa`:
//   for each M block (kMc rows; only bounds the saved old C when β ≠ 0)
//     for each N block (kNc columns)
//       for each K block (⌈K / kKc⌉ blocks of equal length ≤ kKc), in increasing k
//         pack B̃ = op(B)[K block, N block] as NR-column strips, k-major, zero-padded (Bᵀ via 8×8 transposes), or
//           read a row-major B in place when few rows reuse it or one K block of it spans ≤ 32 KiB;  (L2)
//         for each MR strip:
//           pack its Ã = op(A)[strip, K block]: row-major (a[r·(KC+16) + p]) when A is not transposed, k-major
//             (a[p·MR + r]) when it is, so both are contiguous copies of the source (and prefetch the next
//             strip's rows into L2); or read A in place (either layout, stride lda) when the tile is at most 64
//             columns wide or 24 rows tall;                                                        (L1)
//           for each NR strip: micro-kernel (B̃ lines software-prefetched a few k steps ahead)
//         (a tile of two row strips with A in place swaps the last two loops: B strip outer, row strips inner)
// Bit-exactness: every element's accumulator is one fmaf chain over k = 0..K−1 in increasing order. Between K
// blocks the unrounded float accumulator is parked in C itself (a float store and reload are exact); when β ≠ 0
// the old C of the block is first copied to scratch so the final `fmaf(β, C_old, α·acc)` still sees it. Padding
// lanes of B̃ are zero and only ever feed lanes that are never stored; unfilled Ã rows are never read.
// Reads and writes stay inside the user's matrices: in-place B is read with masked loads on partial strips.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <immintrin.h>

#include "distiq/gemm_f32.h"
#include "distiq/scratch.h"

namespace distiq {
namespace {

// One micro-kernel call: C[0:rows, 0:cols] of a strip (rows ≤ MR, cols ≤ NV·VL).
struct MicroTask {
  int64_t kc;          // K-block length (≥ 1)
  const float* a;      // Ã strip: a[r·a_stride + p] (row-major) or a[p·a_stride + r] (k-major)
  int64_t a_stride;    // KC / MR when packed, lda when A is read in place
  const float* b;      // B rows: b[p·ldb + j] (packed B̃: ldb = NR, columns padded with zeros)
  int64_t ldb;
  float* c;            // the C strip, row stride ldc
  int64_t ldc;
  const float* c_next; // the C tile of the next call (rows at stride ldc): warmed into L1 while this one computes
  int cols;            // valid columns
  bool load_acc;       // continue the chains parked in c (not the first K block)
  bool last;           // final K block: apply the epilogue, else park the raw accumulators in c
  float alpha, beta;
  const float* c_old;  // old C for β ≠ 0 (c itself, or the saved copy), row stride ldc_old
  int64_t ldc_old;
};

// How a micro-kernel reads its Ã strip: k-major (a[p·a_stride + r]), row-major with a runtime stride
// (a[r·a_stride + p], A read in place), or row-major packed with the compile-time stride kPackedAStride (the
// offsets r·stride become immediates, so the 12-row AVX-512 loop needs no per-row pointer registers).
enum AMode : int { kAColsMajor = 0, kARows = 1, kARowsPacked = 2 };
constexpr int kAModes = 3;

// Row stride of a packed row-major Ã strip: KC plus one cache line, so the MR rows of a strip fall in distinct L1
// sets (a stride of exactly KC = 256 floats would put every fourth row in the same set).
template <int64_t KC>
constexpr int64_t packed_a_stride() {
  return KC + 16;
}

using MicroFn = void (*)(const MicroTask&);

// Per-thread scratch (distiq/scratch.h: 64-byte aligned, grown only when a larger problem arrives, never in hot
// loops). Its size is bounded by the block sizes, not the problem (at most MC·KC + KC·NC + MC_saveC·NC floats, a few
// MiB). nullptr only when the allocation fails (the caller then falls back to the plain loops); never for 0 floats.
float* scratch_floats(size_t floats) {
  return reinterpret_cast<float*>(thread_scratch(ScratchSlot::kGemmF32Pack, (floats == 0 ? 16 : floats) * sizeof(float)));
}

// The contract expression as plain loops: used only when scratch cannot be allocated (same bits as every path).
void gemm_f32_plain_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t i = m0; i < m1; ++i) {
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < g.k; ++p) {
        const float a = g.trans_a ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        const float b = g.b_panel > 0 ? g.b[(j / g.b_panel) * g.b_panel * g.k + p * g.b_panel + j % g.b_panel]
                        : g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        acc = std::fmaf(a, b, acc);
      }
      float r = g.alpha * acc;
      float* c = g.c + i * g.ldc + j;
      if (g.beta != 0.0f) r = std::fmaf(g.beta, *c, r);
      *c = r;
    }
  }
}

// dst[0:n] = src[0:n] with unaligned 8-float moves (a runtime-length std::memcpy was expanded by GCC into an
// 8-byte loop here; a plain vector loop is faster for these short panel rows).
inline void copy_floats(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 x0 = _mm256_loadu_ps(src + i), x1 = _mm256_loadu_ps(src + i + 8);
    const __m256 x2 = _mm256_loadu_ps(src + i + 16), x3 = _mm256_loadu_ps(src + i + 24);
    _mm256_storeu_ps(dst + i, x0);
    _mm256_storeu_ps(dst + i + 8, x1);
    _mm256_storeu_ps(dst + i + 16, x2);
    _mm256_storeu_ps(dst + i + 24, x3);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i) dst[i] = src[i];
}

// Prefetches the cache lines of src[0:n] into L2 (a prefetch never faults).
inline void prefetch_l2(const float* src, int64_t n) {
  const char* p = reinterpret_cast<const char*>(src);
  const char* end = reinterpret_cast<const char*>(src + n);
  for (; p < end; p += 64) _mm_prefetch(p, _MM_HINT_T1);
}

// Packs op(A)[i0:i0+rows, p0:p0+kc] as ceil(rows/MR) strips of MR·packed_a_stride floats (the tile calls it for
// one strip at a time). Both layouts are plain copies of contiguous runs of the source: A row-major (not
// transposed) gives row-major strips, a[r·AS + p]; Aᵀ storage gives k-major strips, a[p·MR + r]. Rows past `rows`
// are never read by the micro-kernel, so they are not filled. The source of the next strip (rows up to
// prefetch_end) is prefetched into L2 on the way.
template <int MR, int64_t KC>
void pack_a(const GemmF32Args& g, int64_t i0, int64_t rows, int64_t p0, int64_t kc, float* dst,
            int64_t prefetch_end) {
  constexpr int64_t AS = packed_a_stride<KC>();
  if (g.trans_a) {
    // op(A)[i, p] = a[p·lda + i]: walk the stored rows in order (one page stream, not one per strip), handing each
    // strip its MR contiguous values.
    const int64_t full = rows / MR * MR;
    const float* src = g.a + p0 * g.lda + i0;
    const bool prefetch_next = i0 + rows + MR <= prefetch_end;
    for (int64_t p = 0; p < kc; ++p, src += g.lda) {
      if (prefetch_next) {
        _mm_prefetch(reinterpret_cast<const char*>(src + rows), _MM_HINT_T1);
        _mm_prefetch(reinterpret_cast<const char*>(src + rows + MR - 1), _MM_HINT_T1);
      }
      float* d = dst + p * MR;
      int64_t s = 0;
      for (; s < full; s += MR, d += MR * AS) std::memcpy(d, src + s, sizeof(float) * MR);
      for (int64_t r = 0; s + r < rows; ++r) d[r] = src[s + r];
    }
  } else {
    // op(A)[i, p] = a[i·lda + p]: each row is a contiguous run of kc values.
    for (int64_t s = 0; s < rows; s += MR, dst += MR * AS) {
      const int r_count = static_cast<int>(rows - s < MR ? rows - s : MR);
      for (int r = 0; r < r_count; ++r) {
        const float* src = g.a + (i0 + s + r) * g.lda + p0;
        copy_floats(dst + r * AS, src, kc);
        // Ask L2 for the same run of the row one strip below, needed by the next call: the strip's rows are
        // lda apart, too many short streams for the hardware prefetchers to ramp up on.
        if (i0 + s + r + MR < prefetch_end) prefetch_l2(src + MR * g.lda, kc);
      }
    }
  }
}

// dst[q·ld_dst + c] = src[c·ld_src + q] for an 8×8 block. The cross-lane step is folded into the loads (row c's
// half q/4 goes to lane c/4 of x[(q/4)·4 + c%4], inserted from memory on a load port), leaving a 4×4 transpose in
// each 128-bit lane: 16 shuffles instead of 24.
inline void transpose_8x8(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  __m256 x[8];
  for (int c = 0; c < 4; ++c) {
    const float* lo = src + c * ld_src;        // row c → lane 0
    const float* hi = src + (c + 4) * ld_src;  // row c + 4 → lane 1
    x[c] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
    x[c + 4] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo + 4)), _mm_loadu_ps(hi + 4), 1);
  }
  for (int h = 0; h < 8; h += 4) {  // columns h..h+3
    const __m256 t0 = _mm256_unpacklo_ps(x[h], x[h + 1]), t1 = _mm256_unpackhi_ps(x[h], x[h + 1]);
    const __m256 t2 = _mm256_unpacklo_ps(x[h + 2], x[h + 3]), t3 = _mm256_unpackhi_ps(x[h + 2], x[h + 3]);
    _mm256_storeu_ps(dst + (h + 0) * ld_dst, _mm256_shuffle_ps(t0, t2, 0x44));
    _mm256_storeu_ps(dst + (h + 1) * ld_dst, _mm256_shuffle_ps(t0, t2, 0xEE));
    _mm256_storeu_ps(dst + (h + 2) * ld_dst, _mm256_shuffle_ps(t1, t3, 0x44));
    _mm256_storeu_ps(dst + (h + 3) * ld_dst, _mm256_shuffle_ps(t1, t3, 0xEE));
  }
}

// Packs op(B)[p0:p0+kc, j0:j0+cols] as ceil(cols/NR) strips of kc·NR floats (dst[s][p][c]); missing columns are 0
// (they feed only lanes that are never stored, and zeros keep them free of denormal or NaN slow paths).
template <int NR>
void pack_b(const GemmF32Args& g, int64_t p0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
  if (!g.trans_b) {
    // op(B)[p, j] = b[p·ldb + j]: walk the stored rows in order (one page stream, not one per strip), cutting each
    // row into the strips' NR-wide pieces.
    const int64_t full = cols / NR * NR;
    const float* src = g.b + p0 * g.ldb + j0;
    for (int64_t p = 0; p < kc; ++p, src += g.ldb) {
      float* d = dst + p * NR;
      int64_t s = 0;
      for (; s < full; s += NR, d += kc * NR) std::memcpy(d, src + s, sizeof(float) * NR);
      if (s < cols) {
        int c = 0;
        for (; s + c < cols; ++c) d[c] = src[s + c];
        for (; c < NR; ++c) d[c] = 0.0f;
      }
    }
    return;
  }
  // op(B)[p, j] = b[j·ldb + p]: transpose 8×8 blocks of the stored rows, scalar edges.
  for (int64_t s = 0; s < cols; s += NR, dst += kc * NR) {
    const int c_count = static_cast<int>(cols - s < NR ? cols - s : NR);
    const float* src = g.b + (j0 + s) * g.ldb + p0;
    const int c8 = c_count / 8 * 8;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      // The strip reads c_count rows side by side, 32 bytes of each per step: more streams than the hardware
      // prefetchers follow, so ask for each row's line 256 bytes ahead (a prefetch never faults).
      if ((p & 15) == 0) {
        for (int c = 0; c < c_count; ++c) _mm_prefetch(reinterpret_cast<const char*>(src + c * g.ldb + p + 64), _MM_HINT_T0);
      }
      for (int c = 0; c < c8; c += 8) transpose_8x8(src + c * g.ldb + p, g.ldb, dst + p * NR + c, NR);
      for (int64_t q = p; q < p + 8; ++q) {
        for (int c = c8; c < c_count; ++c) dst[q * NR + c] = src[c * g.ldb + q];
        for (int c = c_count; c < NR; ++c) dst[q * NR + c] = 0.0f;
      }
    }
    for (; p < kc; ++p) {
      for (int c = 0; c < c_count; ++c) dst[p * NR + c] = src[c * g.ldb + p];
      for (int c = c_count; c < NR; ++c) dst[p * NR + c] = 0.0f;
    }
  }
}

// The micro-kernel table of one ISA: fn[rows − 1][nv − 1][masked_b][a_mode].
template <class Isa, size_t... I>
constexpr std::array<MicroFn, sizeof...(I)> make_micro_table(std::index_sequence<I...>) {
  return {{&Isa::template micro<static_cast<int>(I / (Isa::kNvMax * 2 * kAModes)) + 1,
                                static_cast<int>((I / (2 * kAModes)) % Isa::kNvMax) + 1,
                                ((I / kAModes) % 2) == 1, static_cast<int>(I % kAModes)>...}};
}

template <class Isa>
MicroFn micro_for(int rows, int nv, bool masked_b, int a_mode) {
  static constexpr auto table = make_micro_table<Isa>(
      std::make_index_sequence<static_cast<size_t>(Isa::kMr * Isa::kNvMax * 2 * kAModes)>());
  return table[static_cast<size_t>((((rows - 1) * Isa::kNvMax + (nv - 1)) * 2 + (masked_b ? 1 : 0)) * kAModes +
                                   a_mode)];
}

// Wide micro-kernels for strips of 1..3 rows on an unpacked B: rows·NV would be too few independent FMA chains to
// hide the FMA latency with NR-wide strips, so these cover Isa::kWideNv[rows] vectors of columns per call.
template <class Isa, size_t... I>
constexpr std::array<MicroFn, sizeof...(I)> make_wide_table(std::index_sequence<I...>) {
  return {{&Isa::template micro<static_cast<int>(I / (2 * kAModes)) + 1, Isa::kWideNv[I / (2 * kAModes) + 1],
                                ((I / kAModes) % 2) == 1, static_cast<int>(I % kAModes)>...}};
}

template <class Isa>
MicroFn wide_for(int rows, bool masked_b, int a_mode) {
  static constexpr auto table = make_wide_table<Isa>(std::make_index_sequence<3 * 2 * kAModes>());
  return table[static_cast<size_t>(((rows - 1) * 2 + (masked_b ? 1 : 0)) * kAModes + a_mode)];
}

// `Isa` provides: kMr, kVl (floats per vector), kNvMax (vectors per strip), kNr = kVl·kNvMax, kKc, kNc, kMc (M
// block) and kMcSaveC (M block when the old C is saved), kDirectBMaxRows (read row-major B in place when the tile has at most this many rows), kWideNv[4] (vectors per
// wide call for 1..3 rows), and
// template <int ROWS, int NV, bool MASKED_B, bool A_ROWS> static void micro(const MicroTask&), where A_ROWS selects
// the row-major Ã strip layout (a[r·a_stride + p]) over the k-major one (a[p·a_stride + r]).
template <class Isa>
void gemm_f32_blocked_tile(const GemmF32Args& g, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  constexpr int MR = Isa::kMr, NR = Isa::kNr, VL = Isa::kVl;
  constexpr int64_t KC = Isa::kKc, NC = Isa::kNc;
  static_assert(Isa::kMc % MR == 0 && Isa::kMcSaveC % MR == 0 && NC % NR == 0, "blocks are whole strips");
  const int64_t K = g.k;
  // K blocks of equal length (at most KC): a short last block (e.g. 784 = 3·256 + 16) would pay the C round
  // trip and the call overhead for a few k steps. The k order within every chain is unchanged.
  const int64_t k_blocks = (K + KC - 1) / KC;
  const int64_t kc_max = (K + k_blocks - 1) / k_blocks;
  const bool few_rows = (m1 - m0) <= Isa::kDirectBMaxRows;
  // Row-major B is read in place when packing would not pay: few rows of C reuse it, or the whole strided span of
  // one K block of B is small enough (≤ 32 KiB) to stay in L1 without set conflicts, whatever ldb is.
  // A prepacked B (g.b_panel == NR, the layout of gemm_f32_pack_b) is read in place: its strips are B̃'s strips
  // over all of K, so a K block of strip s starts at b + s·NR·K + pb·NR.
  const bool packed_b = g.b_panel > 0;
  const bool direct_b = !packed_b && !g.trans_b && (few_rows || kc_max * g.ldb <= 8192);
  // A stored Bᵀ that few rows reuse is transposed one NR strip per N block, right before its few micro-kernel
  // calls: the strip stays in L1 instead of a KC × NC block making a round trip through L2.
  const int64_t NCB = g.trans_b && few_rows && !packed_b ? int64_t{NR} : NC;
  const bool save_c = k_blocks > 1 && g.beta != 0.0f;
  const bool a_rows = !g.trans_a;
  // A is read in place (no Ã copy) when the tile is at most 64 columns wide, or when N blocks are single strips:
  // each A value then feeds so few columns that copying it would cost about as much as the FMAs it feeds. In
  // place, a row-major A is a row-major strip with stride lda (MR sequential streams), and a stored Aᵀ is a
  // k-major strip with stride lda: one short read per k, so only when its rows are short (≥ 2 per 4 KiB page;
  // longer rows defeat the prefetcher and TLB).
  const bool direct_a = ((n1 - n0) <= 64 || few_rows) && (a_rows || g.lda <= 512);
  // A tile of two strips (13..24 rows, the last one ≥ 4 rows) walks B strip by strip, both row strips per B strip,
  // so each B strip is fetched once and reused from L1 (an in-place B too).
  const int64_t tail_rows = (m1 - m0) % MR;
  const bool b_outer = direct_a && few_rows && (m1 - m0) > MR && (tail_rows == 0 || tail_rows >= 4);
  // The M block only bounds the saved old C (Ã is packed one L1-resident strip at a time), so it is large:
  // every M block repacks B̃. When the old C must be saved, the saved block (MC × NC) keeps it smaller.
  const int64_t MC = save_c ? Isa::kMcSaveC : Isa::kMc;
  const int64_t mc_max = ((m1 - m0) < MC ? ((m1 - m0) + MR - 1) / MR * MR : MC);
  const int64_t nc_max = ((n1 - n0) < NCB ? ((n1 - n0) + NR - 1) / NR * NR : NCB);
  constexpr int64_t AS = packed_a_stride<KC>();
  const size_t a_floats = direct_a ? 0 : static_cast<size_t>(MR * AS);
  const size_t b_floats = direct_b || packed_b ? 0 : static_cast<size_t>(kc_max * nc_max);
  const size_t c_floats = save_c ? static_cast<size_t>(mc_max * nc_max) : 0;
  float* const a_pack = scratch_floats(a_floats + b_floats + c_floats);
  if (a_pack == nullptr) {
    gemm_f32_plain_tile(g, m0, m1, n0, n1);
    return;
  }
  float* const b_pack = a_pack + a_floats;
  float* const c_save = b_pack + b_floats;

  MicroTask t{};
  t.alpha = g.alpha;
  t.beta = g.beta;
  for (int64_t mb = m0; mb < m1; mb += MC) {
    const int64_t mc = (m1 - mb) < MC ? (m1 - mb) : MC;
    for (int64_t nb = n0; nb < n1; nb += NCB) {
      const int64_t nc = (n1 - nb) < NCB ? (n1 - nb) : NCB;
      if (save_c) {
        for (int64_t i = 0; i < mc; ++i) std::memcpy(c_save + i * nc, g.c + (mb + i) * g.ldc + nb, sizeof(float) * nc);
      }
      for (int64_t pb = 0; pb < K; pb += kc_max) {
        const int64_t kc = (K - pb) < kc_max ? (K - pb) : kc_max;
        if (!direct_b && !packed_b) pack_b<NR>(g, pb, kc, nb, nc, b_pack);
        t.kc = kc;
        t.load_acc = pb > 0;
        t.last = pb + kc == K;
        // One micro-kernel call on C[mb+is : +rows, nb+js : +min(step, nc−js)] (the Ã fields of t already set).
        const auto call = [&](int64_t is, int rows, int64_t js, int64_t step, int a_mode, bool wide, bool b_first) {
          const int cols = static_cast<int>((nc - js) < step ? (nc - js) : step);
          const int nv = (cols + VL - 1) / VL;
          if (direct_b) {
            t.b = g.b + pb * g.ldb + nb + js;
            t.ldb = g.ldb;
          } else if (packed_b) {
            t.b = g.b + (nb + js) * K + pb * NR;  // nb + js is a multiple of NR
            t.ldb = NR;
          } else {
            t.b = b_pack + js * kc;
            t.ldb = NR;
          }
          t.c = g.c + (mb + is) * g.ldc + nb + js;
          t.ldc = g.ldc;
          // The next call's tile: the one to the right, or (B strip outer) the one below; at the end of a row strip
          // (a column of strips), the first tile of the next one, whose C is otherwise loaded cold.
          if (!b_first) {
            t.c_next = js + step < nc || is + MR >= mc ? t.c + step : g.c + (mb + is + MR) * g.ldc + nb;
          } else {
            t.c_next = is + MR < mc ? t.c + MR * g.ldc : g.c + mb * g.ldc + nb + js + step;
          }
          if (save_c) {
            t.c_old = c_save + is * nc + js;
            t.ldc_old = nc;
          } else {
            t.c_old = t.c;
            t.ldc_old = g.ldc;
          }
          t.cols = cols;
          if (wide && nv > Isa::kNvMax) {
            wide_for<Isa>(rows, cols < step, a_mode)(t);
          } else {
            micro_for<Isa>(rows, nv, direct_b && cols < NR, a_mode)(t);
          }
        };
        const auto set_direct_a = [&](int64_t is) {
          t.a = a_rows ? g.a + (mb + is) * g.lda + pb : g.a + pb * g.lda + mb + is;
          t.a_stride = g.lda;
        };
        if (b_outer) {
          // 2 strips of ≤ 24 rows, A in place: each NR strip of B serves both from L1.
          const int a_mode = a_rows ? kARows : kAColsMajor;
          for (int64_t js = 0; js < nc; js += NR) {
            for (int64_t is = 0; is < mc; is += MR) {
              set_direct_a(is);
              call(is, static_cast<int>((mc - is) < MR ? (mc - is) : MR), js, NR, a_mode, false, true);
            }
          }
          continue;
        }
        for (int64_t is = 0; is < mc; is += MR) {
          const int rows = static_cast<int>((mc - is) < MR ? (mc - is) : MR);
          if (direct_a) {
            set_direct_a(is);
          } else {
            // One Ã strip at a time, packed right before its row of micro-kernel calls: it stays in L1 for
            // all of them and never competes with B̃ for L2.
            pack_a<MR, KC>(g, mb + is, rows, pb, kc, a_pack, mb + mc);
            t.a = a_pack;
            t.a_stride = a_rows ? AS : MR;
          }
          const int a_mode = !a_rows ? kAColsMajor : direct_a ? kARows : kARowsPacked;
          const bool wide = direct_b && rows <= 3;
          const int64_t step = wide ? int64_t{VL} * Isa::kWideNv[rows] : NR;
          for (int64_t js = 0; js < nc; js += step) call(is, rows, js, step, a_mode, wide, false);
        }
      }
    }
  }
}

}  // namespace
}  // namespace distiq
