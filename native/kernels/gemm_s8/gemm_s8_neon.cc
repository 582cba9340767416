// gemm_s8_neon — int8 GEMM for AArch64 Advanced SIMD without dotprod (armv8.0-a: Cortex-A72 / Raspberry Pi 4).
//
// Contract: distiq/gemm_s8.h, bit-identical to gemm_s8_ref for u8×s8 and s8×s8 and every epilogue.
//
// Algebra. vmull_s8 multiplies 8 int8 pairs into exact int16 products (|p| ≤ 128·128 = 16384) and vpadalq_s16 adds
// adjacent products into int32 lanes: 4 instructions per 16 multiply-adds, exact for the full int8 range,
// including (−128)·(−128) (adding two products in int16 first, vmlal_s8, would overflow exactly there).
// u8 A: a' = a ^ 0x80 = a − 128 is a valid int8, so the same s8×s8 loop runs and the epilogue adds 128·Σw[j]
// (the packed row sums) back — see gemm_s8_arm_epilogue.h for the zero-point algebra.
//
// Layout. W is packed in panels of 4 rows (output columns); K is padded with zeros to a multiple of 16; a panel
// stores, per 16-k chunk, the 4 rows' 16 bytes one after the other (64 bytes). Rows past n are zero.
// Micro-kernel: 4 rows of A × 4 columns, 16 int32x4 accumulators (one per output, lanes = partial sums over k),
// reduced by two vpaddq_s32 rounds at the end.
// Tails: M tail via the micro-kernel's row count template; N tail computes the zero-padded panel and stores only
// n_valid columns; K tail copies the last <16 bytes of each A row into a zeroed stack chunk (no overread of A;
// the padded W bytes are 0, so the padded products vanish whatever a' is).
#include <arm_neon.h>

#include <cstring>

#include "distiq/gemm_s8.h"
#include "gemm_s8_arm_epilogue.h"

namespace distiq {
namespace {

constexpr int kMr = 4;      // rows of A per micro-tile
constexpr int kNr = 4;      // W rows (output columns) per panel
constexpr int64_t kKc = 16;  // bytes of k per chunk

int64_t padded_k(int64_t k) { return (k + kKc - 1) / kKc * kKc; }

size_t packed_bytes_neon(int64_t n, int64_t k) {
  const int64_t panels = (n + kNr - 1) / kNr;
  return static_cast<size_t>(panels) * kNr * static_cast<size_t>(padded_k(k));
}

void pack_neon(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst) {
  const int64_t kp = padded_k(k);
  const int64_t panels = (n + kNr - 1) / kNr;
  const size_t bytes = packed_bytes_neon(n, k);
  if (bytes == 0) return;  // n = 0 or k = 0: nothing to pack (dst may be null)
  std::memset(dst, 0, bytes);
  for (int64_t pnl = 0; pnl < panels; ++pnl) {
    uint8_t* panel = dst + pnl * kNr * kp;
    for (int r = 0; r < kNr; ++r) {
      const int64_t j = pnl * kNr + r;
      if (j >= n) break;
      const int8_t* row = w + j * ldw;
      for (int64_t kc = 0; kc < k; kc += kKc) {
        const int64_t len = k - kc < kKc ? k - kc : kKc;
        std::memcpy(panel + kc * kNr + r * kKc, row + kc, static_cast<size_t>(len));
      }
    }
  }
}

// acc[r][c] += Σ over one 16-byte chunk of a'[r]·w[c].
template <int MR>
inline void chunk_products(const int8x16_t (&a_s8x16)[MR], const uint8_t* w_chunk, int32x4_t (&acc)[MR][kNr]) {
  // One W vector live at a time (16 accumulators + 4 A + 1 W + 2 products): keeps register pressure down.
  for (int c = 0; c < kNr; ++c) {
    const int8x16_t w_s8x16 = vld1q_s8(reinterpret_cast<const int8_t*>(w_chunk) + c * kKc);
    for (int r = 0; r < MR; ++r) {
      acc[r][c] = vpadalq_s16(acc[r][c], vmull_s8(vget_low_s8(a_s8x16[r]), vget_low_s8(w_s8x16)));
      acc[r][c] = vpadalq_s16(acc[r][c], vmull_high_s8(a_s8x16[r], w_s8x16));
    }
  }
}

// raw[r] = Σ_k a'[row r]·w[column c] for the 4 columns of one panel, lanes = columns.
template <int MR>
void micro_kernel(const uint8_t* const (&a_rows)[kMr], bool flip, int64_t k, const uint8_t* panel,
                  int32x4_t (&raw)[kMr]) {
  int32x4_t acc[MR][kNr];
  for (int r = 0; r < MR; ++r) {
    for (int c = 0; c < kNr; ++c) acc[r][c] = vdupq_n_s32(0);
  }
  const uint8x16_t flip_u8x16 = vdupq_n_u8(flip ? 0x80 : 0x00);
  int8x16_t a_s8x16[MR];
  int64_t kc = 0;
  for (; kc + kKc <= k; kc += kKc) {
    for (int r = 0; r < MR; ++r) a_s8x16[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a_rows[r] + kc), flip_u8x16));
    chunk_products<MR>(a_s8x16, panel + kc * kNr, acc);
  }
  if (kc < k) {
    uint8_t tail[MR][kKc];
    std::memset(tail, 0, sizeof(tail));
    for (int r = 0; r < MR; ++r) {
      std::memcpy(tail[r], a_rows[r] + kc, static_cast<size_t>(k - kc));
      a_s8x16[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(tail[r]), flip_u8x16));
    }
    chunk_products<MR>(a_s8x16, panel + kc * kNr, acc);
  }
  for (int r = 0; r < MR; ++r) {
    raw[r] = vpaddq_s32(vpaddq_s32(acc[r][0], acc[r][1]), vpaddq_s32(acc[r][2], acc[r][3]));
  }
}

void tile_neon(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k, kp = padded_k(k);
  const int32_t off = p.a_signed ? 0 : 128;
  const uint8_t* a_base = static_cast<const uint8_t*>(p.a);  // bytes: a u8 or s8 row reads the same memory
  for (int64_t i = m0; i < m1; i += kMr) {
    const int rows = static_cast<int>(m1 - i < kMr ? m1 - i : kMr);
    const uint8_t* a_rows[kMr];
    uint32_t row_terms[kMr];
    for (int r = 0; r < kMr; ++r) {
      a_rows[r] = a_base + (i + (r < rows ? r : 0)) * p.lda;
      row_terms[r] = r < rows ? arm_gemm_s8::row_term(p, i + r) : 0u;
    }
    for (int64_t j = n0; j < n1; j += kNr) {
      const int n_valid = static_cast<int>(n1 - j < kNr ? n1 - j : kNr);
      const uint8_t* panel = w.panels + (j / kNr) * kNr * kp;
      const arm_gemm_s8::ColumnTerms terms = arm_gemm_s8::column_terms(p, j, n_valid, off);
      int32x4_t raw[kMr];
      switch (rows) {
        case 4: micro_kernel<4>(a_rows, !p.a_signed, k, panel, raw); break;
        case 3: micro_kernel<3>(a_rows, !p.a_signed, k, panel, raw); break;
        case 2: micro_kernel<2>(a_rows, !p.a_signed, k, panel, raw); break;
        default: micro_kernel<1>(a_rows, !p.a_signed, k, panel, raw); break;
      }
      for (int r = 0; r < rows; ++r) arm_gemm_s8::store4(p, i + r, j, n_valid, raw[r], terms, row_terms[r]);
    }
  }
}

}  // namespace

const GemmS8Kernel& gemm_s8_neon() noexcept {
  static const GemmS8Kernel kernel{Isa::kNeon, "gemm_u8s8s32_neon", "gemm_s8s8s32_neon", kMr, kNr,
                                   packed_bytes_neon, pack_neon, tile_neon};
  return kernel;
}

}  // namespace distiq
