// gemm_s8_neondot — int8 GEMM for AArch64 with the dotprod extension (ARMv8.2 SDOT: Cortex-A76 / Raspberry Pi 5,
// Neoverse N1, Apple M1+). Compiled with -march=armv8.2-a+dotprod; dispatched only when HWCAP_ASIMDDP is set.
//
// Contract: distiq/gemm_s8.h, bit-identical to gemm_s8_ref for u8×s8 and s8×s8 and every epilogue.
//
// Algebra. vdotq_laneq_s32(acc, w, a, g) adds to each int32 lane c the dot product of 4 int8 weights of column c
// with the 4 int8 activations in group g of `a` (exact: |Σ| ≤ 4·128·128). SDOT is signed×signed, so a u8 A goes
// through a' = a ^ 0x80 = a − 128 (an exact int8) and the epilogue adds 128·Σw[j] from the packed row sums
// (gemm_s8_arm_epilogue.h has the zero-point algebra). Every A value in [0, 255] is exact, including ≥ 128.
//
// Layout. W is packed in panels of 8 rows (output columns); K is padded with zeros to a multiple of 16. Per group
// of 4 k, a panel stores 32 bytes: columns 0-3 then 4-7, each column's 4 consecutive k bytes together, so one
// 16-byte load feeds 4 output columns. Micro-kernel: 8 rows × 8 columns, 16 int32x4 accumulators; per 16 bytes of
// k it loads one 16-byte chunk per A row and broadcasts each 4-byte group by lane.
// Tails: M tail via the row-count template; N tail computes the zero-padded panel and stores n_valid columns; the
// K tail (< 16 bytes) copies each A row's last bytes into a zeroed stack chunk (no overread of A; padded W bytes
// are 0 so the padded products vanish whatever a' is) and runs only the groups that hold real k.
#include <arm_neon.h>

#include <cstring>

#include "distiq/gemm_s8.h"
#include "gemm_s8_arm_epilogue.h"

#ifndef __ARM_FEATURE_DOTPROD
#error "gemm_s8_neondot.cc needs -march=armv8.2-a+dotprod (see native/sources.json)"
#endif

namespace distiq {
namespace {

constexpr int kMr = 8;       // rows of A per micro-tile
constexpr int kNr = 8;       // W rows (output columns) per panel
constexpr int64_t kKc = 16;  // bytes of k per A chunk (4 groups of 4)
constexpr int64_t kGroupBytes = kNr * 4;

int64_t padded_k(int64_t k) { return (k + kKc - 1) / kKc * kKc; }

size_t packed_bytes_neondot(int64_t n, int64_t k) {
  const int64_t panels = (n + kNr - 1) / kNr;
  return static_cast<size_t>(panels) * kNr * static_cast<size_t>(padded_k(k));
}

void pack_neondot(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst) {
  const int64_t kp = padded_k(k);
  const int64_t panels = (n + kNr - 1) / kNr;
  const size_t bytes = packed_bytes_neondot(n, k);
  if (bytes == 0) return;  // n = 0 or k = 0: nothing to pack (dst may be null)
  std::memset(dst, 0, bytes);
  for (int64_t pnl = 0; pnl < panels; ++pnl) {
    uint8_t* panel = dst + pnl * kNr * kp;
    for (int c = 0; c < kNr; ++c) {
      const int64_t j = pnl * kNr + c;
      if (j >= n) break;
      const int8_t* row = w + j * ldw;
      for (int64_t kk = 0; kk < k; ++kk) {
        panel[(kk / 4) * kGroupBytes + c * 4 + (kk % 4)] = static_cast<uint8_t>(row[kk]);
      }
    }
  }
}

// Adds the products of `groups` 4-k groups (1..4) of one A chunk per row.
template <int MR>
inline void chunk_products(const int8x16_t (&a_s8x16)[MR], const uint8_t* w_groups, int groups,
                           int32x4_t (&acc)[MR][2]) {
  const int8_t* w = reinterpret_cast<const int8_t*>(w_groups);
#define DQ_NEONDOT_GROUP(g)                                                       \
  if ((g) < groups) {                                                             \
    const int8x16_t w0_s8x16 = vld1q_s8(w + (g) * kGroupBytes);                   \
    const int8x16_t w1_s8x16 = vld1q_s8(w + (g) * kGroupBytes + 16);              \
    for (int r = 0; r < MR; ++r) {                                                \
      acc[r][0] = vdotq_laneq_s32(acc[r][0], w0_s8x16, a_s8x16[r], (g));          \
      acc[r][1] = vdotq_laneq_s32(acc[r][1], w1_s8x16, a_s8x16[r], (g));          \
    }                                                                             \
  }
  DQ_NEONDOT_GROUP(0)
  DQ_NEONDOT_GROUP(1)
  DQ_NEONDOT_GROUP(2)
  DQ_NEONDOT_GROUP(3)
#undef DQ_NEONDOT_GROUP
}

// raw[r][h] = Σ_k a'[row r]·w[column 4h + lane], for the 8 columns of one panel.
template <int MR>
void micro_kernel(const uint8_t* const (&a_rows)[kMr], bool flip, int64_t k, const uint8_t* panel,
                  int32x4_t (&raw)[kMr][2]) {
  int32x4_t acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = vdupq_n_s32(0);
  const uint8x16_t flip_u8x16 = vdupq_n_u8(flip ? 0x80 : 0x00);
  int8x16_t a_s8x16[MR];
  int64_t kc = 0;
  for (; kc + kKc <= k; kc += kKc) {
    for (int r = 0; r < MR; ++r) a_s8x16[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(a_rows[r] + kc), flip_u8x16));
    chunk_products<MR>(a_s8x16, panel + kc * kNr, 4, acc);
  }
  if (kc < k) {
    uint8_t tail[MR][kKc];
    std::memset(tail, 0, sizeof(tail));
    for (int r = 0; r < MR; ++r) {
      std::memcpy(tail[r], a_rows[r] + kc, static_cast<size_t>(k - kc));
      a_s8x16[r] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(tail[r]), flip_u8x16));
    }
    chunk_products<MR>(a_s8x16, panel + kc * kNr, static_cast<int>((k - kc + 3) / 4), acc);
  }
  for (int r = 0; r < MR; ++r) {
    raw[r][0] = acc[r][0];
    raw[r][1] = acc[r][1];
  }
}

void tile_neondot(const GemmS8Args& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS8& w = *p.w;
  const int64_t k = w.k, kp = padded_k(k);
  const int32_t off = p.a_signed ? 0 : 128;
  const uint8_t* a_base = static_cast<const uint8_t*>(p.a);  // u8 and s8 rows are read as bytes
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
      const arm_gemm_s8::ColumnTerms lo = arm_gemm_s8::column_terms(p, j, n_valid < 4 ? n_valid : 4, off);
      const arm_gemm_s8::ColumnTerms hi =
          n_valid > 4 ? arm_gemm_s8::column_terms(p, j + 4, n_valid - 4, off) : lo;
      int32x4_t raw[kMr][2];
      switch (rows) {
        case 8: micro_kernel<8>(a_rows, !p.a_signed, k, panel, raw); break;
        case 7: micro_kernel<7>(a_rows, !p.a_signed, k, panel, raw); break;
        case 6: micro_kernel<6>(a_rows, !p.a_signed, k, panel, raw); break;
        case 5: micro_kernel<5>(a_rows, !p.a_signed, k, panel, raw); break;
        case 4: micro_kernel<4>(a_rows, !p.a_signed, k, panel, raw); break;
        case 3: micro_kernel<3>(a_rows, !p.a_signed, k, panel, raw); break;
        case 2: micro_kernel<2>(a_rows, !p.a_signed, k, panel, raw); break;
        default: micro_kernel<1>(a_rows, !p.a_signed, k, panel, raw); break;
      }
      for (int r = 0; r < rows; ++r) {
        arm_gemm_s8::store4(p, i + r, j, n_valid < 4 ? n_valid : 4, raw[r][0], lo, row_terms[r]);
        if (n_valid > 4) arm_gemm_s8::store4(p, i + r, j + 4, n_valid - 4, raw[r][1], hi, row_terms[r]);
      }
    }
  }
}

}  // namespace

const GemmS8Kernel& gemm_s8_neondot() noexcept {
  static const GemmS8Kernel kernel{Isa::kNeonDot, "gemm_u8s8s32_neondot", "gemm_s8s8s32_neondot", kMr, kNr,
                                   packed_bytes_neondot, pack_neondot, tile_neondot};
  return kernel;
}

}  // namespace distiq
