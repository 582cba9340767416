// quant_avx2 — quantize / dequantize / fake-quant / min-max on 8 float lanes (AVX2).
//
// Contract: distiq/quant.h; bit-identical to native/ref/quant_ref.cc. Two pipelines, as in quant_avx512.cc:
//   - 8-bit quantize with QuantArgs::inv_scales: RN(x / s) without the divider (div_exact, exact — see
//     docs/quantization.md), magic-number rounding, z and the clamp in integers (quantize8_exact);
//   - otherwise the reference's float expressions: v = round(x / s, nearest-even) + z (vdivps; -ffp-contract=off
//     keeps the add separate); max(v, qmin) returns qmin for NaN (the second operand); then min(·, qmax).
// Parameters: the range is walked as runs of equal (scale, zero point) (quant_walk.h):
//   - runs of ≥ 8 elements: broadcast parameters, full vectors;
//   - consecutive slots (per-channel on the last axis, groups of 1): parameters loaded as vectors;
//   - short runs inside one row / outer slice (small groups, small inner): lane slots from a per-call table
//     q_of[t] = t / unit indexed by the chunk's phase, the few distinct parameters loaded once (masked) and
//     spread with vpermps;
//   - chunks that cross a row: per-lane parameters from the scalar walker.
// Packing: 8-bit with packs_epi32 + packs/packus_epi16 (values are already clamped, so no saturation happens);
// int4 by OR-ing each odd lane into bits 4..7 of its even neighbour inside a qword (srli_epi64 by 28) and a byte
// shuffle.
// Tails: vmaskmovps for floats, a small stack buffer + memcpy for bytes — never a read or write past e1 or the
// last byte of a row.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "distiq/quant.h"

namespace distiq {
namespace {

#include "quant_walk.h"

constexpr int W = 8;
constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

bool is_4bit(QType t) { return t == QType::kS4 || t == QType::kU4; }
bool is_signed(QType t) { return t == QType::kS8 || t == QType::kS4; }

// All-ones in the first m int32 lanes.
__m256i lanes_mask(int m) {
  alignas(64) static const int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 8 - m));
}

// Software prefetch distance of the streaming loops (quantize spans, min/max runs): 2 KiB of input ahead (see
// quant_avx512.cc). A prefetch never faults, so running past the end is harmless.
constexpr int64_t kPrefetchFloats = 512;
void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }

float zero_point_f(const QuantArgs& a, int64_t p) { return a.zero_points ? static_cast<float>(a.zero_points[p]) : 0.0f; }

// One chunk's parameter vectors: scale, RN(1/scale) (only with QuantArgs::inv_scales, else 0), zero point.
struct Params8 {
  __m256 s, r, z;
};

// Per-lane parameters for a mixed chunk.
Params8 lane_params(const QuantArgs& a, const int64_t* p_lanes) {
  alignas(32) float s[W], r[W], z[W];
  for (int i = 0; i < W; ++i) {
    s[i] = a.scales[p_lanes[i]];
    r[i] = a.inv_scales ? a.inv_scales[p_lanes[i]] : 0.0f;
    z[i] = zero_point_f(a, p_lanes[i]);
  }
  return {_mm256_load_ps(s), _mm256_load_ps(r), _mm256_load_ps(z)};
}

// RN(x / s) without the divider, for s in [2^−100, 2^100] and r = RN(1/s); the same steps as quant_avx512.cc's
// div_exact (the argument: docs/quantization.md, "Division without the divider"):
//   x clamped to ±4096·s (NaN passes: min/max return their second operand for NaN), q0 = x·r,
//   q1 = q0 + RN(x − q0·s)·r (faithful), q2 = RN(q1 + RN(x − q1·s)·r) = RN(x / s) (Markstein).
__m256 div_exact(__m256 x_f32x8, __m256 s_f32x8, __m256 r_f32x8) {
  const __m256 lim_f32x8 = _mm256_mul_ps(s_f32x8, _mm256_set1_ps(4096.0f));
  const __m256 neg_lim_f32x8 = _mm256_mul_ps(s_f32x8, _mm256_set1_ps(-4096.0f));
  const __m256 xc_f32x8 = _mm256_max_ps(neg_lim_f32x8, _mm256_min_ps(lim_f32x8, x_f32x8));
  const __m256 q0_f32x8 = _mm256_mul_ps(xc_f32x8, r_f32x8);
  const __m256 q1_f32x8 = _mm256_fmadd_ps(_mm256_fnmadd_ps(q0_f32x8, s_f32x8, xc_f32x8), r_f32x8, q0_f32x8);
  return _mm256_fmadd_ps(_mm256_fnmadd_ps(q1_f32x8, s_f32x8, xc_f32x8), r_f32x8, q1_f32x8);
}

// The quantizer's float pipeline: returns clamp(nearbyint(x / s) + z, qmin, qmax); NaN lanes as a bitmask.
struct Quantizer {
  __m256 qmin_f32x8, qmax_f32x8;
  explicit Quantizer(const QuantArgs& a)
      : qmin_f32x8(_mm256_set1_ps(static_cast<float>(a.qmin))), qmax_f32x8(_mm256_set1_ps(static_cast<float>(a.qmax))) {}

  // RN(x / s) by vdivps: in this float pipeline (fake-quant, int4) the divider-free quotient measured slower (the
  // divider is not the bottleneck there); the 8-bit quantize uses codes_exact below.
  __m256 apply(__m256 x_f32x8, const Params8& pr, int* nan_bits, __m256* in_range) const {
    __m256 v_f32x8 = _mm256_div_ps(x_f32x8, pr.s);
    v_f32x8 = _mm256_round_ps(v_f32x8, kRound);
    v_f32x8 = _mm256_add_ps(v_f32x8, pr.z);
    *nan_bits = _mm256_movemask_ps(_mm256_cmp_ps(v_f32x8, v_f32x8, _CMP_UNORD_Q));
    if (in_range != nullptr) {
      *in_range = _mm256_and_ps(_mm256_cmp_ps(v_f32x8, qmin_f32x8, _CMP_GE_OQ), _mm256_cmp_ps(v_f32x8, qmax_f32x8, _CMP_LE_OQ));
    }
    return _mm256_min_ps(_mm256_max_ps(v_f32x8, qmin_f32x8), qmax_f32x8);
  }
};

int popcount8(int bits) { return __builtin_popcount(static_cast<unsigned>(bits)); }

// 8 int32 lanes (already inside the 8-bit range) → 8 bytes in the low half.
__m128i pack_bytes(__m256i q_i32x8, bool sign) {
  const __m128i w_i16x8 = _mm_packs_epi32(_mm256_castsi256_si128(q_i32x8), _mm256_extracti128_si256(q_i32x8, 1));
  return sign ? _mm_packs_epi16(w_i16x8, w_i16x8) : _mm_packus_epi16(w_i16x8, w_i16x8);
}

// int4: lane pairs (2i, 2i+1) → 4 bytes, byte i = (q[2i] & 15) | (q[2i+1] & 15) << 4.
uint32_t pack_nibbles(__m256i q_i32x8) {
  const __m256i lo_i32x8 = _mm256_and_si256(q_i32x8, _mm256_set1_epi32(0x0F));
  const __m256i b_i64x4 = _mm256_or_si256(lo_i32x8, _mm256_srli_epi64(lo_i32x8, 28));
  const __m256i pick = _mm256_setr_epi8(0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                        0, 8, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i s_u8x32 = _mm256_shuffle_epi8(b_i64x4, pick);
  const __m128i b_u8x16 = _mm_unpacklo_epi16(_mm256_castsi256_si128(s_u8x32), _mm256_extracti128_si256(s_u8x32, 1));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(b_u8x16));
}

// 4 int4 bytes → 8 int32 lanes.
__m256i unpack_nibbles(uint32_t bytes, bool sign) {
  const __m256i b_i64x4 = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(static_cast<int>(bytes)));
  __m256i q_i32x8 = _mm256_or_si256(_mm256_and_si256(b_i64x4, _mm256_set1_epi64x(0x0F)),
                                    _mm256_slli_epi64(_mm256_srli_epi64(b_i64x4, 4), 32));
  if (sign) q_i32x8 = _mm256_srai_epi32(_mm256_slli_epi32(q_i32x8, 28), 28);
  return q_i32x8;
}

template <typename Seg>
void int4_segments(const QuantArgs& a, int64_t e0, int64_t e1, uint8_t* base, Seg&& seg) {
  if (a.row_len % 2 == 0) {
    seg(e0, e1, base + e0 / 2);
    return;
  }
  const int64_t row_bytes = (a.row_len + 1) / 2;
  for (int64_t r = e0 / a.row_len; r * a.row_len < e1; ++r) {
    seg(r * a.row_len, (r + 1) * a.row_len, base + r * row_bytes);
  }
}

// Drives full(j, s, z) over full 8-lane chunks and part(e, m, s, z) over chunks of m < 8 lanes (or lanes that
// straddle parameter runs), with the (scale, zero point) vectors each chunk needs.
// Lane parameters for a chunk inside one block (quant_walk.h): lane j uses slot p + (r + j) / unit, read from the
// per-call table q_of[t] = t / unit; the ≤ 8 distinct parameters are loaded once (masked, no overread) and spread
// over the lanes with vpermps.
template <bool kExact>
Params8 blocked_params(const QuantArgs& a, int m, int64_t p, int64_t r, const int32_t* q_of) {
  const int last = q_of[r + m - 1];  // distinct slots − 1
  __m256i idx_i32x8 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q_of + r));
  idx_i32x8 = _mm256_min_epi32(idx_i32x8, _mm256_set1_epi32(last));  // lanes ≥ m repeat the last slot
  const __m256i k = lanes_mask(last + 1);
  Params8 pr;
  pr.s = _mm256_permutevar8x32_ps(_mm256_maskload_ps(a.scales + p, k), idx_i32x8);
  pr.r = kExact ? _mm256_permutevar8x32_ps(_mm256_maskload_ps(a.inv_scales + p, k), idx_i32x8) : _mm256_setzero_ps();
  pr.z = a.zero_points ? _mm256_cvtepi32_ps(_mm256_permutevar8x32_epi32(
                             _mm256_maskload_epi32(a.zero_points + p, k), idx_i32x8))
                       : _mm256_setzero_ps();
  return pr;
}

// kExact: also provide RN(1/s) (Params8::r) from QuantArgs::inv_scales, for codes_exact.
// span(e, k, params_at) takes the long stretches (runs of one slot, consecutive slots): k a multiple of W, and
// params_at(j) gives the parameters of the full vector at element j (constant for a run), so a span can unroll.
template <bool kExact, typename Full, typename Part, typename Span>
void for_each_chunk(const QuantArgs& a, int64_t e0, int64_t e1, Full&& full, Part&& part, Span&& span) {
  // q_of[t] = t / unit for every t a blocked chunk can ask for (r < unit < 4W, j < W); only used when unit < 4W.
  const int64_t unit = a.geo.group > 0 ? a.geo.group : a.geo.inner;
  alignas(64) int32_t q_of[5 * W];
  for (int32_t t = 0, q = 0, left = static_cast<int32_t>(unit < 5 * W ? unit : 5 * W); t < 5 * W; ++t) {
    if (left == 0) {
      ++q;
      left = static_cast<int32_t>(unit);
    }
    q_of[t] = q;
    --left;
  }
  walk_params<W>(
      a.geo, e0, e1,
      [&](int64_t e, int64_t k, int64_t p) {
        const Params8 pr{_mm256_set1_ps(a.scales[p]), _mm256_set1_ps(kExact ? a.inv_scales[p] : 0.0f),
                         _mm256_set1_ps(zero_point_f(a, p))};
        span(e, k, [&](int64_t) { return pr; });
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        span(e, k, [&](int64_t j) {
          const int64_t p = p0 + (j - e);
          return Params8{
              _mm256_loadu_ps(a.scales + p), kExact ? _mm256_loadu_ps(a.inv_scales + p) : _mm256_setzero_ps(),
              a.zero_points ? _mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.zero_points + p)))
                            : _mm256_setzero_ps()};
        });
      },
      [&](int64_t e, int m, int64_t p, int64_t r, int64_t) {
        const Params8 pr = blocked_params<kExact>(a, m, p, r, q_of);
        if (m == W) full(e, pr);
        else part(e, m, pr);
      },
      [&](int64_t e, int m, const int64_t* p_lanes) { part(e, m, lane_params(a, p_lanes)); });
}

template <bool kExact, typename Full, typename Part>
void for_each_chunk(const QuantArgs& a, int64_t e0, int64_t e1, Full&& full, Part&& part) {
  for_each_chunk<kExact>(a, e0, e1, full, part, [&](int64_t e, int64_t k, auto&& params_at) {
    for (int64_t j = e; j < e + k; j += W) full(j, params_at(j));
  });
}

// The 8-bit codes of the divider-free path before the clamp, nearbyint(RN(x / s)) + z as int32 — the steps of
// quant_avx512.cc's codes_exact: q = div_exact(x); q + 1.5·2^23 rounds to an integer (ties to even) held in the
// low mantissa bits, minus bits(1.5·2^23) − z; nan = fma(q, 0, nan) becomes NaN once a lane is NaN.

__m256i codes_exact(__m256 x_f32x8, const Params8& pr, __m256* nan_f32x8) {
  const __m256 q_f32x8 = div_exact(x_f32x8, pr.s, pr.r);
  *nan_f32x8 = _mm256_fmadd_ps(q_f32x8, _mm256_setzero_ps(), *nan_f32x8);
  const __m256i t_i32x8 = _mm256_castps_si256(_mm256_add_ps(q_f32x8, _mm256_set1_ps(kMagic)));
  return _mm256_sub_epi32(t_i32x8, _mm256_sub_epi32(_mm256_set1_epi32(kMagicBits), _mm256_cvtps_epi32(pr.z)));
}

int64_t count_nans(const float* x, int64_t e0, int64_t e1) {
  int64_t n = 0;
  for (int64_t e = e0; e < e1; ++e) n += x[e] != x[e] ? 1 : 0;
  return n;
}

// 8-bit quantize through codes_exact: spans in blocks of 4 vectors, packed with saturating packs and clamped as
// bytes (saturating to the type's range first does not change a clamp to a narrower [qmin, qmax]).
int64_t quantize8_exact(const QuantArgs& a, int64_t e0, int64_t e1) {
  const bool sign = is_signed(a.type);
  const float* x = a.x;
  uint8_t* q = static_cast<uint8_t*>(a.q);
  const __m256i qmin_i32x8 = _mm256_set1_epi32(a.qmin), qmax_i32x8 = _mm256_set1_epi32(a.qmax);
  const __m256i qmin_i8x32 = _mm256_set1_epi8(static_cast<char>(a.qmin));
  const __m256i qmax_i8x32 = _mm256_set1_epi8(static_cast<char>(a.qmax));
  // After packs_epi32 + packs_epi16 dword 4L + v (L = 128-bit lane) holds elements 4L..4L+3 of vector v: move it
  // to dword 2v + L.
  const __m256i order_i32x8 = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256 nan_f32x8 = _mm256_setzero_ps();
  auto clamp = [&](__m256i c_i32x8) { return _mm256_min_epi32(_mm256_max_epi32(c_i32x8, qmin_i32x8), qmax_i32x8); };
  for_each_chunk<true>(
      a, e0, e1,
      [&](int64_t j, const Params8& pr) {
        const __m256i c_i32x8 = clamp(codes_exact(_mm256_loadu_ps(x + j), pr, &nan_f32x8));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(q + j), pack_bytes(c_i32x8, sign));
      },
      [&](int64_t e, int m, const Params8& pr) {
        const __m256i c_i32x8 = clamp(codes_exact(_mm256_maskload_ps(x + e, lanes_mask(m)), pr, &nan_f32x8));
        alignas(16) uint8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), pack_bytes(c_i32x8, sign));
        std::memcpy(q + e, tmp, static_cast<size_t>(m));
      },
      [&](int64_t e, int64_t k, auto&& params_at) {
        int64_t j = e;
        for (; j + 4 * W <= e + k; j += 4 * W) {
          prefetch(x + j + kPrefetchFloats);
          prefetch(x + j + kPrefetchFloats + 2 * W);
          const __m256i c0 = codes_exact(_mm256_loadu_ps(x + j), params_at(j), &nan_f32x8);
          const __m256i c1 = codes_exact(_mm256_loadu_ps(x + j + W), params_at(j + W), &nan_f32x8);
          const __m256i c2 = codes_exact(_mm256_loadu_ps(x + j + 2 * W), params_at(j + 2 * W), &nan_f32x8);
          const __m256i c3 = codes_exact(_mm256_loadu_ps(x + j + 3 * W), params_at(j + 3 * W), &nan_f32x8);
          const __m256i w01 = _mm256_packs_epi32(c0, c1), w23 = _mm256_packs_epi32(c2, c3);
          __m256i b = sign ? _mm256_packs_epi16(w01, w23) : _mm256_packus_epi16(w01, w23);
          b = _mm256_permutevar8x32_epi32(b, order_i32x8);
          b = sign ? _mm256_min_epi8(_mm256_max_epi8(b, qmin_i8x32), qmax_i8x32)
                   : _mm256_min_epu8(_mm256_max_epu8(b, qmin_i8x32), qmax_i8x32);
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j), b);
        }
        for (; j < e + k; j += W) {
          const __m256i c_i32x8 = clamp(codes_exact(_mm256_loadu_ps(x + j), params_at(j), &nan_f32x8));
          _mm_storel_epi64(reinterpret_cast<__m128i*>(q + j), pack_bytes(c_i32x8, sign));
        }
      });
  // NaN + anything is NaN: one NaN lane leaves a NaN in nan_f32x8.
  if (_mm256_movemask_ps(_mm256_cmp_ps(nan_f32x8, nan_f32x8, _CMP_UNORD_Q)) == 0) return 0;
  return count_nans(x, e0, e1);
}

int64_t quantize_float(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer quant(a);
  const bool sign = is_signed(a.type);
  int64_t nans = 0;
  const float* x = a.x;
  if (!is_4bit(a.type)) {
    uint8_t* q = static_cast<uint8_t*>(a.q);
    for_each_chunk<false>(
        a, e0, e1,
        [&](int64_t j, const Params8& pr) {
          int nan;
          const __m256 v_f32x8 = quant.apply(_mm256_loadu_ps(x + j), pr, &nan, nullptr);
          nans += popcount8(nan);
          _mm_storel_epi64(reinterpret_cast<__m128i*>(q + j), pack_bytes(_mm256_cvtps_epi32(v_f32x8), sign));
        },
        [&](int64_t e, int m, const Params8& pr) {
          int nan;
          const __m256 v_f32x8 = quant.apply(_mm256_maskload_ps(x + e, lanes_mask(m)), pr, &nan, nullptr);
          nans += popcount8(nan & ((1 << m) - 1));
          alignas(16) uint8_t tmp[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), pack_bytes(_mm256_cvtps_epi32(v_f32x8), sign));
          std::memcpy(q + e, tmp, static_cast<size_t>(m));
        });
    return nans;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, uint8_t* out) {
    for_each_chunk<false>(
        a, s0, s1,
        [&](int64_t j, const Params8& pr) {
          int nan;
          const __m256 v_f32x8 = quant.apply(_mm256_loadu_ps(x + j), pr, &nan, nullptr);
          nans += popcount8(nan);
          const uint32_t b = pack_nibbles(_mm256_cvtps_epi32(v_f32x8));
          std::memcpy(out + (j - s0) / 2, &b, 4);
        },
        [&](int64_t e, int m, const Params8& pr) {
          const __m256i k = lanes_mask(m);
          int nan;
          const __m256 v_f32x8 = quant.apply(_mm256_maskload_ps(x + e, k), pr, &nan, nullptr);
          nans += popcount8(nan & ((1 << m) - 1));
          // Lanes ≥ m become 0, so an odd row's pad nibble is written as 0.
          const uint32_t b = pack_nibbles(_mm256_and_si256(_mm256_cvtps_epi32(v_f32x8), k));
          std::memcpy(out + (e - s0) / 2, &b, static_cast<size_t>((m + 1) / 2));
        });
  });
  return nans;
}

int64_t quantize_avx2(const QuantArgs& a, int64_t e0, int64_t e1) {
  return a.inv_scales == nullptr || is_4bit(a.type) ? quantize_float(a, e0, e1) : quantize8_exact(a, e0, e1);
}

__m256 affine(__m256i q_i32x8, __m256 s_f32x8, __m256 z_f32x8) {
  return _mm256_mul_ps(_mm256_sub_ps(_mm256_cvtepi32_ps(q_i32x8), z_f32x8), s_f32x8);
}

void dequantize_avx2(const QuantArgs& a, int64_t e0, int64_t e1) {
  float* y = const_cast<float*>(a.x);  // dequantize writes x (see QuantArgs)
  const bool sign = is_signed(a.type);
  if (!is_4bit(a.type)) {
    const uint8_t* q = static_cast<const uint8_t*>(a.q);
    auto widen = [sign](__m128i b_u8x8) { return sign ? _mm256_cvtepi8_epi32(b_u8x8) : _mm256_cvtepu8_epi32(b_u8x8); };
    for_each_chunk<false>(
        a, e0, e1,
        [&](int64_t j, const Params8& pr) {
          const __m256i q_i32x8 = widen(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + j)));
          _mm256_storeu_ps(y + j, affine(q_i32x8, pr.s, pr.z));
        },
        [&](int64_t e, int m, const Params8& pr) {
          alignas(16) uint8_t tmp[16] = {};
          std::memcpy(tmp, q + e, static_cast<size_t>(m));
          const __m256i q_i32x8 = widen(_mm_load_si128(reinterpret_cast<const __m128i*>(tmp)));
          _mm256_maskstore_ps(y + e, lanes_mask(m), affine(q_i32x8, pr.s, pr.z));
        });
    return;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, const uint8_t* in) {
    for_each_chunk<false>(
        a, s0, s1,
        [&](int64_t j, const Params8& pr) {
          uint32_t b;
          std::memcpy(&b, in + (j - s0) / 2, 4);
          _mm256_storeu_ps(y + j, affine(unpack_nibbles(b, sign), pr.s, pr.z));
        },
        [&](int64_t e, int m, const Params8& pr) {
          uint32_t b = 0;
          std::memcpy(&b, in + (e - s0) / 2, static_cast<size_t>((m + 1) / 2));
          _mm256_maskstore_ps(y + e, lanes_mask(m), affine(unpack_nibbles(b, sign), pr.s, pr.z));
        });
  });
}

int64_t fake_quant_avx2(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer quant(a);
  int64_t nans = 0;
  const float* x = a.x;
  float* y = a.y;
  uint8_t* mask = a.mask;
  const __m256i one_i32x8 = _mm256_set1_epi32(1);
  for_each_chunk<false>(
      a, e0, e1,
      [&](int64_t j, const Params8& pr) {
        int nan;
        __m256 in_range;
        const __m256 v_f32x8 = quant.apply(_mm256_loadu_ps(x + j), pr, &nan, &in_range);
        nans += popcount8(nan);
        _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_sub_ps(v_f32x8, pr.z), pr.s));
        if (mask) {
          const __m256i bit_i32x8 = _mm256_and_si256(_mm256_castps_si256(in_range), one_i32x8);
          _mm_storel_epi64(reinterpret_cast<__m128i*>(mask + j), pack_bytes(bit_i32x8, false));
        }
      },
      [&](int64_t e, int m, const Params8& pr) {
        const __m256i k = lanes_mask(m);
        int nan;
        __m256 in_range;
        const __m256 v_f32x8 = quant.apply(_mm256_maskload_ps(x + e, k), pr, &nan, &in_range);
        nans += popcount8(nan & ((1 << m) - 1));
        _mm256_maskstore_ps(y + e, k, _mm256_mul_ps(_mm256_sub_ps(v_f32x8, pr.z), pr.s));
        if (mask) {
          alignas(16) uint8_t tmp[16];
          const __m256i bit_i32x8 = _mm256_and_si256(_mm256_castps_si256(in_range), one_i32x8);
          _mm_store_si128(reinterpret_cast<__m128i*>(tmp), pack_bytes(bit_i32x8, false));
          std::memcpy(mask + e, tmp, static_cast<size_t>(m));
        }
      });
  return nans;
}

float reduce_min(__m256 v_f32x8) {
  __m128 m_f32x4 = _mm_min_ps(_mm256_castps256_ps128(v_f32x8), _mm256_extractf128_ps(v_f32x8, 1));
  m_f32x4 = _mm_min_ps(m_f32x4, _mm_movehl_ps(m_f32x4, m_f32x4));
  m_f32x4 = _mm_min_ss(m_f32x4, _mm_movehdup_ps(m_f32x4));
  return _mm_cvtss_f32(m_f32x4);
}

float reduce_max(__m256 v_f32x8) {
  __m128 m_f32x4 = _mm_max_ps(_mm256_castps256_ps128(v_f32x8), _mm256_extractf128_ps(v_f32x8, 1));
  m_f32x4 = _mm_max_ps(m_f32x4, _mm_movehl_ps(m_f32x4, m_f32x4));
  m_f32x4 = _mm_max_ss(m_f32x4, _mm_movehdup_ps(m_f32x4));
  return _mm_cvtss_f32(m_f32x4);
}

int64_t minmax_avx2(const float* x, const QuantGeometry& geo, int64_t e0, int64_t e1, float* mins, float* maxs) {
  int64_t bad = 0;
  const __m256 inf_f32x8 = _mm256_set1_ps(__builtin_inff());
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  walk_params<W>(
      geo, e0, e1,
      [&](int64_t e, int64_t k, int64_t p) {
        // Two accumulator pairs (min/max latency), prefetch ahead, and a finiteness check of one FMA per vector:
        // chk = v·0 + chk turns NaN for good at the first ±Inf or NaN lane; only then are the bad lanes counted.
        __m256 lo0_f32x8 = _mm256_set1_ps(mins[p]), hi0_f32x8 = _mm256_set1_ps(maxs[p]);
        __m256 lo1_f32x8 = lo0_f32x8, hi1_f32x8 = hi0_f32x8;
        __m256 chk0_f32x8 = _mm256_setzero_ps(), chk1_f32x8 = _mm256_setzero_ps();
        const __m256 zero_f32x8 = _mm256_setzero_ps();
        int64_t j = e;
        for (; j + 2 * W <= e + k; j += 2 * W) {
          prefetch(x + j + kPrefetchFloats);
          const __m256 v0_f32x8 = _mm256_loadu_ps(x + j), v1_f32x8 = _mm256_loadu_ps(x + j + W);
          lo0_f32x8 = _mm256_min_ps(lo0_f32x8, v0_f32x8);
          hi0_f32x8 = _mm256_max_ps(hi0_f32x8, v0_f32x8);
          chk0_f32x8 = _mm256_fmadd_ps(v0_f32x8, zero_f32x8, chk0_f32x8);
          lo1_f32x8 = _mm256_min_ps(lo1_f32x8, v1_f32x8);
          hi1_f32x8 = _mm256_max_ps(hi1_f32x8, v1_f32x8);
          chk1_f32x8 = _mm256_fmadd_ps(v1_f32x8, zero_f32x8, chk1_f32x8);
        }
        if (j < e + k) {
          const __m256 v_f32x8 = _mm256_loadu_ps(x + j);
          lo0_f32x8 = _mm256_min_ps(lo0_f32x8, v_f32x8);
          hi0_f32x8 = _mm256_max_ps(hi0_f32x8, v_f32x8);
          chk0_f32x8 = _mm256_fmadd_ps(v_f32x8, zero_f32x8, chk0_f32x8);
        }
        const __m256 chk_f32x8 = _mm256_add_ps(chk0_f32x8, chk1_f32x8);
        if (_mm256_movemask_ps(_mm256_cmp_ps(chk_f32x8, chk_f32x8, _CMP_UNORD_Q)) != 0) {
          // |v| < Inf is false for ±Inf and NaN: the non-finite lanes (values then unspecified, status fails).
          for (int64_t i = e; i < e + k; ++i) bad += __builtin_fabsf(x[i]) < __builtin_inff() ? 0 : 1;
        }
        mins[p] = reduce_min(_mm256_min_ps(lo0_f32x8, lo1_f32x8));
        maxs[p] = reduce_max(_mm256_max_ps(hi0_f32x8, hi1_f32x8));
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        for (int64_t j = 0; j < k; j += W) {
          const __m256 v_f32x8 = _mm256_loadu_ps(x + e + j);
          bad += popcount8(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(v_f32x8, abs_mask), inf_f32x8, _CMP_NLT_UQ)));
          _mm256_storeu_ps(mins + p0 + j, _mm256_min_ps(_mm256_loadu_ps(mins + p0 + j), v_f32x8));
          _mm256_storeu_ps(maxs + p0 + j, _mm256_max_ps(_mm256_loadu_ps(maxs + p0 + j), v_f32x8));
        }
      },
      [&](int64_t e, int m, int64_t p0, int64_t r, int64_t unit) {
        int64_t p = p0, left = unit - r;
        for (int i = 0; i < m; ++i, --left) {
          if (left == 0) {
            ++p;
            left = unit;
          }
          const float v = x[e + i];
          if (!(__builtin_fabsf(v) < __builtin_inff())) {
            ++bad;
            continue;
          }
          if (v < mins[p]) mins[p] = v;
          if (v > maxs[p]) maxs[p] = v;
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

const QuantKernel& quant_avx2() noexcept {
  static const QuantKernel k{Isa::kAvx2,          "quantize_f32q_avx2", "dequantize_qf32_avx2",
                             "minmax_f32_avx2",     "fake_quant_f32_avx2", quantize_avx2,
                             dequantize_avx2,       fake_quant_avx2,       minmax_avx2};
  return k;
}

}  // namespace distiq
