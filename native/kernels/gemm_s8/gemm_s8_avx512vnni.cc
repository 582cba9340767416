// gemm_u8s8s32_avx512vnni / gemm_s8s8s32_avx512vnni: int8 GEMM with AVX-512 VNNI (vpdpbusd on zmm).
//
// Contract: distiq/gemm_s8.h — C = Σ_k (A − z_a)(W − z_w) modulo 2^32, then the documented epilogue; bit-identical
// to gemm_s8_ref for every output kind.
//
// Packed layout (kernel-private): W is cut into panels of 16 output columns. Each panel is
//   [16 × int32 column sums Σ_k W[j,k]] [⌈K/4⌉ groups × 16 columns × 4 bytes]
// where one 32-bit lane holds 4 consecutive k of one column, i.e. exactly the s8 operand vpdpbusd wants. Columns
// past n and k past K are zero, so they add nothing. Panel stride = 64 + 64·⌈K/4⌉ bytes.
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
// Blocking: micro-tiles of up to kMr (14) rows × kNp panels (32 columns) in zmm accumulators over all of K; for
// m ≤ 4 (GEMV-like) the tile uses 1–4 rows × 4 panels so each W byte loaded feeds every row. Rows go in chunks
// (≤ kRowChunk rows, ≈ kChunkBytes of A, so a chunk stays in L2) whose row sums are computed once; columns go in
// blocks of ≈ kWBlockBytes of W (kept in L2 while every row chunk passes over it); each micro-tile's W panels are
// reused by every row block of the chunk. The C lines of a micro-tile are prefetched before its K loop (a large C
// is cold and each store would otherwise wait for its line).
//
// Tails / overreads: A is read 4 bytes at a time only for full groups of 4 k; the last partial group is copied
// into a zeroed 4-byte buffer, so no byte past row i's K is read. N tails use masked stores, masked loads of scales
// and bias.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>
#include <cstdlib>
#include <cstring>

#include "distiq/gemm_s8.h"

namespace distiq {
namespace {

constexpr int64_t kNr = 16;       // columns per panel (int32 lanes of a zmm)
constexpr int kMr = 14;            // rows per micro-tile
constexpr int kNp = 2;            // panels per micro-tile
constexpr int kNpGemv = 4;        // panels per micro-tile when the tile has ≤ kGemvRows rows
constexpr int kGemvRows = 4;
constexpr int64_t kRowChunk = 8 * kMr;  // most rows whose A sums are computed together
constexpr int64_t kChunkBytes = 256 * 1024;  // target bytes of A per row chunk (stays in L2)
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
          body[(q * kNr + c) * 4 + b] = static_cast<uint8_t>(v);
          sums[c] += static_cast<uint32_t>(static_cast<int32_t>(v));
        }
      }
    }
    std::memcpy(panel, sums, sizeof(sums));
  }
}

#include "gemm_s8_zmm_epilogue.h"

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

struct MicroArgs {
  const uint8_t* a;       // row 0 of the micro-tile, column 0
  int64_t lda;
  const uint8_t* panels;  // the first panel of the micro-tile
  size_t panel_stride;
  int64_t k;
  const uint32_t* row_off;  // per row: −z_w·Σa + K·z_a·z_w (mod 2^32)
  int64_t row;            // index of row 0 in C
  const Columns* cols;    // kNp entries
};

// Accumulators are named variables (c<row>_<panel>) rather than an array: GCC keeps them in zmm registers this way
// (an array of vectors made it shuffle copies through the loop). Rows/panels beyond MR/NP are dead and vanish.
#define DQ_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define DQ_DECL(r)                                                                                  \
  __m512i c##r##_0 = _mm512_setzero_si512(), c##r##_1 = _mm512_setzero_si512(),                     \
          c##r##_2 = _mm512_setzero_si512(), c##r##_3 = _mm512_setzero_si512();
// One group of 4 k for row r: broadcast its 4 A bytes (flipped for s8) and multiply with every panel.
#define DQ_ROW(r)                                                                                   \
  if constexpr (MR > r) {                                                                           \
    int32_t group_;                                                                                 \
    std::memcpy(&group_, a_base_ + r * a_stride_, 4);                                               \
    __m512i a_u8x64 = _mm512_set1_epi32(group_);                                                    \
    if constexpr (kSigned) a_u8x64 = _mm512_xor_si512(a_u8x64, flip_u8x64);                         \
    c##r##_0 = _mm512_dpbusd_epi32(c##r##_0, a_u8x64, w0_s8x64);                                    \
    if constexpr (NP > 1) c##r##_1 = _mm512_dpbusd_epi32(c##r##_1, a_u8x64, w1_s8x64);              \
    if constexpr (NP > 2) c##r##_2 = _mm512_dpbusd_epi32(c##r##_2, a_u8x64, w2_s8x64);              \
    if constexpr (NP > 3) c##r##_3 = _mm512_dpbusd_epi32(c##r##_3, a_u8x64, w3_s8x64);              \
  }
// One group of 4 k for all rows: A rows at A_BASE + r·A_STRIDE, the panels' group at W_PTR (+ j·panel_stride).
#define DQ_GROUP(A_BASE, A_STRIDE, W_PTR)                                                           \
  {                                                                                                 \
    const uint8_t* a_base_ = (A_BASE);                                                              \
    const int64_t a_stride_ = (A_STRIDE);                                                           \
    const uint8_t* w_ = (W_PTR);                                                                    \
    const __m512i w0_s8x64 = _mm512_loadu_si512(w_);                                                \
    const __m512i w1_s8x64 = NP > 1 ? _mm512_loadu_si512(w_ + m.panel_stride) : w0_s8x64;           \
    const __m512i w2_s8x64 = NP > 2 ? _mm512_loadu_si512(w_ + 2 * m.panel_stride) : w0_s8x64;       \
    const __m512i w3_s8x64 = NP > 3 ? _mm512_loadu_si512(w_ + 3 * m.panel_stride) : w0_s8x64;       \
    DQ_ROWS(DQ_ROW)                                                                                 \
  }
#define DQ_SAVE(r)                                                                                  \
  if constexpr (MR > r) {                                                                           \
    acc_i32x16[r][0] = c##r##_0;                                                                    \
    if constexpr (NP > 1) acc_i32x16[r][1] = c##r##_1;                                              \
    if constexpr (NP > 2) acc_i32x16[r][2] = c##r##_2;                                              \
    if constexpr (NP > 3) acc_i32x16[r][3] = c##r##_3;                                              \
  }

template <int MR, int NP, bool kSigned>
void micro(const GemmS8Args& p, const MicroArgs& m) {
  static_assert(MR >= 1 && MR <= 14 && NP >= 1 && NP <= 4, "micro-tile shape");
  DQ_ROWS(DQ_DECL)
  prefetch_output(p, m.row, MR, m.cols[0].col, NP * kNr);
  const __m512i flip_u8x64 = _mm512_set1_epi8(static_cast<char>(0x80));
  const int64_t full = m.k / 4;
  const int64_t rest = m.k - full * 4;
  const uint8_t* body = m.panels + kNr * 4;
  // The last partial group reads A from a zeroed copy of its existing bytes (no overread of A); its padding lanes
  // meet zero weights. It runs as the loop's last iteration so the loop is the only code touching the accumulators.
  alignas(64) uint8_t tail[MR][4] = {};
  if (rest > 0) {
    for (int r = 0; r < MR; ++r) std::memcpy(tail[r], m.a + r * m.lda + full * 4, static_cast<size_t>(rest));
  }
  const int64_t groups = full + (rest > 0 ? 1 : 0);
  for (int64_t q = 0; q < groups; ++q) {
    const bool in_a = q < full;
    DQ_GROUP(in_a ? m.a + q * 4 : &tail[0][0], in_a ? m.lda : 4, body + q * 64)
  }
  __m512i acc_i32x16[MR][NP];
  DQ_ROWS(DQ_SAVE)
  for (int r = 0; r < MR; ++r) {
    const __m512i row_off_i32x16 = _mm512_set1_epi32(static_cast<int32_t>(m.row_off[r]));
    for (int j = 0; j < NP; ++j) {
      store(p, m.row + r, m.cols[j], _mm512_add_epi32(acc_i32x16[r][j], row_off_i32x16));
    }
  }
}
#undef DQ_SAVE
#undef DQ_GROUP
#undef DQ_ROW
#undef DQ_DECL
#undef DQ_ROWS

using MicroFn = void (*)(const GemmS8Args&, const MicroArgs&);

// Micro-kernel tables: [signed][np − 1][mr − 1], for the main shapes (≤ kMr rows × ≤ kNp panels) and the GEMV
// shapes (≤ kGemvRows rows × ≤ kNpGemv panels).
template <int MaxRows, int NP, bool kSigned, int... R>
constexpr std::array<MicroFn, MaxRows> rows_of(std::integer_sequence<int, R...>) {
  return {micro<R + 1, NP, kSigned>...};
}
template <int MaxRows, bool kSigned, int... P>
constexpr std::array<std::array<MicroFn, MaxRows>, sizeof...(P)> table_of(std::integer_sequence<int, P...>) {
  return {rows_of<MaxRows, P + 1, kSigned>(std::make_integer_sequence<int, MaxRows>())...};
}
template <int MaxRows, int MaxPanels>
struct Table {
  std::array<std::array<MicroFn, MaxRows>, MaxPanels> by_sign[2] = {
      table_of<MaxRows, false>(std::make_integer_sequence<int, MaxPanels>()),
      table_of<MaxRows, true>(std::make_integer_sequence<int, MaxPanels>())};
};
const Table<kMr, kNp> kMainTable;
const Table<kGemvRows, kNpGemv> kGemvTable;

MicroFn pick(bool a_signed, bool gemv, int mr, int np) {
  return gemv ? kGemvTable.by_sign[a_signed][np - 1][mr - 1] : kMainTable.by_sign[a_signed][np - 1][mr - 1];
}

// Per-thread scratch for flipped (s8 → u8) rows of A, kept between calls and freed at thread exit. A plain struct
// of this file (no std::unique_ptr instantiation that other translation units could share with ISA flags).
struct FlipScratch {
  uint8_t* data = nullptr;
  size_t capacity = 0;
  ~FlipScratch() { std::free(data); }
};

// Null if the scratch cannot be allocated; the caller then flips inside the micro-kernel (same bits, slower).
uint8_t* flip_scratch(size_t bytes) {
  thread_local FlipScratch scratch;
  if (scratch.capacity < bytes) {
    std::free(scratch.data);
    scratch.data = static_cast<uint8_t*>(std::malloc(bytes));
    scratch.capacity = scratch.data != nullptr ? bytes : 0;
  }
  return scratch.data;
}

// dst[r][0..k) = src[r][0..k) XOR 0x80 for `rows` rows (src stride lda, dst stride k); masked tail, no overread.
void flip_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, uint8_t* dst) {
  const __m512i flip_u8x64 = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lda;
    uint8_t* d = dst + r * k;
    int64_t kk = 0;
    for (; kk + 64 <= k; kk += 64) _mm512_storeu_si512(d + kk, _mm512_xor_si512(_mm512_loadu_si512(s + kk), flip_u8x64));
    if (kk < k) {
      const __mmask64 mask = (~0ull) >> (64 - (k - kk));
      _mm512_mask_storeu_epi8(d + kk, mask, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, s + kk), flip_u8x64));
    }
  }
}

void tile(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k;
  const size_t stride = panel_stride(k);
  const uint8_t* a = static_cast<const uint8_t*>(p.a);
  const uint32_t za = static_cast<uint32_t>(p.za), zw = static_cast<uint32_t>(p.zw);
  const uint32_t za_eff = za + (p.a_signed ? 128u : 0u);
  const uint32_t k_za_zw = static_cast<uint32_t>(k) * za * zw;
  const bool gemv = (m1 - m0) <= kGemvRows;
  const int np_max = gemv ? kNpGemv : kNp;
  const int mr_max = gemv ? kGemvRows : kMr;
  // Row chunks: up to kRowChunk rows, fewer for long K so a chunk of A (≈ kChunkBytes) stays in L2.
  const int64_t chunk = std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(k, 1) / kMr * kMr, kMr, kRowChunk);
  // s8×s8 without gemv: flip each chunk of A once into scratch, so the micro-kernel runs its u8 path (no per-group
  // XOR); a small m or a failed allocation flips inside the micro-kernel instead.
  uint8_t* flipped = (p.a_signed && !gemv && k > 0) ? flip_scratch(static_cast<size_t>(chunk * k)) : nullptr;
  const bool xor_in_kernel = p.a_signed && flipped == nullptr;
  uint32_t row_off[kRowChunk];
  // Column blocks: ≤ kWBlockBytes of packed W, so a block stays in L2 while every row chunk passes over it; blocks
  // are balanced and cut at multiples of the micro-tile width.
  const int64_t step = kNp * kNr;
  const int64_t cols_fit = std::max<int64_t>(step, kWBlockBytes / static_cast<int64_t>(stride) * kNr);
  const int64_t blocks = (n1 - n0 + cols_fit - 1) / cols_fit;
  const int64_t n_block = ((n1 - n0 + blocks - 1) / blocks + step - 1) / step * step;
  for (int64_t nb0 = n0; nb0 < n1; nb0 += n_block) {
    const int64_t nb1 = std::min(n1, nb0 + n_block);
    for (int64_t i0 = m0; i0 < m1; i0 += chunk) {
      const int64_t i1 = std::min(m1, i0 + chunk);
      for (int64_t i = i0; i < i1; ++i) {
        row_off[i - i0] = k_za_zw - (zw != 0 ? zw * row_sum(a + i * p.lda, k, p.a_signed) : 0u);
      }
      const uint8_t* a_chunk = a + i0 * p.lda;
      int64_t lda = p.lda;
      if (flipped != nullptr) {
        flip_rows(a_chunk, p.lda, i1 - i0, k, flipped);
        a_chunk = flipped;
        lda = k;
      }
      for (int64_t j = nb0; j < nb1; j += np_max * kNr) {
        const int np = static_cast<int>(std::min<int64_t>(np_max, (nb1 - j + kNr - 1) / kNr));
        const uint8_t* panels = w.panels + (j / kNr) * stride;
        Columns cols[kNpGemv];
        for (int c = 0; c < np; ++c) cols[c] = load_columns(p, panels + c * stride, j + c * kNr, n1, za_eff);
        for (int64_t i = i0; i < i1; i += mr_max) {
          const int mr = static_cast<int>(std::min<int64_t>(mr_max, i1 - i));
          const MicroArgs args{a_chunk + (i - i0) * lda, lda, panels, stride, k, row_off + (i - i0), i, cols};
          pick(xor_in_kernel, gemv, mr, np)(p, args);
        }
      }
    }
  }
}

}  // namespace

const GemmS8Kernel& gemm_s8_avx512vnni() noexcept {
  static const GemmS8Kernel kernel{Isa::kAvx512Vnni, "gemm_u8s8s32_avx512vnni", "gemm_s8s8s32_avx512vnni",
                                   kMr, kNp * kNr, packed_bytes, pack, tile};
  return kernel;
}

}  // namespace distiq
