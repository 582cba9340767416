// gemm_u8s8s32_avx2 / gemm_s8s8s32_avx2: int8 GEMM with AVX2 by exact widening.
//
// Contract: distiq/gemm_s8.h — C = Σ_k (A − z_a)(W − z_w) modulo 2^32, then the documented epilogue; bit-identical
// to gemm_s8_ref for every output kind.
//
// Packed layout (kernel-private): W is cut into panels of 8 output columns. Each panel is
//   [8 × int32 column sums Σ_k W[j,k]] [⌈K/4⌉ groups of 32 bytes]
// and a group of 4 k holds two halves of 16 bytes: (k0,k1) of the 8 columns, then (k2,k3) of the 8 columns,
// each column's pair adjacent. vpmovsxbw widens a half to 8 int16 pairs: lane j = (W[j,k], W[j,k+1]).
// Columns past n and k past K are zero. Panel stride = 32 + 32·⌈K/4⌉ bytes.
//
// Algebra. A (u8 via vpmovzxbw, s8 via vpmovsxbw) and W are widened to int16 exactly, so the full 8-bit range
// including −128 is safe: vpmaddwd sums two products into int32 (|2·(−128)·(−128)| = 32768 and |2·255·128| fit),
// no vpmaddubsw int16-saturation shortcut. Lane sums wrap modulo 2^32 (vpaddd). Then
//   Σ (a − z_a)(w − z_w) = Σ a·w − z_w·Σ_k a − z_a·Σ_k w + K·z_a·z_w                  (all mod 2^32)
// with the column term from the panel header and the row term from a per-row sum of A (skipped if z_w = 0).
// A reaches the loop as int16 pairs: for tiles of more than 4 rows each row chunk of A is widened once into
// per-thread scratch (zero-padded to a multiple of 4 k), and the loop broadcasts the (k0,k1) and (k2,k3) pairs
// straight from it; for GEMV-sized tiles (or if the scratch cannot be allocated) four A bytes are broadcast per
// group, widened, and vpshufd picks the pairs. Same bits either way.
//
// Cost, and why not vpmaddubsw: per 4 k × 8 columns × 1 row (32 multiply-adds) the loop issues 2 vpmaddwd + 2 vpaddd,
// 4 uops for vector ports 0/1/5 (plus one vpmovsxbw per 16 weights, shared by the tile's rows). oneDNN's AVX2 int8
// loop issues vpmaddubsw + vpmaddwd(ones) + vpaddd = 3, but its int16 pair sums saturate (2·255·127 > 32767). An
// exact vpmaddubsw needs the 9th bit elsewhere, and every split found costs more than 4: a = (a & 0x7F) + 128·(a >> 7)
// is vpmaddubsw + vpmaddwd + vpaddd for the low part plus vpmaddubsw + an int16 vpaddw (exact for ≤ 127 groups) for
// the high part = 5; nibble splits with int16 accumulation ≥ 4.25; interleaving low/high parts in one vpmaddubsw
// halves its useful lanes (6 uops per 32); a per-row or per-k zero point cannot shrink the range of arbitrary data (only
// rank-1 corrections are free). Register-only loops on this machine (best of 200 short runs): 4-uop exact 185 GOPS,
// 3-uop saturating 240, lo7/hi split 111. So this exact kernel can reach ≈ 0.77 of a saturating kernel of the same
// quality; it runs at ≈ 0.88 of its own ceiling (160 GOPS on large shapes, idle machine). Pre-widening W to int16 in
// the packed layout (no vpmovsxbw) was tried: +2-7 % in cache, ±3 % on the large shapes (twice the W bytes), not kept.
//
// Blocking: gemm_s8_x86_blocking.h (column blocks in L2, row chunks, equal row blocks, row block outer; this
// kernel does not use the next-block prefetch plan). Micro-tiles: up to kMr rows × kNp panels (16 columns) in ymm
// accumulators over all of K; for m ≤ 4 the tile uses 1–4 rows × 3 panels.
//
// Tails / overreads: A is read 4 bytes at a time only for full groups of 4 k (the widening pass reads each byte
// once, scalar past the last 16); the last partial group is copied into a zeroed 4-byte buffer, so no byte past
// row i's K is read. N tails use vmaskmov stores and loads (masked-off
// lanes are never touched) and, for 8-bit outputs, a byte copy of the existing columns only.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>
#include <cstdlib>
#include <cstring>

#include "distiq/gemm_s8.h"
#include "distiq/scratch.h"

namespace distiq {
namespace {

constexpr int64_t kNr = 8;        // columns per panel (int32 lanes of a ymm)
constexpr int kMr = 4;            // rows per micro-tile
constexpr int kNp = 2;            // panels per micro-tile
constexpr int kNpGemv = 3;        // panels per micro-tile when the tile has ≤ kGemvRows rows
constexpr int kGemvRows = 4;
constexpr int64_t kRowChunk = 8 * kMr;  // most rows whose A sums are computed together
constexpr int64_t kChunkBytes = 256 * 1024;  // target bytes of widened A per row chunk (stays in L2)
constexpr int64_t kWBlockBytes = 512 * 1024;  // target bytes of packed W per column block (stays in L2)

int64_t quads(int64_t k) { return (k + 3) / 4; }
int64_t panel_count(int64_t n) { return (n + kNr - 1) / kNr; }
size_t panel_stride(int64_t k) { return static_cast<size_t>(kNr * 4 + quads(k) * kNr * 4); }

size_t packed_bytes(int64_t n, int64_t k) { return static_cast<size_t>(panel_count(n)) * panel_stride(k); }

void pack(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst) {
  const size_t stride = panel_stride(k);
  for (int64_t p = 0; p < panel_count(n); ++p) {
    uint8_t* panel = dst + p * stride;
    uint32_t sums[kNr] = {};
    uint8_t* body = panel + kNr * 4;
    for (int64_t q = 0; q < quads(k); ++q) {
      for (int64_t c = 0; c < kNr; ++c) {
        const int64_t col = p * kNr + c;
        for (int64_t b = 0; b < 4; ++b) {
          const int64_t kk = q * 4 + b;
          const int8_t v = (col < n && kk < k) ? w[col * ldw + kk] : 0;
          body[q * 32 + (b / 2) * 16 + c * 2 + (b % 2)] = static_cast<uint8_t>(v);
          sums[c] += static_cast<uint32_t>(static_cast<int32_t>(v));
        }
      }
    }
    std::memcpy(panel, sums, sizeof(sums));
  }
}

#include "gemm_s8_ymm_epilogue.h"


constexpr bool kWidenA = true;  // A staging: rows widened to int16 (gemm_s8_x86_blocking.h)

#include "gemm_s8_x86_blocking.h"

// 16 int8 weights (one half of a group: a (k,k+1) pair for each of the 8 columns) widened to 16 int16.
__m256i widen_w(const uint8_t* src) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
}

// The 4 A bytes at `src` as int16 pairs broadcast to every 32-bit lane: (a0,a1) and (a2,a3).
template <bool kSigned>
void widen_a(const uint8_t* src, __m256i* a01_i16x16, __m256i* a23_i16x16) {
  int32_t group;
  std::memcpy(&group, src, 4);
  const __m128i a_x8x16 = _mm_set1_epi32(group);
  const __m256i a_i16x16 = kSigned ? _mm256_cvtepi8_epi16(a_x8x16) : _mm256_cvtepu8_epi16(a_x8x16);
  *a01_i16x16 = _mm256_shuffle_epi32(a_i16x16, 0x00);
  *a23_i16x16 = _mm256_shuffle_epi32(a_i16x16, 0x55);
}

// acc + (a01·w01 pairwise) + (a23·w23 pairwise): four k of one row and one panel, in int32 lanes (wrapping).
__m256i madd2(__m256i acc_i32x8, __m256i a01, __m256i w01, __m256i a23, __m256i w23) {
  return _mm256_add_epi32(_mm256_add_epi32(acc_i32x8, _mm256_madd_epi16(a01, w01)), _mm256_madd_epi16(a23, w23));
}

// Accumulators are named variables (c<row>_<panel>) rather than an array: GCC keeps them in registers this way
// (an array of vectors made it shuffle copies through memory). Rows/panels beyond MR/NP are dead and vanish.
#define DQ_ROWS(X) X(0) X(1) X(2) X(3)
#define DQ_DECL(r) __m256i c##r##_0 = _mm256_setzero_si256(), c##r##_1 = c##r##_0, c##r##_2 = c##r##_0;
// One group of 4 k for row r: the (k0,k1) and (k2,k3) int16 pairs of A, multiply-added with every panel's pairs.
#define DQ_ROW(r)                                                                                   \
  if constexpr (MR > r) {                                                                           \
    __m256i a01_i16_, a23_i16_;                                                                     \
    if constexpr (kMode == kAWide) {                                                                \
      int32_t pair_[2];                                                                             \
      std::memcpy(pair_, a_base_ + r * a_stride_, 8);                                               \
      a01_i16_ = _mm256_set1_epi32(pair_[0]);                                                       \
      a23_i16_ = _mm256_set1_epi32(pair_[1]);                                                       \
    } else {                                                                                        \
      widen_a<kMode == kAS8>(a_base_ + r * a_stride_, &a01_i16_, &a23_i16_);                        \
    }                                                                                               \
    c##r##_0 = madd2(c##r##_0, a01_i16_, w01_0, a23_i16_, w23_0);                                   \
    if constexpr (NP > 1) c##r##_1 = madd2(c##r##_1, a01_i16_, w01_1, a23_i16_, w23_1);             \
    if constexpr (NP > 2) c##r##_2 = madd2(c##r##_2, a01_i16_, w01_2, a23_i16_, w23_2);             \
  }
// One group of 4 k for all rows: A rows at A_BASE + r·A_STRIDE, the panels' group at W_PTR (+ j·panel_stride).
#define DQ_GROUP(A_BASE, A_STRIDE, W_PTR)                                                           \
  {                                                                                                 \
    const uint8_t* a_base_ = (A_BASE);                                                              \
    const int64_t a_stride_ = (A_STRIDE);                                                           \
    const uint8_t* w_ = (W_PTR);                                                                    \
    const __m256i w01_0 = widen_w(w_), w23_0 = widen_w(w_ + 16);                                    \
    const __m256i w01_1 = NP > 1 ? widen_w(w_ + m.panel_stride) : w01_0;                            \
    const __m256i w23_1 = NP > 1 ? widen_w(w_ + m.panel_stride + 16) : w23_0;                       \
    const __m256i w01_2 = NP > 2 ? widen_w(w_ + 2 * m.panel_stride) : w01_0;                        \
    const __m256i w23_2 = NP > 2 ? widen_w(w_ + 2 * m.panel_stride + 16) : w23_0;                   \
    DQ_ROWS(DQ_ROW)                                                                                 \
  }
#define DQ_SAVE(r)                                                                                  \
  if constexpr (MR > r) {                                                                           \
    acc_i32x8[r][0] = c##r##_0;                                                                     \
    if constexpr (NP > 1) acc_i32x8[r][1] = c##r##_1;                                               \
    if constexpr (NP > 2) acc_i32x8[r][2] = c##r##_2;                                               \
  }

template <int MR, int NP, int kMode>
void micro(const GemmS8Args& p, const MicroArgs& m) {
  static_assert(MR >= 1 && MR <= 4 && NP >= 1 && NP <= 3, "micro-tile shape");
  DQ_ROWS(DQ_DECL)
  const int64_t full = m.k / 4;
  const int64_t rest = m.k - full * 4;
  const uint8_t* body = m.panels + kNr * 4;
  // The last partial group reads A from a zeroed copy of its existing bytes (no overread of A); its padding lanes
  // meet zero weights. It runs as the loop's last iteration so the loop is the only code touching the accumulators.
  alignas(32) uint8_t tail[MR][4] = {};
  if (rest > 0) {
    for (int r = 0; r < MR; ++r) std::memcpy(tail[r], m.a + r * m.lda + full * 4, static_cast<size_t>(rest));
  }
  const int64_t groups = full + (rest > 0 ? 1 : 0);
  constexpr int64_t kGroupBytes = kMode == kAWide ? 8 : 4;  // A bytes per group of 4 k
  for (int64_t q = 0; q < groups; ++q) {
    const bool in_a = q < full;
    DQ_GROUP(in_a ? m.a + q * kGroupBytes : &tail[0][0], in_a ? m.lda : 4, body + q * 32)
  }
  __m256i acc_i32x8[MR][NP];
  DQ_ROWS(DQ_SAVE)
  for (int r = 0; r < MR; ++r) {
    const __m256i row_off_i32x8 = _mm256_set1_epi32(static_cast<int32_t>(m.row_off[r]));
    for (int j = 0; j < NP; ++j) store(p, m.row + r, m.cols[j], _mm256_add_epi32(acc_i32x8[r][j], row_off_i32x8));
  }
}
#undef DQ_SAVE
#undef DQ_GROUP
#undef DQ_ROW
#undef DQ_DECL
#undef DQ_ROWS

// dst row r (int16 × kp, kp = K rounded up to 4) = A row r widened (sign- or zero-extended), zero-padded.
void widen_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, int64_t kp, bool a_signed, int16_t* dst) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lda;
    int16_t* d = dst + r * kp;
    int64_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
      const __m128i v_x8x16 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + kk));
      const __m256i v_i16x16 = a_signed ? _mm256_cvtepi8_epi16(v_x8x16) : _mm256_cvtepu8_epi16(v_x8x16);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + kk), v_i16x16);
    }
    for (; kk < k; ++kk) d[kk] = a_signed ? static_cast<int16_t>(static_cast<int8_t>(s[kk])) : s[kk];
    for (; kk < kp; ++kk) d[kk] = 0;
  }
}

void stage_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, bool a_signed, uint8_t* dst) {
  widen_rows(src, lda, rows, k, staged_k(k), a_signed, reinterpret_cast<int16_t*>(dst));
}

}  // namespace

const GemmS8Kernel& gemm_s8_avx2() noexcept {
  static const GemmS8Kernel kernel{Isa::kAvx2, "gemm_u8s8s32_avx2", "gemm_s8s8s32_avx2",
                                   kMr, kNp * kNr, packed_bytes, pack, tile};
  return kernel;
}

}  // namespace distiq
