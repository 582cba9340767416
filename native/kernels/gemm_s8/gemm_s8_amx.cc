// gemm_u8s8s32_amx / gemm_s8s8s32_amx: int8 GEMM on AMX tiles (tdpbusd for u8×s8, tdpbssd for s8×s8: both exact,
// no s8 → u8 flip needed).
//
// Contract: distiq/gemm_s8.h — C = Σ_k (A − z_a)(W − z_w) modulo 2^32, then the documented epilogue; bit-identical
// to gemm_s8_ref for every output kind.
//
// AMX in one paragraph: 8 tile registers of up to 16 rows × 64 bytes, shaped by ldtilecfg (palette 1). tdpbusd
// C, A, B computes C[m][n] += Σ_{g<16} Σ_{b<4} A[m][4g+b]·B[g][4n+b] (u8 × s8, int32 lanes, wrapping), i.e. one
// 16 × 16 × 64 block product (16384 multiply-adds) per instruction. Every tile here is 16 rows × 64 bytes:
// C tiles are 16 × 16 int32, A tiles 16 rows × 64 k bytes, B tiles 16 k groups × (16 columns × 4 k bytes).
//
// Packed layout (kernel-private): W is cut into panels of 16 output columns, each
//   [16 × int32 column sums Σ_k W[j,k]] [Kp/4 groups × 16 columns × 4 bytes],   Kp = K rounded up to 64
// so the B tile of panel p for k0..k0+63 is 1 KiB of consecutive 64-byte rows (tile stride 64). Columns past n
// and k past K are zero. Panel stride = 64 + 16·Kp bytes. (Same body order as avx512vnni, but padded to whole
// tiles, so the layout is its own: packed weights of another level are rejected by the driver.)
//
// A staging: each row chunk of A is copied once per column block into per-thread scratch (rows at stride Kp,
// allocated for whole 32-row blocks), so every tile load reads the scratch only: no byte past the caller's A is
// read, and tails need no other tile shape. Bytes past K meet zero weights and rows past M are never stored, so
// the padding is not even cleared. s8 rows are copied as they are.
//
// Blocking: column blocks of ≈ kWBlockBytes of packed W (stay in L2) → row chunks (≈ kChunkBytes of staged A) →
// row blocks of 32 rows (2 A tiles; 16 when the rest is ≤ 16 rows) → micro-tiles of 32 columns (2 B tiles; 16 for
// an odd last panel), 2 × 2 C tiles accumulating all of K. The row block's A stays in L1/L2 while the column
// block's weights pass. The C tiles are stored to a 32 × 32 int32 stack buffer, and the zmm epilogue
// (gemm_s8_zmm_epilogue.h: zero-point correction, float / requantized outputs) writes C with masked stores; for
// int32 output with both zero points 0 the C tiles of whole tiles are stored straight into C (no epilogue).
// Tiles of ≤ 32 rows prefetch W's panel streams into L2 (W is used once). Tiny tiles (≤ 4 rows, N·K ≤ 16384)
// skip the tiles and run vpdpbusd on the same panels (small_tile).
//
// Threads: the driver cuts M and N at multiples of 32; every element is one full-K tile sum and the same
// epilogue, so any split gives the same bits. Each tile call loads the tile configuration and releases the tiles
// before returning (tile state is per thread; an idle thread keeps none).
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "distiq/gemm_s8.h"
#include "distiq/scratch.h"
#include "gemm_s8_amx.h"

namespace distiq {
namespace {

int g_test_path = 0;  // AmxTestPath (gemm_s8_amx.h), read with __atomic builtins: no std::atomic instantiation
                     // compiled with these flags

constexpr int64_t kNr = 16;                  // columns per panel = one B tile's columns = one zmm of int32
constexpr int64_t kTileK = 64;               // k bytes per A tile row (16 groups of 4)
constexpr int64_t kTileRows = 16;            // rows per A / C tile
constexpr int64_t kMb = 2 * kTileRows;       // rows per row block (2 A tiles)
constexpr int64_t kNb = 2 * kNr;             // columns per micro-tile (2 B tiles)
constexpr int64_t kRowChunk = 8 * kMb;       // most rows staged together
constexpr int64_t kChunkBytes = 256 * 1024;  // target bytes of staged A per row chunk
constexpr int64_t kWBlockBytes = 1024 * 1024;  // target bytes of packed W per column block

int64_t padded_k(int64_t k) { return (k + kTileK - 1) / kTileK * kTileK; }
int64_t panel_count(int64_t n) { return (n + kNr - 1) / kNr; }
size_t panel_stride(int64_t k) { return static_cast<size_t>(kNr * 4 + padded_k(k) * kNr); }

size_t packed_bytes(int64_t n, int64_t k) { return static_cast<size_t>(panel_count(n)) * panel_stride(k); }

void pack(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst) {
  const size_t stride = panel_stride(k);
  const int64_t groups = padded_k(k) / 4;
  for (int64_t p = 0; p < panel_count(n); ++p) {
    uint8_t* panel = dst + p * stride;
    uint32_t sums[kNr] = {};
    uint8_t* body = panel + kNr * 4;
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t c = 0; c < kNr; ++c) {
        const int64_t col = p * kNr + c;
        for (int64_t b = 0; b < 4; ++b) {
          const int64_t kk = g * 4 + b;
          const int8_t v = (col < n && kk < k) ? w[col * ldw + kk] : 0;
          body[(g * kNr + c) * 4 + b] = static_cast<uint8_t>(v);
          sums[c] += static_cast<uint32_t>(static_cast<int32_t>(v));
        }
      }
    }
    std::memcpy(panel, sums, sizeof(sums));
  }
}

#include "gemm_s8_zmm_epilogue.h"

// Palette 1, tiles 0-7 all 16 rows × 64 bytes: C in tmm0-3, A in tmm4-5, B in tmm6-7.
struct alignas(64) TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

constexpr TileConfig kTileConfig = {
    1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64, 0, 0, 0, 0, 0, 0, 0, 0}, {16, 16, 16, 16, 16, 16, 16, 16, 0, 0, 0, 0, 0, 0, 0, 0}};


// One micro-tile: C[RT·16 rows][CT·16 cols] = Σ over `steps` tiles of 64 k, A rows at a (stride lda bytes), B
// tiles of panel j at b + j·ps (1 KiB per step). Stored to c (int32, row stride ldc elements: the 32 × 32 buffer,
// or the caller's C itself, see tile()); with kAcc the sums start from c instead of zero.
template <bool kSigned, bool kAcc, int RT, int CT>
void tile_product(const uint8_t* a, int64_t lda, const uint8_t* b, size_t ps, int64_t steps, int32_t* c,
                  int64_t ldc, int64_t prefetch) {
  const int64_t ldc_bytes = ldc * 4;
  int32_t* c1 = c + kTileRows * ldc;
  if constexpr (kAcc) {
    _tile_loadd(0, c, ldc_bytes);
    if constexpr (CT > 1) _tile_loadd(1, c + kNr, ldc_bytes);
    if constexpr (RT > 1) _tile_loadd(2, c1, ldc_bytes);
    if constexpr (RT > 1 && CT > 1) _tile_loadd(3, c1 + kNr, ldc_bytes);
  } else {
    _tile_zero(0);
    if constexpr (CT > 1) _tile_zero(1);
    if constexpr (RT > 1) _tile_zero(2);
    if constexpr (RT > 1 && CT > 1) _tile_zero(3);
  }
  const uint8_t* a1 = a + kTileRows * lda;
  const uint8_t* b1 = b + ps;
  for (int64_t s = 0; s < steps; ++s) {
    if (prefetch != 0) {  // W `prefetch` bytes ahead in each panel's stream, into L2
      for (int64_t l = 0; l < 1024; l += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(b + s * 1024 + prefetch + l), _MM_HINT_T1);
        if constexpr (CT > 1) _mm_prefetch(reinterpret_cast<const char*>(b1 + s * 1024 + prefetch + l), _MM_HINT_T1);
      }
    }
    _tile_loadd(4, a + s * kTileK, lda);
    _tile_loadd(6, b + s * 1024, 64);
    if constexpr (CT > 1) _tile_loadd(7, b1 + s * 1024, 64);
    if constexpr (RT > 1) _tile_loadd(5, a1 + s * kTileK, lda);
    if constexpr (kSigned) {
      _tile_dpbssd(0, 4, 6);
      if constexpr (CT > 1) _tile_dpbssd(1, 4, 7);
      if constexpr (RT > 1) _tile_dpbssd(2, 5, 6);
      if constexpr (RT > 1 && CT > 1) _tile_dpbssd(3, 5, 7);
    } else {
      _tile_dpbusd(0, 4, 6);
      if constexpr (CT > 1) _tile_dpbusd(1, 4, 7);
      if constexpr (RT > 1) _tile_dpbusd(2, 5, 6);
      if constexpr (RT > 1 && CT > 1) _tile_dpbusd(3, 5, 7);
    }
  }
  _tile_stored(0, c, ldc_bytes);
  if constexpr (CT > 1) _tile_stored(1, c + kNr, ldc_bytes);
  if constexpr (RT > 1) _tile_stored(2, c1, ldc_bytes);
  if constexpr (RT > 1 && CT > 1) _tile_stored(3, c1 + kNr, ldc_bytes);
}

using ProductFn = void (*)(const uint8_t*, int64_t, const uint8_t*, size_t, int64_t, int32_t*, int64_t, int64_t);

// Tiles of ≤ kMb rows use each weight once per call, so W streams from L3 or memory at the core's bandwidth: the
// K loop then prefetches each panel's stream this far ahead into L2 (1 thread, W from memory: 1x4096x4096
// 29 -> 31-32 GOPS median; neutral when W sits in L3). Larger tiles reuse W from L2 and prefetch nothing.
constexpr int64_t kStreamPrefetch = 64 * 1024;

template <bool kSigned, bool kAcc>
constexpr ProductFn kShapes[2][2] = {{tile_product<kSigned, kAcc, 1, 1>, tile_product<kSigned, kAcc, 1, 2>},
                                     {tile_product<kSigned, kAcc, 2, 1>, tile_product<kSigned, kAcc, 2, 2>}};

ProductFn pick(bool a_signed, bool acc, int rt, int ct) {
  if (a_signed) return acc ? kShapes<true, true>[rt - 1][ct - 1] : kShapes<true, false>[rt - 1][ct - 1];
  return acc ? kShapes<false, true>[rt - 1][ct - 1] : kShapes<false, false>[rt - 1][ct - 1];
}

constexpr int64_t kSliceK = 256;  // k per stack slice when the staging scratch cannot be allocated

// Without staging scratch: slices of kSliceK k of the micro-tile's rows, copied into a zero-padded stack buffer
// (the caller's A is still read only within its rows), the C tiles carried through c between slices.
void product_sliced(const GemmS8Args& p, const uint8_t* a, int64_t mr, int rt, const uint8_t* b, size_t ps,
                    int np, int32_t* c) {
  const int64_t k = p.w->k;
  alignas(64) uint8_t slice[kMb * kSliceK];
  for (int64_t k0 = 0; k0 < k; k0 += kSliceK) {
    const int64_t len = std::min(kSliceK, k - k0);
    std::memset(slice, 0, sizeof(slice));
    for (int64_t r = 0; r < mr; ++r) std::memcpy(slice + r * kSliceK, a + r * p.lda + k0, static_cast<size_t>(len));
    __asm__ volatile("" ::: "memory");
    pick(p.a_signed, k0 > 0, rt, np)(slice, kSliceK, b + k0 * kNr, ps, (len + kTileK - 1) / kTileK, c, kNb, 0);
  }
}

// Per-thread staging scratch, kept between calls (distiq/scratch.h); null if it cannot be allocated.
uint8_t* a_scratch(size_t bytes) { return thread_scratch(ScratchSlot::kGemmS8AmxStage, bytes); }

// `rows` rows of A (stride lda) to dst at stride kp. The bytes past k and the rows up to the next whole tile are
// left as they are: the padding k meet zero weights (packed K is zero-padded), and the C rows of padding rows are
// never stored, so neither can change a result (the scratch is allocated for whole tiles, so loads stay inside).
void stage_rows(const uint8_t* src, int64_t lda, int64_t rows, int64_t k, int64_t kp, uint8_t* dst) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * kp, src + r * lda, static_cast<size_t>(k));
}

// Rows whose staged A is ≈ kChunkBytes, a multiple of kMb, within [kMb, kRowChunk].
int64_t chunk_rows(int64_t kp) {
  return std::clamp<int64_t>(kChunkBytes / std::max<int64_t>(kp, 1) / kMb * kMb, kMb, kRowChunk);
}

// The epilogue of one micro-tile: rows [row, row + mr) of c (stride kNb), panels cols[0..np).
void finish(const GemmS8Args& p, const int32_t* c, int64_t row, int64_t mr, const uint32_t* row_off,
            const Columns* cols, int np) {
  for (int64_t r = 0; r < mr; ++r) {
    const __m512i off_i32x16 = _mm512_set1_epi32(static_cast<int32_t>(row_off[r]));
    for (int j = 0; j < np; ++j) {
      store(p, row + r, cols[j], _mm512_add_epi32(_mm512_load_si512(c + r * kNb + j * kNr), off_i32x16));
    }
  }
}

// Small tiles (≤ kSmallRows rows, (n1 − n0)·K ≤ kSmallWork) skip the tiles. A tile product computes 16 rows
// whatever the tile holds, so for ≤ 4 rows the tiles do ≥ 4× the needed work, plus ≈ 0.3 µs of configuration:
// with W in L2 (≤ 2 MiB) vpdpbusd on the same panels is 2–3× faster (1×1200×1200: 48 → 15 µs). Larger W comes
// from memory, where the tiles' longer streams win. A panel body row is the VNNI operand (4 k of one column per
// int32 lane); each loaded W vector serves every row (R rows × NP panels accumulator chains). s8 rows are
// flipped to u8 per group (a XOR 0x80 = a + 128, corrected through z_a + 128 and the column sums, as in
// gemm_s8_avx512vnni.cc); the last partial group of 4 k is read from a zeroed copy (no overread).
constexpr int64_t kSmallRows = 4;
constexpr int64_t kSmallWork = int64_t{1} << 21;

template <int R, int NP>
void small_panels(const GemmS8Args& p, const uint8_t* const* rows, int64_t i, const uint32_t* row_off,
                  const uint8_t* panel, size_t stride, int64_t j, int64_t n1, uint32_t za_eff) {
  const int64_t k = p.w->k, full = k / 4;
  const size_t rest = static_cast<size_t>(k - full * 4);
  const __m512i flip_u8x64 = _mm512_set1_epi8(static_cast<char>(p.a_signed ? 0x80 : 0));
  __m512i acc_i32x16[R][NP];
  for (int r = 0; r < R; ++r) {
    for (int q = 0; q < NP; ++q) acc_i32x16[r][q] = _mm512_setzero_si512();
  }
  const uint8_t* body = panel + kNr * 4;
  const int64_t groups = full + (rest > 0 ? 1 : 0);
  for (int64_t g = 0; g < groups; ++g) {
    __m512i a_u8x64[R];
    for (int r = 0; r < R; ++r) {
      int32_t quad = 0;
      if (g < full) {
        std::memcpy(&quad, rows[r] + g * 4, 4);
      } else {
        std::memcpy(&quad, rows[r] + g * 4, rest);  // the bytes past K stay 0 (zero weights there)
      }
      a_u8x64[r] = _mm512_xor_si512(_mm512_set1_epi32(quad), flip_u8x64);
    }
    // Each W vector is loaded once and used by every row.
    for (int q = 0; q < NP; ++q) {
      const __m512i w_s8x64 = _mm512_loadu_si512(body + q * stride + g * 64);
      for (int r = 0; r < R; ++r) acc_i32x16[r][q] = _mm512_dpbusd_epi32(acc_i32x16[r][q], a_u8x64[r], w_s8x64);
    }
  }
  for (int q = 0; q < NP; ++q) {
    const Columns cols = load_columns(p, panel + q * stride, j + q * kNr, n1, za_eff);
    for (int r = 0; r < R; ++r) {
      store(p, i + r, cols, _mm512_add_epi32(acc_i32x16[r][q], _mm512_set1_epi32(static_cast<int32_t>(row_off[r]))));
    }
  }
}

// Runs panels [j, j + NP·16) for NP = 1 .. kMax, picking NP from the columns left.
template <int R, int NP, int kMax>
void small_step(const GemmS8Args& p, const uint8_t* const* rows, int64_t i, const uint32_t* row_off,
                const uint8_t* panel, size_t stride, int64_t j, int64_t n1, uint32_t za_eff, int64_t panels_left) {
  if constexpr (NP < kMax) {
    if (panels_left <= NP) {
      small_panels<R, NP>(p, rows, i, row_off, panel, stride, j, n1, za_eff);
      return;
    }
    small_step<R, NP + 1, kMax>(p, rows, i, row_off, panel, stride, j, n1, za_eff, panels_left);
  } else {
    small_panels<R, NP>(p, rows, i, row_off, panel, stride, j, n1, za_eff);
  }
}

template <int R>
void small_rows(const GemmS8Args& p, const uint8_t* const* rows, int64_t i, const uint32_t* row_off, int64_t n0,
                int64_t n1, uint32_t za_eff) {
  // ≥ 8 independent accumulator chains hide vpdpbusd's latency (one row: 8 panels; more rows: 4 panels).
  constexpr int kMax = R == 1 ? 8 : 4;
  const size_t stride = panel_stride(p.w->k);
  for (int64_t j = n0; j < n1; j += kMax * kNr) {
    const uint8_t* panel = p.w->panels + (j / kNr) * stride;
    small_step<R, 1, kMax>(p, rows, i, row_off, panel, stride, j, n1, za_eff, (n1 - j + kNr - 1) / kNr);
  }
}

void small_tile(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t k = p.w->k;
  const uint32_t za = static_cast<uint32_t>(p.za), zw = static_cast<uint32_t>(p.zw);
  const uint32_t za_eff = za + (p.a_signed ? 128u : 0u);
  const uint32_t k_za_zw = static_cast<uint32_t>(k) * za * zw;
  const uint8_t* rows[kSmallRows];
  uint32_t row_off[kSmallRows];
  const int64_t r_count = m1 - m0;
  for (int64_t r = 0; r < r_count; ++r) {
    rows[r] = static_cast<const uint8_t*>(p.a) + (m0 + r) * p.lda;
    row_off[r] = k_za_zw - (zw != 0 ? zw * row_sum(rows[r], k, p.a_signed) : 0u);
  }
  switch (r_count) {
    case 1: small_rows<1>(p, rows, m0, row_off, n0, n1, za_eff); break;
    case 2: small_rows<2>(p, rows, m0, row_off, n0, n1, za_eff); break;
    case 3: small_rows<3>(p, rows, m0, row_off, n0, n1, za_eff); break;
    default: small_rows<4>(p, rows, m0, row_off, n0, n1, za_eff); break;
  }
}

void tile(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k, kp = padded_k(k);
  const size_t stride = panel_stride(k);
  const uint8_t* a = static_cast<const uint8_t*>(p.a);
  const uint32_t za = static_cast<uint32_t>(p.za), zw = static_cast<uint32_t>(p.zw);
  const uint32_t k_za_zw = static_cast<uint32_t>(k) * za * zw;
  const int64_t chunk = chunk_rows(kp);
  const int64_t rows_max = std::min(chunk, (m1 - m0 + kMb - 1) / kMb * kMb);
  const int path = __atomic_load_n(&g_test_path, __ATOMIC_RELAXED);
  if (path == 0 && m1 - m0 <= kSmallRows && (n1 - n0) * k <= kSmallWork) {
    small_tile(p, m0, m1, n0, n1);
    return;
  }
  const bool sliced = path == static_cast<int>(AmxTestPath::kSliced);
  uint8_t* staged = k > 0 && !sliced ? a_scratch(static_cast<size_t>(rows_max * kp)) : nullptr;  // null: sliced
  alignas(64) int32_t c[kMb * kNb];
  uint32_t row_off[kRowChunk];
  const int64_t cols_fit = std::max<int64_t>(kNb, kWBlockBytes / static_cast<int64_t>(stride) * kNr);
  const int64_t blocks = (n1 - n0 + cols_fit - 1) / cols_fit;
  const int64_t n_block = ((n1 - n0 + blocks - 1) / blocks + kNb - 1) / kNb * kNb;
  const int64_t steps = kp / kTileK;
  const bool tiles = k > 0;
  const int64_t prefetch = m1 - m0 <= kMb ? kStreamPrefetch : 0;
  const bool direct = p.out == GemmOut::kS32 && za == 0 && zw == 0;  // C = Σ a·w exactly: no epilogue
  if (tiles) _tile_loadconfig(&kTileConfig);
  for (int64_t nb0 = n0; nb0 < n1; nb0 += n_block) {
    const int64_t nb1 = std::min(n1, nb0 + n_block);
    for (int64_t i0 = m0; i0 < m1; i0 += chunk) {
      const int64_t i1 = std::min(m1, i0 + chunk);
      for (int64_t i = i0; i < i1; ++i) {
        row_off[i - i0] = k_za_zw - (zw != 0 ? zw * row_sum(a + i * p.lda, k, p.a_signed) : 0u);
      }
      if (staged != nullptr) {
        stage_rows(a + i0 * p.lda, p.lda, i1 - i0, k, kp, staged);
        __asm__ volatile("" ::: "memory");  // the tile loads (asm without memory operands) read the staged rows
      }
      for (int64_t i = i0; i < i1; i += kMb) {
        const int64_t mr = std::min(kMb, i1 - i);
        const int rt = mr > kTileRows ? 2 : 1;
        for (int64_t j = nb0; j < nb1; j += kNb) {
          const int np = static_cast<int>(std::min<int64_t>(2, (nb1 - j + kNr - 1) / kNr));
          const uint8_t* panels = w.panels + (j / kNr) * stride;
          if (direct && staged != nullptr && mr == rt * kTileRows && n1 - j >= np * kNr) {
            // int32 out with both zero points 0 and whole tiles inside C: the tiles are the result, stored in place
            pick(p.a_signed, false, rt, np)(staged + (i - i0) * kp, kp, panels + kNr * 4, stride, steps,
                                            static_cast<int32_t*>(p.c) + i * p.ldc + j, p.ldc, prefetch);
            continue;
          }
          if (staged != nullptr) {
            pick(p.a_signed, false, rt, np)(staged + (i - i0) * kp, kp, panels + kNr * 4, stride, steps, c, kNb,
                                            prefetch);
          } else if (tiles) {
            product_sliced(p, a + i * p.lda, mr, rt, panels + kNr * 4, stride, np, c);
          } else {
            std::memset(c, 0, sizeof(c));
          }
          Columns cols[2];
          for (int q = 0; q < np; ++q) cols[q] = load_columns(p, panels + q * stride, j + q * kNr, n1, za);
          finish(p, c, i, mr, row_off + (i - i0), cols, np);
        }
      }
    }
  }
  if (tiles) _tile_release();
}

}  // namespace

void gemm_s8_amx_set_test_path(AmxTestPath path) noexcept {
  __atomic_store_n(&g_test_path, static_cast<int>(path), __ATOMIC_RELAXED);
}

const GemmS8Kernel& gemm_s8_amx() noexcept {
  static const GemmS8Kernel kernel{Isa::kAmx, "gemm_u8s8s32_amx", "gemm_s8s8s32_amx", kMb, kNb, packed_bytes, pack,
                                   tile, /*split_rows_first=*/true};
  return kernel;
}

}  // namespace distiq
