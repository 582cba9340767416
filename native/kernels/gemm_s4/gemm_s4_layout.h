// The "n16" packed layout shared by every SIMD gemm_s4 kernel (x86 and arm64); defined once in the baseline driver.
//
// Columns are cut into blocks of 16 (the last block is padded with zero columns: code 0, zero point 0, scale 0).
// Each block holds, for every group g in order, one record:
//   weights: kp(len_g)/8 chunks of 64 bytes; chunk b covers k = 8b .. 8b+7 of the group: byte 4c+j (c = column
//            0..15 of the block, j = 0..3) holds u(col c, k = 8b+j) in its low nibble and u(col c, k = 8b+4+j) in
//            its high nibble (u ∈ [0, 15]: the code shifted to unsigned; k beyond the group's length: 0);
//   scales:  16 float32 (one per column), or 16 float16 when every scale of the matrix converts to float16
//            exactly (PackedS4::scales_f16: fewer bytes to stream, same values);
//   zero points (only when has_zp): 16 bytes z' ∈ [0, 15].
// kp(len) = len rounded up to a multiple of 8. Every group but the last has length min(group, k).
// The quantized activations of a row use the same group padding: group g starts at g·kp(full) and is zero-filled
// up to kp(len_g).
// This header holds only declarations and static inline scalar helpers (ISA hygiene, docs/DEVELOPING.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "distiq/gemm_s4.h"

namespace distiq {

struct S4Geometry {
  int64_t groups = 0;      // G
  int64_t full_len = 0;    // length of groups 0 .. G−2 (min(group, k))
  int64_t last_len = 0;    // length of group G−1
  int64_t full_kp = 0;     // kp(full_len)
  int64_t last_kp = 0;     // kp(last_len)
  int64_t scale_bytes = 0; // 64 (float32) or 32 (float16)
  int64_t full_rec = 0;    // record bytes of a full group
  int64_t block_bytes = 0; // bytes of one 16-column block
  int64_t padded_k = 0;    // Σ kp over the groups
};

static inline int64_t s4_round8(int64_t v) { return (v + 7) / 8 * 8; }

static inline S4Geometry s4_geometry(int64_t k, int64_t group, bool has_zp, bool scales_f16) {
  S4Geometry g;
  if (k <= 0 || group <= 0) return g;
  g.groups = (k + group - 1) / group;
  g.full_len = group < k ? group : k;
  g.last_len = k - (g.groups - 1) * g.full_len;
  g.full_kp = s4_round8(g.full_len);
  g.last_kp = s4_round8(g.last_len);
  g.scale_bytes = scales_f16 ? 32 : 64;
  const int64_t tail = g.scale_bytes + (has_zp ? 16 : 0);
  g.full_rec = g.full_kp / 8 * 64 + tail;
  g.block_bytes = (g.groups - 1) * g.full_rec + g.last_kp / 8 * 64 + tail;
  g.padded_k = (g.groups - 1) * g.full_kp + g.last_kp;
  return g;
}

// The bias of 16-column block starting at column c0 with cnt ≤ 16 valid columns: bias + c0 when the block is full,
// else a copy in tail16 (zero-filled past cnt, so a full vector load never reads past the user's array); null
// without bias.
static inline const float* s4_block_bias(const float* bias, int64_t c0, int64_t cnt, float* tail16) {
  if (bias == nullptr || cnt >= 16) return bias != nullptr ? bias + c0 : nullptr;
  for (int64_t c = 0; c < 16; ++c) tail16[c] = c < cnt ? bias[c0 + c] : 0.0f;
  return tail16;
}

// The n16 kernel entries (gemm_s4_driver.cc).
int64_t s4_n16_padded_k(int64_t k, int64_t group);
size_t s4_n16_packed_bytes(const GemmS4Codes& src);
// Whether the n16 layout stores src's scales as float16 (all exact).
bool s4_n16_scales_f16(const GemmS4Codes& src);
void s4_n16_pack(const GemmS4Codes& src, uint8_t* dst, PackedS4* view);

// Code element kk of row j of the source as u ∈ [0, 15] (signed codes shifted by 8), and the row's z' for group g.
static inline int32_t s4_source_u(const GemmS4Codes& s, int64_t j, int64_t kk) {
  const uint8_t byte = s.codes[j * ((s.k + 1) / 2) + kk / 2];
  const int32_t nib = (kk & 1) ? (byte >> 4) : (byte & 0x0F);
  return s.is_signed ? (nib ^ 8) : nib;
}
static inline int32_t s4_source_z(const GemmS4Codes& s, int64_t j, int64_t g, int64_t groups) {
  if (s.zero_points == nullptr) return s.is_signed ? 8 : 0;
  return s.zero_points[j * groups + g] + (s.is_signed ? 8 : 0);
}

}  // namespace distiq
