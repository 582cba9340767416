// gemm_s8_i8mm — int8 GEMM for AArch64 with the int8 matrix-multiply extension (FEAT_I8MM: SMMLA / USMMLA;
// Neoverse V1/N2, Cortex-A710+, Apple M2+, Graviton 3). Compiled with -march=armv8.2-a+dotprod+i8mm; dispatched
// only when HWCAP2_I8MM is set.
//
// Contract: distiq/gemm_s8.h, bit-identical to gemm_s8_ref for u8×s8 and s8×s8 and every epilogue.
//
// Algebra. vmmlaq_s32(acc, a, b) (SMMLA) adds the 2×2 product of a 2×8 int8 matrix (a: two rows of 8 k) with the
// transpose of another 2×8 int8 matrix (b: two W rows of 8 k) to acc = [r0c0, r0c1, r1c0, r1c1]. vusmmlaq_s32
// (USMMLA) is the same with unsigned a, so u8×s8 needs no XOR trick and no correction beyond the zero points.
// Products are exact int32 (|Σ| ≤ 8·255·128).
//
// Layout. W is packed in panels of 8 rows (output columns); K is padded with zeros to a multiple of 16. Per block
// of 8 k, a panel stores 64 bytes: column pairs (0,1) (2,3) (4,5) (6,7), each pair as [col 2q: 8 k][col 2q+1: 8 k].
// Micro-kernel: 8 rows × 8 columns = 4 row pairs × 4 column pairs = 16 int32x4 accumulators. A row pairs are formed
// in registers with vzip1q/vzip2q_s64 from two 16-byte row loads (one load per row covers two 8-k blocks).
// Tails: M tail via a row-pair template (an odd last row is paired with itself, its duplicate result dropped);
// N tail computes the zero-padded panel and stores n_valid columns; the K tail (< 16 bytes) copies each A row's
// last bytes into a zeroed stack chunk (no overread of A; padded W bytes are 0, padded A bytes are 0).
#include <arm_neon.h>

#include <cstring>

#include "distiq/gemm_s8.h"
#include "gemm_s8_arm_epilogue.h"

#ifndef __ARM_FEATURE_MATMUL_INT8
#error "gemm_s8_i8mm.cc needs -march=armv8.2-a+i8mm (see native/sources.json)"
#endif

namespace distiq {
namespace {

constexpr int kMr = 8;       // rows of A per micro-tile (4 pairs)
constexpr int kNr = 8;       // W rows (output columns) per panel (4 pairs)
constexpr int64_t kKc = 16;  // bytes of k per A chunk (2 blocks of 8)
constexpr int64_t kBlockBytes = kNr * 8;

int64_t padded_k(int64_t k) { return (k + kKc - 1) / kKc * kKc; }

size_t packed_bytes_i8mm(int64_t n, int64_t k) {
  const int64_t panels = (n + kNr - 1) / kNr;
  return static_cast<size_t>(panels) * kNr * static_cast<size_t>(padded_k(k));
}

void pack_i8mm(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst) {
  const int64_t kp = padded_k(k);
  const int64_t panels = (n + kNr - 1) / kNr;
  const size_t bytes = packed_bytes_i8mm(n, k);
  if (bytes == 0) return;  // n = 0 or k = 0: nothing to pack (dst may be null)
  std::memset(dst, 0, bytes);
  for (int64_t pnl = 0; pnl < panels; ++pnl) {
    uint8_t* panel = dst + pnl * kNr * kp;
    for (int c = 0; c < kNr; ++c) {
      const int64_t j = pnl * kNr + c;
      if (j >= n) break;
      const int8_t* row = w + j * ldw;
      // column c sits in pair c/2, half c%2
      for (int64_t kk = 0; kk < k; ++kk) {
        panel[(kk / 8) * kBlockBytes + (c / 2) * 16 + (c % 2) * 8 + (kk % 8)] = static_cast<uint8_t>(row[kk]);
      }
    }
  }
}

// acc[p][q] += A pair p (one 8-k block) × W pair q, for `blocks` (1 or 2) blocks of one 16-byte chunk.
template <int MP, bool kUnsigned>
inline void chunk_products(const uint8x16_t (&a_u8x16)[2 * MP], const uint8_t* w_blocks, int blocks,
                           int32x4_t (&acc)[MP][4]) {
  const int8_t* w = reinterpret_cast<const int8_t*>(w_blocks);
  for (int b = 0; b < blocks; ++b) {
    int8x16_t w_s8x16[4];
    for (int q = 0; q < 4; ++q) w_s8x16[q] = vld1q_s8(w + b * kBlockBytes + q * 16);
    for (int pr = 0; pr < MP; ++pr) {
      const uint64x2_t r0_u64x2 = vreinterpretq_u64_u8(a_u8x16[2 * pr]);
      const uint64x2_t r1_u64x2 = vreinterpretq_u64_u8(a_u8x16[2 * pr + 1]);
      const uint8x16_t pair_u8x16 =
          vreinterpretq_u8_u64(b == 0 ? vzip1q_u64(r0_u64x2, r1_u64x2) : vzip2q_u64(r0_u64x2, r1_u64x2));
      for (int q = 0; q < 4; ++q) {
        if (kUnsigned) {
          acc[pr][q] = vusmmlaq_s32(acc[pr][q], pair_u8x16, w_s8x16[q]);
        } else {
          acc[pr][q] = vmmlaq_s32(acc[pr][q], vreinterpretq_s8_u8(pair_u8x16), w_s8x16[q]);
        }
      }
    }
  }
}

// raw[r][h] = Σ_k a[row r]·w[column 4h + lane], for the 8 columns of one panel.
template <int MP, bool kUnsigned>
void micro_kernel(const uint8_t* const (&a_rows)[kMr], int64_t k, const uint8_t* panel, int32x4_t (&raw)[kMr][2]) {
  int32x4_t acc[MP][4];
  for (int pr = 0; pr < MP; ++pr) {
    for (int q = 0; q < 4; ++q) acc[pr][q] = vdupq_n_s32(0);
  }
  uint8x16_t a_u8x16[2 * MP];
  int64_t kc = 0;
  for (; kc + kKc <= k; kc += kKc) {
    for (int r = 0; r < 2 * MP; ++r) a_u8x16[r] = vld1q_u8(a_rows[r] + kc);
    chunk_products<MP, kUnsigned>(a_u8x16, panel + kc * kNr, 2, acc);
  }
  if (kc < k) {
    uint8_t tail[2 * MP][kKc];
    std::memset(tail, 0, sizeof(tail));
    for (int r = 0; r < 2 * MP; ++r) {
      std::memcpy(tail[r], a_rows[r] + kc, static_cast<size_t>(k - kc));
      a_u8x16[r] = vld1q_u8(tail[r]);
    }
    chunk_products<MP, kUnsigned>(a_u8x16, panel + kc * kNr, k - kc > 8 ? 2 : 1, acc);
  }
  // acc[p][q] = [r0·c0, r0·c1, r1·c0, r1·c1] for rows 2p, 2p+1 and columns 2q, 2q+1.
  for (int pr = 0; pr < MP; ++pr) {
    for (int h = 0; h < 2; ++h) {
      const int64x2_t x_s64x2 = vreinterpretq_s64_s32(acc[pr][2 * h]);
      const int64x2_t y_s64x2 = vreinterpretq_s64_s32(acc[pr][2 * h + 1]);
      raw[2 * pr][h] = vreinterpretq_s32_s64(vzip1q_s64(x_s64x2, y_s64x2));
      raw[2 * pr + 1][h] = vreinterpretq_s32_s64(vzip2q_s64(x_s64x2, y_s64x2));
    }
  }
}

template <bool kUnsigned>
void run_micro(int pairs, const uint8_t* const (&a_rows)[kMr], int64_t k, const uint8_t* panel,
               int32x4_t (&raw)[kMr][2]) {
  switch (pairs) {
    case 4: micro_kernel<4, kUnsigned>(a_rows, k, panel, raw); break;
    case 3: micro_kernel<3, kUnsigned>(a_rows, k, panel, raw); break;
    case 2: micro_kernel<2, kUnsigned>(a_rows, k, panel, raw); break;
    default: micro_kernel<1, kUnsigned>(a_rows, k, panel, raw); break;
  }
}

void tile_i8mm(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k, kp = padded_k(k);
  const uint8_t* a_base = static_cast<const uint8_t*>(p.a);  // u8 and s8 rows are read as bytes
  for (int64_t i = m0; i < m1; i += kMr) {
    const int rows = static_cast<int>(m1 - i < kMr ? m1 - i : kMr);
    const int pairs = (rows + 1) / 2;
    const uint8_t* a_rows[kMr];
    uint32_t row_terms[kMr];
    for (int r = 0; r < kMr; ++r) {
      a_rows[r] = a_base + (i + (r < rows ? r : rows - 1)) * p.lda;  // a missing odd row repeats the last one
      row_terms[r] = r < rows ? arm_gemm_s8::row_term(p, i + r) : 0u;
    }
    for (int64_t j = n0; j < n1; j += kNr) {
      const int n_valid = static_cast<int>(n1 - j < kNr ? n1 - j : kNr);
      const uint8_t* panel = w.panels + (j / kNr) * kNr * kp;
      const arm_gemm_s8::ColumnTerms lo = arm_gemm_s8::column_terms(p, j, n_valid < 4 ? n_valid : 4, 0);
      const arm_gemm_s8::ColumnTerms hi = n_valid > 4 ? arm_gemm_s8::column_terms(p, j + 4, n_valid - 4, 0) : lo;
      int32x4_t raw[kMr][2];
      if (p.a_signed) {
        run_micro<false>(pairs, a_rows, k, panel, raw);
      } else {
        run_micro<true>(pairs, a_rows, k, panel, raw);
      }
      for (int r = 0; r < rows; ++r) {
        arm_gemm_s8::store4(p, i + r, j, n_valid < 4 ? n_valid : 4, raw[r][0], lo, row_terms[r]);
        if (n_valid > 4) arm_gemm_s8::store4(p, i + r, j + 4, n_valid - 4, raw[r][1], hi, row_terms[r]);
      }
    }
  }
}

}  // namespace

const GemmS8Kernel& gemm_s8_i8mm() noexcept {
  static const GemmS8Kernel kernel{Isa::kI8mm, "gemm_u8s8s32_i8mm", "gemm_s8s8s32_i8mm", kMr, kNr,
                                   packed_bytes_i8mm, pack_i8mm, tile_i8mm};
  return kernel;
}

}  // namespace distiq
