// The arm64 gemm_s4 loop nest (n16 layout, gemm_s4_layout.h), included by gemm_s4_neon.cc and gemm_s4_neondot.cc
// inside their anonymous namespaces (private copies per ISA flags). The including file provides <arm_neon.h>,
// <cstring>, "gemm_s4_layout.h" and a policy P for the integer dot of one 8-k chunk:
//   P::Acc                       per (row, 4-column vector) integer state
//   P::init(corr)                state holding the int32x4 correction −z'·Σa
//   P::step(acc, lo, hi, a8)     += lo (u of k 0..3) · a8[0..3] + hi (u of k 4..7) · a8[4..7], per column
//   P::flush(acc)                called after every 4th chunk (int16 partial sums of the armv8.0 path stay < 2^15)
//   P::result(acc)               int32x4: the exact per-column dot of the group
//   P::kMr, P::kNbGemm, P::kNbGemv

struct S4aQuant {
  // max |row[0:k)|; true when a NaN or ±Inf was seen.
  static bool absmax(const float* row, int64_t k, float* out) {
    const float32x4_t inf = vdupq_n_f32(INFINITY);
    float32x4_t vmax = vdupq_n_f32(0.0f);
    uint32x4_t ok = vdupq_n_u32(~0u);
    int64_t kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      const float32x4_t v = vabsq_f32(vld1q_f32(row + kk));
      vmax = vmaxq_f32(vmax, v);
      ok = vandq_u32(ok, vcltq_f32(v, inf));  // false for NaN and ±Inf
    }
    float rmax = vmaxvq_f32(vmax);
    bool bad = vminvq_u32(ok) == 0;
    for (; kk < k; ++kk) {
      const float a = std::fabs(row[kk]);
      if (!(a < INFINITY)) bad = true;
      rmax = a > rmax ? a : rmax;
    }
    *out = rmax;
    return bad;
  }
  // Quantizes src[0:len) into dst[0:kp) (zeros past len; kp a multiple of 8 ≥ len); returns Σ dst.
  static int32_t group(const float* src, int64_t len, int64_t kp, float scale, int8_t* dst) {
    const float32x4_t vs = vdupq_n_f32(scale);
    const int32x4_t lo = vdupq_n_s32(-127), hi = vdupq_n_s32(127);
    int32x4_t vsum = vdupq_n_s32(0);
    for (int64_t t = 0; t < kp; t += 8) {  // the tail chunk's zeros pad the group
      float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const float* p = src + t;
      if (t + 8 > len) {
        std::memcpy(buf, src + t, static_cast<size_t>(len - t) * 4);
        p = buf;
      }
      int32x4_t q0 = vcvtnq_s32_f32(vdivq_f32(vld1q_f32(p), vs));
      int32x4_t q1 = vcvtnq_s32_f32(vdivq_f32(vld1q_f32(p + 4), vs));
      q0 = vminq_s32(vmaxq_s32(q0, lo), hi);
      q1 = vminq_s32(vmaxq_s32(q1, lo), hi);
      vsum = vaddq_s32(vsum, vaddq_s32(q0, q1));
      vst1_s8(dst + t, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))));
    }
    return vaddvq_s32(vsum);
  }
};

template <class P, int MR, int NB, bool ZP>
void s4_micro(const GemmS4Run& r, const S4Geometry& geo, int64_t i0, int64_t nb0) {
  const PackedS4& w = *r.w;
  const int64_t bb = geo.block_bytes;
  const uint8_t* base = w.data + nb0 * bb;
  const uint8x16_t mask = vdupq_n_u8(0x0F);
  float32x4_t facc[MR][NB][4];
  for (int rr = 0; rr < MR; ++rr)
    for (int j = 0; j < NB; ++j)
      for (int h = 0; h < 4; ++h) facc[rr][j][h] = vdupq_n_f32(0.0f);

  for (int64_t g = 0; g < geo.groups; ++g) {
    const int64_t nblk = (g + 1 == geo.groups ? geo.last_kp : geo.full_kp) / 8;
    const uint8_t* rec = base + g * geo.full_rec;
    typename P::Acc acc[MR][NB][4];
    for (int rr = 0; rr < MR; ++rr) {
      const int32_t gs = r.a_gsum[(i0 + rr) * geo.groups + g];
      for (int j = 0; j < NB; ++j)
        for (int h = 0; h < 4; ++h) {
          int32x4_t corr;
          if constexpr (!ZP) {
            corr = vdupq_n_s32(static_cast<int32_t>(static_cast<uint32_t>(-w.zp_const) * static_cast<uint32_t>(gs)));
          } else {
            uint8_t z[4];
            std::memcpy(z, rec + j * bb + nblk * 64 + geo.scale_bytes + 4 * h, 4);
            const int32_t zv[4] = {z[0], z[1], z[2], z[3]};
            corr = vreinterpretq_s32_u32(
                vmulq_u32(vreinterpretq_u32_s32(vld1q_s32(zv)), vdupq_n_u32(0u - static_cast<uint32_t>(gs))));
          }
          acc[rr][j][h] = P::init(corr);
        }
    }
    const int8_t* a = r.aq + i0 * r.kq + g * geo.full_kp;
    for (int64_t b = 0; b < nblk; ++b) {
      int8x16_t lo[NB][4], hi[NB][4];
      for (int j = 0; j < NB; ++j)
        for (int h = 0; h < 4; ++h) {
          const uint8x16_t v = vld1q_u8(rec + j * bb + b * 64 + 16 * h);
          lo[j][h] = vreinterpretq_s8_u8(vandq_u8(v, mask));
          hi[j][h] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
        }
      for (int rr = 0; rr < MR; ++rr) {
        const int8x8_t a8 = vld1_s8(a + rr * r.kq + b * 8);
        for (int j = 0; j < NB; ++j)
          for (int h = 0; h < 4; ++h) P::step(acc[rr][j][h], lo[j][h], hi[j][h], a8);
      }
      if ((b & 3) == 3) {
        for (int rr = 0; rr < MR; ++rr)
          for (int j = 0; j < NB; ++j)
            for (int h = 0; h < 4; ++h) P::flush(acc[rr][j][h]);
      }
    }
    for (int j = 0; j < NB; ++j)
      for (int h = 0; h < 4; ++h) {
        const uint8_t* sp = rec + j * bb + nblk * 64;
        const float32x4_t s = w.scales_f16 ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(sp) + 4 * h)))
                                           : vld1q_f32(reinterpret_cast<const float*>(sp) + 4 * h);
        for (int rr = 0; rr < MR; ++rr)
          facc[rr][j][h] = vfmaq_f32(facc[rr][j][h], vcvtq_f32_s32(P::result(acc[rr][j][h])), s);
      }
  }

  const int64_t n = w.n;
  for (int rr = 0; rr < MR; ++rr) {
    const float32x4_t as = vdupq_n_f32(r.a_scale[i0 + rr]);
    float* yrow = r.y + (i0 + rr) * r.ldy;
    for (int j = 0; j < NB; ++j) {
      const int64_t c0 = (nb0 + j) * 16;
      const int64_t cnt = n - c0 < 16 ? n - c0 : 16;
      float bias_tail[16];
      const float* bp = s4_block_bias(r.bias, c0, cnt, bias_tail);
      for (int h = 0; h < 4; ++h) {
        const int64_t left = cnt - 4 * h;
        if (left <= 0) break;
        const float32x4_t bv = bp != nullptr ? vld1q_f32(bp + 4 * h) : vdupq_n_f32(0.0f);
        const float32x4_t yv = vfmaq_f32(bv, facc[rr][j][h], as);  // fmaf(acc, a_scale, bias)
        if (left >= 4) {
          vst1q_f32(yrow + c0 + 4 * h, yv);
        } else {
          float tmp[4];
          vst1q_f32(tmp, yv);
          std::memcpy(yrow + c0 + 4 * h, tmp, static_cast<size_t>(left) * 4);
        }
      }
    }
  }
}

#include "gemm_s4_nest.h"
