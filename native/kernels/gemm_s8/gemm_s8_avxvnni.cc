// gemm_u8s8s32_avxvnni / gemm_s8s8s32_avxvnni: int8 GEMM with AVX-VNNI (VEX vpdpbusd on ymm).
//
// Contract: distiq/gemm_s8.h — C = Σ_k (A − z_a)(W − z_w) modulo 2^32, then the documented epilogue; bit-identical
// to gemm_s8_ref for every output kind.
//
// Packed layout (kernel-private): W is cut into panels of 8 output columns. Each panel is
//   [8 × int32 column sums Σ_k W[j,k]] [⌈K/4⌉ groups × 8 columns × 4 bytes]
// where one 32-bit lane holds 4 consecutive k of one column, i.e. exactly the s8 operand vpdpbusd wants. Columns
// past n and k past K are zero, so they add nothing. Panel stride = 32 + 32·⌈K/4⌉ bytes.
//
// Algebra. vpdpbusd multiplies u8 (first operand) by s8 (second) and adds 4 products into each int32 lane,
// wrapping, so Σ a·w is exact modulo 2^32. Then
//   Σ (a − z_a)(w − z_w) = Σ a·w − z_w·Σ_k a − z_a·Σ_k w + K·z_a·z_w                  (all mod 2^32)
// u8 × s8: A is the u8 operand directly.
// s8 × s8: A is flipped to a' = a XOR 0x80 = a + 128 (as u8), and a − z_a = a' − (z_a + 128), so this is the u8
// case with z_a' = z_a + 128:  Σ (a − z_a)(w − z_w) = Σ a'·w − z_w·Σ a' − (z_a+128)·Σ w + K·(z_a+128)·z_w.
// We use Σ a' = Σ a + 128·K, which makes the row term −z_w·Σ a + K·z_a·z_w in both cases.
// The column term −z_a'·Σw comes from the panel header, the row term from a per-row sum of A (skipped if z_w = 0).
// Where the flip happens: for tiles of more than 4 rows each row chunk of A is flipped once into per-thread
// scratch (reused between calls), so the inner loop is the plain u8 loop; for GEMV-sized tiles, or if the scratch
// cannot be allocated, each broadcast group is XORed in the loop instead. Same bits either way.
//
// Blocking: gemm_s8_x86_blocking.h (column blocks in L2 with the next one prefetched, row chunks, equal row
// blocks, row block outer). Micro-tiles: up to kMr rows × kNp panels (16 columns) in ymm accumulators over all of
// K; for m ≤ 4 the tile uses 1–4 rows × 3 panels.
//
// Tails / overreads: A is read 4 bytes at a time only for full groups of 4 k; the last partial group is copied
// into a zeroed 4-byte buffer, so no byte past row i's K is read. N tails use vmaskmov stores and loads (masked-off
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
constexpr int kMr = 6;            // rows per micro-tile
constexpr int kNp = 2;            // panels per micro-tile
constexpr int kNpGemv = 3;        // panels per micro-tile when the tile has ≤ kGemvRows rows
constexpr int kGemvRows = 4;
constexpr int64_t kRowChunk = 8 * kMr;  // most rows whose A sums are computed together
constexpr int64_t kChunkBytes = 256 * 1024;  // target bytes of A per row chunk (stays in L2)
constexpr int64_t kWBlockBytes = 512 * 1024;  // target bytes of packed W per column block (stays in L2)
constexpr bool kWidenA = false;  // A staging: s8 rows flipped to u8 (gemm_s8_x86_blocking.h)

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
          body[(q * kNr + c) * 4 + b] = static_cast<uint8_t>(v);
          sums[c] += static_cast<uint32_t>(static_cast<int32_t>(v));
        }
      }
    }
    std::memcpy(panel, sums, sizeof(sums));
  }
}

#include "gemm_s8_ymm_epilogue.h"

// Asks for the micro-tile's C lines now, so the epilogue's stores do not each wait for a read-for-ownership from
// memory (a large C is cold); the K loop takes far longer than the fetches.
void prefetch_output(const GemmS8Args& p, int64_t row, int rows, int64_t col, int64_t cols) {
  const size_t elem = (p.out == GemmOut::kS32 || p.out == GemmOut::kF32) ? 4 : 1;
  const size_t bytes = static_cast<size_t>(cols) * elem;
  for (int r = 0; r < rows; ++r) {
    const char* line = static_cast<const char*>(p.c) + ((row + r) * p.ldc + col) * static_cast<int64_t>(elem);
    for (size_t off = 0; off < bytes; off += 64) _mm_prefetch(line + off, _MM_HINT_T0);
  }
}

#include "gemm_s8_x86_blocking.h"

// Accumulators are named variables (c<row>_<panel>) rather than an array: GCC keeps them in ymm registers this way
// (an array of vectors made it shuffle copies through memory). Rows/panels beyond MR/NP are dead and vanish.
#define DQ_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define DQ_DECL(r)                                                                                  \
  __m256i c##r##_0 = _mm256_setzero_si256(), c##r##_1 = _mm256_setzero_si256(),                     \
          c##r##_2 = _mm256_setzero_si256();
// One group of 4 k for row r: broadcast its 4 A bytes (flipped for s8) and multiply with every panel.
#define DQ_ROW(r)                                                                                   \
  if constexpr (MR > r) {                                                                           \
    int32_t group_;                                                                                 \
    std::memcpy(&group_, a_base_ + r * a_stride_, 4);                                               \
    __m256i a_u8x32 = _mm256_set1_epi32(group_);                                                    \
    if constexpr (kSigned) a_u8x32 = _mm256_xor_si256(a_u8x32, flip_u8x32);                         \
    c##r##_0 = _mm256_dpbusd_avx_epi32(c##r##_0, a_u8x32, w0_s8x32);                                \
    if constexpr (NP > 1) c##r##_1 = _mm256_dpbusd_avx_epi32(c##r##_1, a_u8x32, w1_s8x32);          \
    if constexpr (NP > 2) c##r##_2 = _mm256_dpbusd_avx_epi32(c##r##_2, a_u8x32, w2_s8x32);          \
  }
// One group of 4 k for all rows: A rows at A_BASE + r·A_STRIDE, the panels' group at W_PTR (+ j·panel_stride).
#define DQ_GROUP(A_BASE, A_STRIDE, W_PTR)                                                           \
  {                                                                                                 \
    const uint8_t* a_base_ = (A_BASE);                                                              \
    const int64_t a_stride_ = (A_STRIDE);                                                           \
    const uint8_t* w_ = (W_PTR);                                                                    \
    const __m256i w0_s8x32 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_));              \
    const __m256i w1_s8x32 =                                                                        \
        NP > 1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_ + m.panel_stride)) : w0_s8x32; \
    const __m256i w2_s8x32 =                                                                        \
        NP > 2 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w_ + 2 * m.panel_stride)) : w0_s8x32; \
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
  constexpr bool kSigned = kMode == kAS8;
  static_assert(MR >= 1 && MR <= 6 && NP >= 1 && NP <= 3, "micro-tile shape");
  DQ_ROWS(DQ_DECL)
  prefetch_output(p, m.row, MR, m.cols[0].col, NP * kNr);
  const __m256i flip_u8x32 = _mm256_set1_epi8(static_cast<char>(0x80));
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
  for (int64_t q = 0; q < groups; ++q) {
    const bool in_a = q < full;
    DQ_GROUP(in_a ? m.a + q * 4 : &tail[0][0], in_a ? m.lda : 4, body + q * 32)
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

// dst[r][0..k) = src[r][0..k) XOR 0x80 for `rows` rows (src stride lda, dst stride k); scalar tail, no overread.
void flip_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, uint8_t* dst) {
  const __m256i flip_u8x32 = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lda;
    uint8_t* d = dst + r * k;
    int64_t kk = 0;
    for (; kk + 32 <= k; kk += 32) {
      const __m256i v_u8x32 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + kk));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + kk), _mm256_xor_si256(v_u8x32, flip_u8x32));
    }
    for (; kk < k; ++kk) d[kk] = static_cast<uint8_t>(s[kk] ^ 0x80u);
  }
}

void stage_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, bool, uint8_t* dst) {
  flip_rows(src, lda, rows, k, dst);
}

}  // namespace

const GemmS8Kernel& gemm_s8_avxvnni() noexcept {
  static const GemmS8Kernel kernel{Isa::kAvxVnni, "gemm_u8s8s32_avxvnni", "gemm_s8s8s32_avxvnni",
                                   kMr, kNp * kNr, packed_bytes, pack, tile};
  return kernel;
}

}  // namespace distiq
