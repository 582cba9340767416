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
// scratch (reused between calls), so the inner loop is the plain u8 loop; GEMV-sized tiles (or a failed scratch
// allocation) flip slices of ≤ kSliceK k of their rows into a stack buffer per micro-tile. Same bits either way.
//
// Blocking: gemm_s8_x86_blocking.h (column blocks in L2 with the next one prefetched, row chunks, equal row
// blocks, row block outer). Micro-tiles: up to kMr (14) rows × kNp panels (32 columns) in zmm0-27; m ≤ 4 (GEMV)
// uses 1–4 rows × 4 panels so each W byte loaded feeds every row. The K loop is inline assembly (see k_loop): one
// group of 4 k is 2 (GEMV: up to 4) 64-byte weight loads, one vpbroadcastd per row and MR·NP vpdpbusd; the
// weights are prefetched kPrefetchW bytes ahead into L1 and a share of the next column block into L2. The C lines
// of a micro-tile are prefetched before its K loop (a large C is cold and each store would wait for its line).
// Measured on this machine, single micro-tile in cache: 0.92 of the vpdpbusd zmm peak.
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
#include "distiq/scratch.h"

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
constexpr int64_t kPrefetchW = 1024;  // bytes ahead in each panel that the K loop prefetches

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
    const uintptr_t first = reinterpret_cast<uintptr_t>(static_cast<const char*>(p.c) +
                                                        ((row + r) * p.ldc + col) * static_cast<int64_t>(elem));
    // Every line the row's stores touch (a C not aligned to 64 bytes spans one more line).
    for (uintptr_t line = first & ~uintptr_t{63}; line < first + bytes; line += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(line), _MM_HINT_T0);
    }
  }
}

constexpr bool kWidenA = false;  // A staging: s8 rows flipped to u8 (gemm_s8_x86_blocking.h)

#include "gemm_s8_x86_blocking.h"

// The K loop is inline assembly: with 28 accumulators GCC's register allocator spilled accumulators inside the
// loop (and its addressing of 14 A rows) whatever the source shape, which cost a third of the throughput. The
// text is built by the preprocessor; `.if` on the MR / NP immediates drops rows and panels a tile does not have.
// Registers: accumulator (r, j) is zmm(c_j) in DQ_ROW's list, weights of panel j in zmm28, zmm29, zmm26, zmm27,
// the broadcast A group in zmm30. Main tiles (≤ 14 rows × ≤ 2 panels) use zmm0-27 as accumulators, GEMV tiles
// (≤ 4 rows × ≤ 4 panels) zmm0-15. At the end the accumulators go to out[r][j][16].
#define DQ_W(j, reg) "vmovdqu64 " j "(%[w]), %%zmm" reg "\n\t"
#define DQ_ROW(r, c0, c1, c2, c3, addr)                                      \
  ".if " #r " < %c[mr]\n\t"                                                  \
  "vpbroadcastd " addr ", %%zmm30\n\t"                                       \
  "vpdpbusd %%zmm28, %%zmm30, %%zmm" #c0 "\n\t"                              \
  ".if %c[np] > 1\n\tvpdpbusd %%zmm29, %%zmm30, %%zmm" #c1 "\n\t.endif\n\t"  \
  ".if %c[np] > 2\n\tvpdpbusd %%zmm26, %%zmm30, %%zmm" #c2 "\n\t.endif\n\t"  \
  ".if %c[np] > 3\n\tvpdpbusd %%zmm27, %%zmm30, %%zmm" #c3 "\n\t.endif\n\t"  \
  ".endif\n\t"
#define DQ_ZERO(r, c0, c1, c2, c3, addr)                                                       \
  ".if " #r " < %c[mr]\n\t"                                                                    \
  ".if %c[acc]\n\t"                                                                            \
  "vmovdqu64 64*(" #r "*%c[np])(%[out]), %%zmm" #c0 "\n\t"                                     \
  ".if %c[np] > 1\n\tvmovdqu64 64*(" #r "*%c[np]+1)(%[out]), %%zmm" #c1 "\n\t.endif\n\t"       \
  ".if %c[np] > 2\n\tvmovdqu64 64*(" #r "*%c[np]+2)(%[out]), %%zmm" #c2 "\n\t.endif\n\t"       \
  ".if %c[np] > 3\n\tvmovdqu64 64*(" #r "*%c[np]+3)(%[out]), %%zmm" #c3 "\n\t.endif\n\t"       \
  ".else\n\t"                                                                                  \
  "vpxord %%zmm" #c0 ", %%zmm" #c0 ", %%zmm" #c0 "\n\t"                                        \
  ".if %c[np] > 1\n\tvpxord %%zmm" #c1 ", %%zmm" #c1 ", %%zmm" #c1 "\n\t.endif\n\t"            \
  ".if %c[np] > 2\n\tvpxord %%zmm" #c2 ", %%zmm" #c2 ", %%zmm" #c2 "\n\t.endif\n\t"            \
  ".if %c[np] > 3\n\tvpxord %%zmm" #c3 ", %%zmm" #c3 ", %%zmm" #c3 "\n\t.endif\n\t"            \
  ".endif\n\t"                                                                                 \
  ".endif\n\t"
#define DQ_SAVE(r, c0, c1, c2, c3, addr)                                                           \
  ".if " #r " < %c[mr]\n\t"                                                                    \
  "vmovdqu64 %%zmm" #c0 ", 64*(" #r "*%c[np])(%[out])\n\t"                                     \
  ".if %c[np] > 1\n\tvmovdqu64 %%zmm" #c1 ", 64*(" #r "*%c[np]+1)(%[out])\n\t.endif\n\t"       \
  ".if %c[np] > 2\n\tvmovdqu64 %%zmm" #c2 ", 64*(" #r "*%c[np]+2)(%[out])\n\t.endif\n\t"       \
  ".if %c[np] > 3\n\tvmovdqu64 %%zmm" #c3 ", 64*(" #r "*%c[np]+3)(%[out])\n\t.endif\n\t"       \
  ".endif\n\t"
// Row r of A is at b0 + r·lda, addressed from three bases (b1 = b0 + 5·lda, b2 = b0 + 10·lda) with L = lda and
// L3 = 3·lda, so 14 rows need 5 registers.
#define DQ_MAIN_ROWS(X)                                                                                      \
  X(0, 0, 14, 0, 0, "(%[b0])") X(1, 1, 15, 0, 0, "(%[b0],%[L])") X(2, 2, 16, 0, 0, "(%[b0],%[L],2)")       \
  X(3, 3, 17, 0, 0, "(%[b0],%[L3])") X(4, 4, 18, 0, 0, "(%[b0],%[L],4)") X(5, 5, 19, 0, 0, "(%[b1])")      \
  X(6, 6, 20, 0, 0, "(%[b0],%[L3],2)") X(7, 7, 21, 0, 0, "(%[b1],%[L],2)")                                 \
  X(8, 8, 22, 0, 0, "(%[b0],%[L],8)") X(9, 9, 23, 0, 0, "(%[b1],%[L],4)") X(10, 10, 24, 0, 0, "(%[b2])")   \
  X(11, 11, 25, 0, 0, "(%[b2],%[L])") X(12, 12, 26, 0, 0, "(%[b2],%[L],2)")                                \
  X(13, 13, 27, 0, 0, "(%[b2],%[L3])")
#define DQ_GEMV_ROWS(X)                                                                             \
  X(0, 0, 4, 8, 12, "(%[b0])") X(1, 1, 5, 9, 13, "(%[b0],%[L])") X(2, 2, 6, 10, 14, "(%[b0],%[L],2)") \
  X(3, 3, 7, 11, 15, "(%[b0],%[L3])")
#define DQ_LOOP(ROWS)                                                                      \
  ROWS(DQ_ZERO)                                                                            \
  "test %[n], %[n]\n\t"                                                                    \
  "jle 2f\n\t"                                                                             \
  ".p2align 5\n"                                                                           \
  "1:\n\t"                                                                                 \
  "vmovdqu64 (%[w]), %%zmm28\n\t"                                                          \
  ".if %c[np] > 1\n\tvmovdqu64 (%[w],%[ps]), %%zmm29\n\t.endif\n\t"                        \
  ".if %c[np] > 2\n\tvmovdqu64 (%[w],%[ps],2), %%zmm26\n\t.endif\n\t"                      \
  ".if %c[np] > 3\n\tvmovdqu64 (%[w],%[ps3]), %%zmm27\n\t.endif\n\t"                       \
  "prefetcht0 %c[pfd](%[w])\n\t"                                                           \
  ".if %c[np] > 1\n\tprefetcht0 %c[pfd](%[w],%[ps])\n\t.endif\n\t"                         \
  ".if %c[np] > 2\n\tprefetcht0 %c[pfd](%[w],%[ps],2)\n\t.endif\n\t"                       \
  ".if %c[np] > 3\n\tprefetcht0 %c[pfd](%[w],%[ps3])\n\t.endif\n\t"                        \
  ROWS(DQ_ROW)                                                                             \
  "cmp %[pfe], %[pf]\n\t"                                                                  \
  "jae 3f\n\t"                                                                             \
  "prefetcht1 (%[pf])\n\t"                                                                 \
  "prefetcht1 64(%[pf])\n\t"                                                               \
  "prefetcht1 128(%[pf])\n\t"                                                              \
  "prefetcht1 192(%[pf])\n\t"                                                              \
  "add %[pfs], %[pf]\n"                                                                     \
  "3:\n\t"                                                                                 \
  "add $64, %[w]\n\t"                                                                      \
  "add $4, %[b0]\n\t"                                                                      \
  ".if %c[mr] > 5\n\tadd $4, %[b1]\n\t.endif\n\t"                                         \
  ".if %c[mr] > 10\n\tadd $4, %[b2]\n\t.endif\n\t"                                        \
  "dec %[n]\n\t"                                                                           \
  "jnz 1b\n"                                                                               \
  "2:\n\t"                                                                                 \
  ROWS(DQ_SAVE)

// Σ over `groups` groups of 4 k of one micro-tile (A rows at a + r·lda, weights at w + j·panel_stride) into
// out[r][j][16] (int32, wrapping); with kAcc the sums start from out instead of zero.
template <int MR, int NP, bool kAcc>
void k_loop(const uint8_t* a, int64_t lda, const uint8_t* w, int64_t groups, size_t panel_stride, int32_t* out,
            Prefetch pre) {
  static_assert((MR >= 1 && MR <= 14 && NP >= 1 && NP <= 2) || (MR <= 4 && NP <= 4), "micro-tile shape");
  const int64_t ps = static_cast<int64_t>(panel_stride), ps3 = 3 * ps, l3 = 3 * lda;
  const uint8_t* b0 = a;
  const uint8_t* b1 = a + 5 * lda;
  const uint8_t* b2 = a + 10 * lda;
  const uint8_t* pf = pre.pf;
  if constexpr (NP <= 2) {
    __asm__ volatile(DQ_LOOP(DQ_MAIN_ROWS)
                     : [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2), [w] "+r"(w), [n] "+r"(groups), [pf] "+r"(pf)
                     : [pfe] "r"(pre.pf_end), [pfs] "r"(pre.step), [L] "r"(lda), [L3] "r"(l3), [ps] "r"(ps), [ps3] "r"(ps3), [out] "r"(out), [mr] "i"(MR),
                       [np] "i"(NP), [acc] "i"(kAcc ? 1 : 0), [pfd] "i"(kPrefetchW)
                     : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19",
                       "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29",
                       "xmm30");
  } else {
    __asm__ volatile(DQ_LOOP(DQ_GEMV_ROWS)
                     : [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2), [w] "+r"(w), [n] "+r"(groups), [pf] "+r"(pf)
                     : [pfe] "r"(pre.pf_end), [pfs] "r"(pre.step), [L] "r"(lda), [L3] "r"(l3), [ps] "r"(ps), [ps3] "r"(ps3), [out] "r"(out), [mr] "i"(MR),
                       [np] "i"(NP), [acc] "i"(kAcc ? 1 : 0), [pfd] "i"(kPrefetchW)
                     : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm26", "xmm27", "xmm28", "xmm29",
                       "xmm30");
  }
}
#undef DQ_LOOP
#undef DQ_GEMV_ROWS
#undef DQ_MAIN_ROWS
#undef DQ_SAVE
#undef DQ_ZERO
#undef DQ_ROW
#undef DQ_W

constexpr int64_t kSliceK = 512;  // k per stack slice in kAS8 mode

// dst[r][0..k) = src[r][0..k) XOR 0x80 for `rows` rows (src stride lda, dst stride ldd); masked tail, no overread.
void flip_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, uint8_t* dst, int64_t ldd) {
  const __m512i flip_u8x64 = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* s = src + r * lda;
    uint8_t* d = dst + r * ldd;
    int64_t kk = 0;
    for (; kk + 64 <= k; kk += 64) {
      _mm512_storeu_si512(d + kk, _mm512_xor_si512(_mm512_loadu_si512(s + kk), flip_u8x64));
    }
    if (kk < k) {
      const __mmask64 mask = (~0ull) >> (64 - (k - kk));
      _mm512_mask_storeu_epi8(d + kk, mask, _mm512_xor_si512(_mm512_maskz_loadu_epi8(mask, s + kk), flip_u8x64));
    }
  }
}

// int32 output of a micro-tile of `rows` rows × 2 full panels (32 columns; acc[r][2][16]): acc + row term + column
// term, the same wrapping sum as store(). A row's 128 bytes start wherever C puts them; when that is not a multiple
// of 64 (a large JS Int32Array starts 16 bytes into a line), each 64-byte store would split across two lines, so the
// row is written as three line-contained stores: lanes [0, s) of the first vector, the 16 lanes [s, s + 16) of the
// row gathered from both vectors by one vpermt2d (the aligned middle line), and lanes [s, 16) of the second (s =
// lanes left in the first line). With prefetch_output covering all three lines: 512^3 with C 16 bytes off a line
// +2 % (median of 4 same-process A/B runs), 1024^3 +3 %, 256x1200x784 +2 %; aligned C unchanged.
void store_s32_rows(const GemmS8Args& p, const MicroArgs& m, const int32_t* acc, int rows) {
  int32_t* c_row = static_cast<int32_t*>(p.c) + m.row * p.ldc + m.cols[0].col;
  const __m512i col_off0_i32x16 = m.cols[0].col_off_i32x16, col_off1_i32x16 = m.cols[1].col_off_i32x16;
  const __m512i lane_i32x16 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int r = 0; r < rows; ++r, c_row += p.ldc, acc += 2 * kNr) {
    const __m512i row_off_i32x16 = _mm512_set1_epi32(static_cast<int32_t>(m.row_off[r]));
    const __m512i v0_i32x16 =
        _mm512_add_epi32(_mm512_add_epi32(_mm512_load_si512(acc), row_off_i32x16), col_off0_i32x16);
    const __m512i v1_i32x16 =
        _mm512_add_epi32(_mm512_add_epi32(_mm512_load_si512(acc + kNr), row_off_i32x16), col_off1_i32x16);
    const unsigned skew = static_cast<unsigned>(reinterpret_cast<uintptr_t>(c_row) & 63u) / 4u;
    if (skew == 0) {
      _mm512_storeu_si512(c_row, v0_i32x16);
      _mm512_storeu_si512(c_row + kNr, v1_i32x16);
      continue;
    }
    const unsigned s = 16u - skew;
    const __mmask16 head = static_cast<__mmask16>((1u << s) - 1u);
    _mm512_mask_storeu_epi32(c_row, head, v0_i32x16);
    const __m512i idx_i32x16 = _mm512_add_epi32(lane_i32x16, _mm512_set1_epi32(static_cast<int32_t>(s)));
    _mm512_storeu_si512(c_row + s, _mm512_permutex2var_epi32(v0_i32x16, idx_i32x16, v1_i32x16));
    _mm512_mask_storeu_epi32(c_row + kNr, static_cast<__mmask16>(~head), v1_i32x16);
  }
}

template <int MR, int NP, int kMode>
void micro(const GemmS8Args& p, const MicroArgs& m) {
  prefetch_output(p, m.row, MR, m.cols[0].col, NP * kNr);
  alignas(64) int32_t acc[MR][NP][kNr];
  const int64_t full = m.k / 4;
  const int64_t rest = m.k - full * 4;
  const uint8_t* body = m.panels + kNr * 4;
  if constexpr (kMode == kAU8) {
    k_loop<MR, NP, false>(m.a, m.lda, body, full, m.panel_stride, &acc[0][0][0], m.next);
  } else {
    // Slices of kSliceK k of every row, flipped into a zero-padded stack buffer (the last slice's partial group
    // included, so no tail step follows).
    alignas(64) uint8_t slice[MR][kSliceK];
    for (int64_t k0 = 0; k0 < m.k; k0 += kSliceK) {
      const int64_t len = std::min(kSliceK, m.k - k0);
      const int64_t groups = (len + 3) / 4;
      std::memset(slice, 0, sizeof(slice));
      flip_rows(m.a + k0, m.lda, MR, len, &slice[0][0], kSliceK);
      if (k0 == 0) {
        k_loop<MR, NP, false>(&slice[0][0], kSliceK, body, groups, m.panel_stride, &acc[0][0][0], Prefetch{});
      } else {
        k_loop<MR, NP, true>(&slice[0][0], kSliceK, body + (k0 / 4) * 64, groups, m.panel_stride, &acc[0][0][0],
                             Prefetch{});
      }
    }
  }
  if (kMode == kAU8 && rest > 0) {
    // The last partial group reads A from a zeroed copy of its existing bytes (no overread of A); its padding
    // lanes meet zero weights.
    alignas(64) uint8_t tail[MR][4] = {};
    for (int r = 0; r < MR; ++r) std::memcpy(tail[r], m.a + r * m.lda + full * 4, static_cast<size_t>(rest));
    k_loop<MR, NP, true>(&tail[0][0], 4, body + full * 64, 1, m.panel_stride, &acc[0][0][0], Prefetch{});
  }
  if constexpr (NP == 2) {
    if (p.out == GemmOut::kS32 && (m.cols[0].mask & m.cols[1].mask) == 0xFFFF) {
      store_s32_rows(p, m, &acc[0][0][0], MR);
      return;
    }
  }
  for (int r = 0; r < MR; ++r) {
    const __m512i row_off_i32x16 = _mm512_set1_epi32(static_cast<int32_t>(m.row_off[r]));
    for (int j = 0; j < NP; ++j) {
      store(p, m.row + r, m.cols[j], _mm512_add_epi32(_mm512_load_si512(acc[r][j]), row_off_i32x16));
    }
  }
}

void stage_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, bool, uint8_t* dst) {
  flip_rows(src, lda, rows, k, dst, k);
}

}  // namespace

const GemmS8Kernel& gemm_s8_avx512vnni() noexcept {
  static const GemmS8Kernel kernel{Isa::kAvx512Vnni, "gemm_u8s8s32_avx512vnni", "gemm_s8s8s32_avx512vnni",
                                   kMr, kNp * kNr, packed_bytes, pack, tile};
  return kernel;
}

}  // namespace distiq
