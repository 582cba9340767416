// quant_neon — quantize / dequantize / fake-quant / min-max for AArch64 Advanced SIMD (armv8.0-a), 8 float lanes
// per step as two float32x4 halves.
//
// Contract: distiq/quant.h; bit-identical to native/ref/quant_ref.cc. The arithmetic is exactly the reference's:
//   v = vrndnq_f32(x / s) + z    RN(x / s) from vdivq_f32, or without the divider (div_exact below) when the driver
//                                 supplied RN(1/s) — the same bits; round half to even, add
//   clamp: "v >= qmin ? v : qmin" then "v > qmax ? qmax : v" as compare+select, so NaN → qmin like the ref
//          (vmaxq_f32 would propagate the NaN);  mask = (v >= qmin) & (v <= qmax) on the unclamped v
//   dequantize: (float)(q − z) · s with the subtraction in int32, as in the ref
// Parameters: the range is walked as runs of equal (scale, zero point) (walk_slots below; its own copy of the
// walk, so the x86 files' helpers can evolve independently). A run of ≥ 8 elements uses broadcast parameters;
// consecutive slots (per-channel on the last axis, groups of 1) are loaded as vectors; chunks that straddle runs get
// per-lane parameters from the walker.
// Packing: 8-bit by narrowing int32 → int16 → int8 (values already clamped, so the low byte is the s8/u8 pattern);
// int4 by viewing 8 bytes as 4 uint16 lanes (q[2i] | q[2i+1] << 8) and folding the high nibble down (t | t >> 4).
// Tails: partial chunks go through small stack buffers + memcpy — never a read or write past e1 or a row's last
// byte; the pad nibble of an odd-length row is written as 0.
#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "distiq/quant.h"

namespace distiq {
namespace {

constexpr int W = 8;

// Which (scale, zero point) slot consecutive elements use, advanced without a division per element. Same slot
// numbering as the ref's param_index: per-channel c = (e / inner) % channels; per-group o·ceil(C/g) + c/g.
struct SlotCursor {
  const QuantGeometry* g;
  int64_t p = 0;     // current slot
  int64_t left = 0;  // elements left that use slot p
  int64_t c = 0;     // group == 0: channel; group > 0: group index within the row
  int64_t groups_per_row = 0, last_group_len = 0;

  SlotCursor(const QuantGeometry& geo, int64_t e) : g(&geo) {
    if (geo.group <= 0) {
      c = (e / geo.inner) % geo.channels;
      p = c;
      left = geo.channels == 1 ? INT64_MAX / 4 : geo.inner - e % geo.inner;  // per-tensor: one endless run
    } else {
      groups_per_row = (geo.channels + geo.group - 1) / geo.group;
      last_group_len = geo.channels - (groups_per_row - 1) * geo.group;
      const int64_t o = e / geo.channels, ch = e % geo.channels;
      c = ch / geo.group;
      p = o * groups_per_row + c;
      left = (c == groups_per_row - 1 ? geo.channels : (c + 1) * geo.group) - ch;
    }
  }

  void advance(int64_t k) {  // k ≤ left
    left -= k;
    if (left > 0) return;
    if (g->group <= 0) {
      c = c + 1 == g->channels ? 0 : c + 1;
      p = c;
      left = g->inner;
    } else {
      ++p;  // groups are numbered row after row
      c = c + 1 == groups_per_row ? 0 : c + 1;
      left = c == groups_per_row - 1 ? last_group_len : g->group;
    }
  }
};

// Walks [e0, e1) in element order as
//   run(e, k, p)          k > 0 a multiple of W: elements [e, e+k) all use slot p
//   contig(e, k, p0)      k > 0 a multiple of W: element e+j uses slot p0 + j (per-channel on the last axis, groups
//                         of 1)
//   mixed(e, m, p_lanes)  0 < m ≤ W elements, element e+i uses p_lanes[i]; lanes ≥ m repeat lane 0
// Only the last chunk can be shorter than W, so every chunk starts at an even offset from e0 (int4 packing).
template <typename RunFn, typename ContigFn, typename MixedFn>
void walk_slots(const QuantGeometry& geo, int64_t e0, int64_t e1, RunFn&& run, ContigFn&& contig, MixedFn&& mixed) {
  if (e0 >= e1) return;
  const bool contiguous = geo.inner == 1 && (geo.group == 1 || (geo.group == 0 && geo.channels > 1));
  SlotCursor cur(geo, e0);
  int64_t e = e0;
  int64_t p_lanes[W];
  while (e < e1) {
    const int64_t n = e1 - e;
    if (contiguous) {
      // groups of 1: the slot is the element index itself; per-channel: slots restart at each row.
      int64_t span = geo.group == 1 ? n : (n < geo.channels - cur.c ? n : geo.channels - cur.c);
      span = span / W * W;
      if (span > 0) {
        contig(e, span, cur.p);
        e += span;
        if (e < e1) cur = SlotCursor(geo, e);
        continue;
      }
    } else if (cur.left >= W && n >= W) {
      const int64_t k = (cur.left < n ? cur.left : n) / W * W;
      run(e, k, cur.p);
      e += k;
      cur.advance(k);
      continue;
    }
    const int m = static_cast<int>(n < W ? n : W);
    for (int lane = 0; lane < m;) {
      const int take = static_cast<int>(cur.left < m - lane ? cur.left : m - lane);
      for (int i = 0; i < take; ++i) p_lanes[lane + i] = cur.p;
      lane += take;
      cur.advance(take);
    }
    for (int lane = m; lane < W; ++lane) p_lanes[lane] = p_lanes[0];
    mixed(e, m, static_cast<const int64_t*>(p_lanes));
    e += m;
  }
}

bool is_4bit(QType t) { return t == QType::kS4 || t == QType::kU4; }
bool is_signed(QType t) { return t == QType::kS8 || t == QType::kS4; }

float zero_point_f(const QuantArgs& a, int64_t p) { return a.zero_points ? static_cast<float>(a.zero_points[p]) : 0.0f; }
int32_t zero_point_i(const QuantArgs& a, int64_t p) { return a.zero_points ? a.zero_points[p] : 0; }

// 8 lanes of floats as two halves.
struct F8 {
  float32x4_t lo, hi;
};
struct I8 {
  int32x4_t lo, hi;
};

F8 load8(const float* x) { return {vld1q_f32(x), vld1q_f32(x + 4)}; }
void store8(float* y, F8 v) {
  vst1q_f32(y, v.lo);
  vst1q_f32(y + 4, v.hi);
}
F8 load_partial(const float* x, int m) {
  float tmp[W] = {};
  std::memcpy(tmp, x, static_cast<size_t>(m) * sizeof(float));
  return load8(tmp);
}
void store_partial(float* y, F8 v, int m) {
  float tmp[W];
  store8(tmp, v);
  std::memcpy(y, tmp, static_cast<size_t>(m) * sizeof(float));
}

// s, RN(1/s) (only with QuantArgs::inv_scales, else 0), zero point as float and as int.
struct Params {
  F8 s, r, zf;
  I8 zi;
};

Params broadcast_params(const QuantArgs& a, int64_t p) {
  const float32x4_t s = vdupq_n_f32(a.scales[p]);
  const float32x4_t r = vdupq_n_f32(a.inv_scales ? a.inv_scales[p] : 0.0f);
  const float32x4_t zf = vdupq_n_f32(zero_point_f(a, p));
  const int32x4_t zi = vdupq_n_s32(zero_point_i(a, p));
  return {{s, s}, {r, r}, {zf, zf}, {zi, zi}};
}

Params lane_params(const QuantArgs& a, const int64_t* p_lanes) {
  float s[W], r[W], zf[W];
  int32_t zi[W];
  for (int i = 0; i < W; ++i) {
    s[i] = a.scales[p_lanes[i]];
    r[i] = a.inv_scales ? a.inv_scales[p_lanes[i]] : 0.0f;
    zf[i] = zero_point_f(a, p_lanes[i]);
    zi[i] = zero_point_i(a, p_lanes[i]);
  }
  return {load8(s), load8(r), load8(zf), {vld1q_s32(zi), vld1q_s32(zi + 4)}};
}

// Consecutive slots p0 .. p0+7 (per-channel on the last axis, groups of 1).
Params contig_params(const QuantArgs& a, int64_t p0) {
  const F8 s = load8(a.scales + p0);
  const float32x4_t zero = vdupq_n_f32(0.0f);
  const F8 r = a.inv_scales ? load8(a.inv_scales + p0) : F8{zero, zero};
  if (a.zero_points == nullptr) {
    const int32x4_t zi = vdupq_n_s32(0);
    return {s, r, {zero, zero}, {zi, zi}};
  }
  const I8 zi{vld1q_s32(a.zero_points + p0), vld1q_s32(a.zero_points + p0 + 4)};
  return {s, r, {vcvtq_f32_s32(zi.lo), vcvtq_f32_s32(zi.hi)}, zi};  // int → float rounds to nearest, like the ref
}

// Drives full(j, prm) over full 8-lane chunks and part(e, m, prm) over chunks of m < 8 lanes (or lanes that
// straddle parameter runs), with the (scale, zero point) vectors each chunk needs.
template <typename Full, typename Part>
void for_each_chunk(const QuantArgs& a, int64_t e0, int64_t e1, Full&& full, Part&& part) {
  walk_slots(
      a.geo, e0, e1,
      [&](int64_t e, int64_t k, int64_t p) {
        const Params prm = broadcast_params(a, p);
        for (int64_t j = e; j < e + k; j += W) full(j, prm);
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        for (int64_t j = 0; j < k; j += W) full(e + j, contig_params(a, p0 + j));
      },
      [&](int64_t e, int m, const int64_t* p_lanes) { part(e, m, lane_params(a, p_lanes)); });
}

// Number of lanes whose mask is all-zero (e.g. "not equal to itself" = NaN).
int64_t count_false(uint32x4_t m_u32x4) { return 4 - static_cast<int64_t>(vaddvq_u32(vshrq_n_u32(m_u32x4, 31))); }

// RN(x / s) without the divider, for s in [2^−100, 2^100] and r = RN(1/s) (the steps and the argument of
// quant_avx512.cc's div_exact, docs/quantization.md): x clamped to ±4096·s (FMIN/FMAX propagate NaN),
// q0 = x·r, q1 = q0 + RN(x − q0·s)·r (faithful), q2 = RN(q1 + RN(x − q1·s)·r) = RN(x / s) (Markstein).
float32x4_t div_exact(float32x4_t x, float32x4_t s, float32x4_t r) {
  const float32x4_t lim = vmulq_n_f32(s, 4096.0f), neg_lim = vmulq_n_f32(s, -4096.0f);
  const float32x4_t xc = vmaxq_f32(neg_lim, vminq_f32(lim, x));
  const float32x4_t q0 = vmulq_f32(xc, r);
  const float32x4_t q1 = vfmaq_f32(q0, vfmsq_f32(xc, q0, s), r);
  return vfmaq_f32(q1, vfmsq_f32(xc, q1, s), r);
}

// kExact: RN(x / s) by div_exact (QuantArgs::inv_scales present), else by vdivq_f32. Same bits either way.
template <bool kExact>
struct Quantizer {
  float32x4_t qmin_f32x4, qmax_f32x4;
  explicit Quantizer(const QuantArgs& a)
      : qmin_f32x4(vdupq_n_f32(static_cast<float>(a.qmin))), qmax_f32x4(vdupq_n_f32(static_cast<float>(a.qmax))) {}

  // Clamped v for 4 lanes; *not_nan marks the lanes whose v is a number.
  float32x4_t apply4(float32x4_t x, float32x4_t s, float32x4_t r, float32x4_t zf, uint32x4_t* not_nan,
                     uint32x4_t* in_range) const {
    const float32x4_t v = vaddq_f32(vrndnq_f32(kExact ? div_exact(x, s, r) : vdivq_f32(x, s)), zf);
    *not_nan = vceqq_f32(v, v);
    const uint32x4_t ge_min = vcgeq_f32(v, qmin_f32x4);
    const uint32x4_t gt_max = vcgtq_f32(v, qmax_f32x4);
    if (in_range != nullptr) *in_range = vandq_u32(ge_min, vcleq_f32(v, qmax_f32x4));
    const float32x4_t lo_clamped = vbslq_f32(ge_min, v, qmin_f32x4);  // NaN and v < qmin → qmin
    return vbslq_f32(gt_max, qmax_f32x4, lo_clamped);
  }

  // Lanes past the valid count of a partial chunk hold zeros (with a valid scale): never NaN, never counted.
  F8 apply(F8 x, const Params& p, int64_t* nans, uint32x4_t* in_lo, uint32x4_t* in_hi) const {
    uint32x4_t ok_lo, ok_hi;
    const F8 v{apply4(x.lo, p.s.lo, p.r.lo, p.zf.lo, &ok_lo, in_lo), apply4(x.hi, p.s.hi, p.r.hi, p.zf.hi, &ok_hi, in_hi)};
    *nans += count_false(ok_lo) + count_false(ok_hi);
    return v;
  }
};

// Clamped, integral floats → 8 bytes (the s8/u8/nibble value's low byte).
uint8x8_t to_bytes(F8 v) {
  const int16x4_t lo = vmovn_s32(vcvtq_s32_f32(v.lo));
  const int16x4_t hi = vmovn_s32(vcvtq_s32_f32(v.hi));
  return vreinterpret_u8_s8(vmovn_s16(vcombine_s16(lo, hi)));
}

// 8 values (low nibbles significant) → 4 bytes, byte i = (q[2i] & 15) | (q[2i+1] & 15) << 4.
uint32_t pack_nibbles(uint8x8_t q_u8x8) {
  const uint16x4_t t_u16x4 = vand_u16(vreinterpret_u16_u8(q_u8x8), vdup_n_u16(0x0F0F));
  const uint16x4_t folded_u16x4 = vorr_u16(t_u16x4, vshr_n_u16(t_u16x4, 4));
  const uint8x8_t b_u8x8 = vmovn_u16(vcombine_u16(folded_u16x4, folded_u16x4));
  return vget_lane_u32(vreinterpret_u32_u8(b_u8x8), 0);
}

// 8 bytes of 8-bit q → int32 lanes.
I8 widen_bytes(uint8x8_t b_u8x8, bool sign) {
  const int16x8_t w_s16x8 = sign ? vmovl_s8(vreinterpret_s8_u8(b_u8x8)) : vreinterpretq_s16_u16(vmovl_u8(b_u8x8));
  return {vmovl_s16(vget_low_s16(w_s16x8)), vmovl_s16(vget_high_s16(w_s16x8))};
}

// 4 bytes of nibbles → 8 int32 lanes (element 2i = low nibble of byte i), sign-extended for int4.
I8 unpack_nibbles(uint32_t bytes, bool sign) {
  const uint8x8_t b_u8x8 = vreinterpret_u8_u32(vdup_n_u32(bytes));
  const uint8x8_t lo_u8x8 = vand_u8(b_u8x8, vdup_n_u8(0x0F));
  const uint8x8_t hi_u8x8 = vshr_n_u8(b_u8x8, 4);
  uint8x8_t q_u8x8 = vzip1_u8(lo_u8x8, hi_u8x8);
  if (sign) q_u8x8 = vreinterpret_u8_s8(vshr_n_s8(vshl_n_s8(vreinterpret_s8_u8(q_u8x8), 4), 4));
  return widen_bytes(q_u8x8, sign);
}

F8 affine(I8 q, const Params& p) {
  return {vmulq_f32(vcvtq_f32_s32(vsubq_s32(q.lo, p.zi.lo)), p.s.lo),
          vmulq_f32(vcvtq_f32_s32(vsubq_s32(q.hi, p.zi.hi)), p.s.hi)};
}

// int4 rows of odd length do not start on a byte boundary in the flat index, so walk them row by row.
template <typename Seg>
void int4_segments(const QuantArgs& a, int64_t e0, int64_t e1, uint8_t* base, Seg&& seg) {
  if (a.row_len % 2 == 0) {
    seg(e0, e1, base + e0 / 2);
    return;
  }
  const int64_t row_bytes = (a.row_len + 1) / 2;
  for (int64_t r = e0 / a.row_len; r * a.row_len < e1; ++r) seg(r * a.row_len, (r + 1) * a.row_len, base + r * row_bytes);
}

template <bool kExact>
int64_t quantize_impl(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer<kExact> quant(a);
  int64_t nans = 0;
  const float* x = a.x;
  if (!is_4bit(a.type)) {
    uint8_t* q = static_cast<uint8_t*>(a.q);
    for_each_chunk(
        a, e0, e1,
        [&](int64_t j, const Params& prm) {
          vst1_u8(q + j, to_bytes(quant.apply(load8(x + j), prm, &nans, nullptr, nullptr)));
        },
        [&](int64_t e, int m, const Params& prm) {
          uint8_t tmp[W];
          vst1_u8(tmp, to_bytes(quant.apply(load_partial(x + e, m), prm, &nans, nullptr, nullptr)));
          std::memcpy(q + e, tmp, static_cast<size_t>(m));
        });
    return nans;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, uint8_t* out) {
    for_each_chunk(
        a, s0, s1,
        [&](int64_t j, const Params& prm) {
          const uint32_t b = pack_nibbles(to_bytes(quant.apply(load8(x + j), prm, &nans, nullptr, nullptr)));
          std::memcpy(out + (j - s0) / 2, &b, 4);
        },
        [&](int64_t e, int m, const Params& prm) {
          uint8_t vals[W];
          vst1_u8(vals, to_bytes(quant.apply(load_partial(x + e, m), prm, &nans, nullptr, nullptr)));
          for (int i = m; i < W; ++i) vals[i] = 0;  // an odd row's pad nibble is written as 0
          const uint32_t b = pack_nibbles(vld1_u8(vals));
          std::memcpy(out + (e - s0) / 2, &b, static_cast<size_t>((m + 1) / 2));
        });
  });
  return nans;
}

int64_t quantize_neon(const QuantArgs& a, int64_t e0, int64_t e1) {
  return a.inv_scales ? quantize_impl<true>(a, e0, e1) : quantize_impl<false>(a, e0, e1);
}

void dequantize_neon(const QuantArgs& a, int64_t e0, int64_t e1) {
  float* y = const_cast<float*>(a.x);  // dequantize writes x (see QuantArgs)
  const bool sign = is_signed(a.type);
  if (!is_4bit(a.type)) {
    const uint8_t* q = static_cast<const uint8_t*>(a.q);
    for_each_chunk(
        a, e0, e1,
        [&](int64_t j, const Params& prm) { store8(y + j, affine(widen_bytes(vld1_u8(q + j), sign), prm)); },
        [&](int64_t e, int m, const Params& prm) {
          uint8_t tmp[W] = {};
          std::memcpy(tmp, q + e, static_cast<size_t>(m));
          store_partial(y + e, affine(widen_bytes(vld1_u8(tmp), sign), prm), m);
        });
    return;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, const uint8_t* in) {
    for_each_chunk(
        a, s0, s1,
        [&](int64_t j, const Params& prm) {
          uint32_t b;
          std::memcpy(&b, in + (j - s0) / 2, 4);
          store8(y + j, affine(unpack_nibbles(b, sign), prm));
        },
        [&](int64_t e, int m, const Params& prm) {
          uint32_t b = 0;
          std::memcpy(&b, in + (e - s0) / 2, static_cast<size_t>((m + 1) / 2));
          store_partial(y + e, affine(unpack_nibbles(b, sign), prm), m);
        });
  });
}

// 0/1 mask bytes from two lane masks.
uint8x8_t mask_bytes(uint32x4_t in_lo, uint32x4_t in_hi) {
  const uint16x4_t lo = vmovn_u32(vshrq_n_u32(in_lo, 31));
  const uint16x4_t hi = vmovn_u32(vshrq_n_u32(in_hi, 31));
  return vmovn_u16(vcombine_u16(lo, hi));
}

F8 fake_value(F8 v, const Params& p) {
  return {vmulq_f32(vsubq_f32(v.lo, p.zf.lo), p.s.lo), vmulq_f32(vsubq_f32(v.hi, p.zf.hi), p.s.hi)};
}

template <bool kExact>
int64_t fake_quant_impl(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer<kExact> quant(a);
  int64_t nans = 0;
  const float* x = a.x;
  float* y = a.y;
  uint8_t* mask = a.mask;
  for_each_chunk(
      a, e0, e1,
      [&](int64_t j, const Params& prm) {
        uint32x4_t in_lo, in_hi;
        const F8 v = quant.apply(load8(x + j), prm, &nans, &in_lo, &in_hi);
        store8(y + j, fake_value(v, prm));
        if (mask) vst1_u8(mask + j, mask_bytes(in_lo, in_hi));
      },
      [&](int64_t e, int m, const Params& prm) {
        uint32x4_t in_lo, in_hi;
        const F8 v = quant.apply(load_partial(x + e, m), prm, &nans, &in_lo, &in_hi);
        store_partial(y + e, fake_value(v, prm), m);
        if (mask) {
          uint8_t tmp[W];
          vst1_u8(tmp, mask_bytes(in_lo, in_hi));
          std::memcpy(mask + e, tmp, static_cast<size_t>(m));
        }
      });
  return nans;
}

int64_t fake_quant_neon(const QuantArgs& a, int64_t e0, int64_t e1) {
  return a.inv_scales ? fake_quant_impl<true>(a, e0, e1) : fake_quant_impl<false>(a, e0, e1);
}

int64_t minmax_neon(const float* x, const QuantGeometry& geo, int64_t e0, int64_t e1, float* mins, float* maxs) {
  int64_t bad = 0;
  const float32x4_t inf_f32x4 = vdupq_n_f32(__builtin_inff());
  walk_slots(
      geo, e0, e1,
      [&](int64_t e, int64_t k, int64_t p) {
        float32x4_t lo_f32x4 = vdupq_n_f32(mins[p]);
        float32x4_t hi_f32x4 = vdupq_n_f32(maxs[p]);
        for (int64_t j = e; j < e + k; j += 4) {
          const float32x4_t v_f32x4 = vld1q_f32(x + j);
          // |v| < Inf is false for ±Inf and NaN: those lanes are counted (the values are then unspecified and the
          // driver fails the call).
          bad += count_false(vcltq_f32(vabsq_f32(v_f32x4), inf_f32x4));
          lo_f32x4 = vminq_f32(lo_f32x4, v_f32x4);
          hi_f32x4 = vmaxq_f32(hi_f32x4, v_f32x4);
        }
        // Zeros may come back as −0 or +0 depending on order; the driver reports every zero as +0.
        mins[p] = vminvq_f32(lo_f32x4);
        maxs[p] = vmaxvq_f32(hi_f32x4);
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        // Consecutive elements own consecutive slots: fold lane-wise into mins/maxs directly.
        for (int64_t j = 0; j < k; j += 4) {
          const float32x4_t v_f32x4 = vld1q_f32(x + e + j);
          bad += count_false(vcltq_f32(vabsq_f32(v_f32x4), inf_f32x4));
          vst1q_f32(mins + p0 + j, vminq_f32(vld1q_f32(mins + p0 + j), v_f32x4));
          vst1q_f32(maxs + p0 + j, vmaxq_f32(vld1q_f32(maxs + p0 + j), v_f32x4));
        }
      },
      [&](int64_t e, int m, const int64_t* p_lanes) {
        for (int i = 0; i < m; ++i) {
          const float v = x[e + i];
          if (!(__builtin_fabsf(v) < __builtin_inff())) {
            ++bad;
            continue;
          }
          const int64_t p = p_lanes[i];
          if (v < mins[p]) mins[p] = v;
          if (v > maxs[p]) maxs[p] = v;
        }
      });
  return bad;
}

}  // namespace

const QuantKernel& quant_neon() noexcept {
  static const QuantKernel k{Isa::kNeon,          "quantize_f32q_neon", "dequantize_qf32_neon",
                             "minmax_f32_neon",     "fake_quant_f32_neon", quantize_neon,
                             dequantize_neon,       fake_quant_neon,       minmax_neon};
  return k;
}

}  // namespace distiq
