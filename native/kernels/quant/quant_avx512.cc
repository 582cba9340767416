// quant_avx512 — quantize / dequantize / fake-quant / min-max on 16 float lanes (AVX-512 F/BW/DQ/VL).
//
// Contract: distiq/quant.h; bit-identical to native/ref/quant_ref.cc. Two pipelines:
//   - 8-bit quantize with QuantArgs::inv_scales: RN(x / s) without the divider (div_exact, exact — see
//     docs/quantization.md), rounded to an integer with the 1.5·2^23 magic number, z added and clamped in integers
//     (codes_exact / quantize8_exact);
//   - otherwise the reference's float expressions: v = roundscale(x / s, nearest-even) + z (vdivps;
//     -ffp-contract=off keeps the add separate); max(v, qmin) returns qmin for NaN (the second operand), as the
//     reference does; then min(·, qmax).
// Parameters: the range is walked as runs of equal (scale, zero point) (quant_walk.h):
//   - runs of ≥ 16 elements: broadcast parameters, full vectors;
//   - consecutive slots (per-channel on the last axis, groups of 1): parameters loaded as vectors;
//   - short runs inside one row / outer slice (small groups, small inner): lane slots from a per-call table
//     q_of[t] = t / unit indexed by the chunk's phase, the few distinct parameters loaded once (masked) and
//     spread with vpermps;
//   - chunks that cross a row: per-lane parameters from the scalar walker.
// Packing: 8-bit via vpmovdb (values are already clamped, so truncation is exact); int4 by OR-ing each odd lane
// into bits 4..7 of its even neighbour inside a qword (srli_epi64 by 28) and vpmovqb.
// Tails: masked loads and stores (k-masks) — never a read or write past e1 or the last byte of a row.
#include <immintrin.h>

#include <cstdint>

#include "distiq/quant.h"

namespace distiq {
namespace {

#include "quant_walk.h"

constexpr int W = 16;
constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

bool is_4bit(QType t) { return t == QType::kS4 || t == QType::kU4; }
bool is_signed(QType t) { return t == QType::kS8 || t == QType::kS4; }

__mmask16 lanes_mask(int m) { return static_cast<__mmask16>((1u << m) - 1u); }

// Software prefetch distance of the streaming loops (quantize spans, min/max runs): 2 KiB of input ahead. Out of L2
// the hardware prefetcher alone leaves a single thread latency-bound (measured on the 64 MB case: quantize 5.1 →
// 7.8 GB/s, memcpy 10.7, on a loaded machine). A prefetch never faults, so running past the end is harmless.
constexpr int64_t kPrefetchFloats = 512;
void prefetch(const float* p) { _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0); }

float zero_point_f(const QuantArgs& a, int64_t p) { return a.zero_points ? static_cast<float>(a.zero_points[p]) : 0.0f; }

// One chunk's parameter vectors: scale, RN(1/scale) (only with QuantArgs::inv_scales, else 0), zero point.
struct Params16 {
  __m512 s, r, z;
};

// Per-lane parameters for a mixed chunk.
Params16 lane_params(const QuantArgs& a, const int64_t* p_lanes) {
  alignas(64) float s[W], r[W], z[W];
  for (int i = 0; i < W; ++i) {
    s[i] = a.scales[p_lanes[i]];
    r[i] = a.inv_scales ? a.inv_scales[p_lanes[i]] : 0.0f;
    z[i] = zero_point_f(a, p_lanes[i]);
  }
  return {_mm512_load_ps(s), _mm512_load_ps(r), _mm512_load_ps(z)};
}

// RN(x / s) without the divider, for s in [2^−100, 2^100] and r = RN(1/s) (docs/quantization.md, "Division"):
//   x is first clamped to ±4096·s (NaN passes: min/max return their second operand for NaN): beyond it x/s
//   saturates every zero point and range alike, and ±Inf never meets the FMAs (Inf − Inf would be NaN);
//   q0 = x·r is within 1.5 ulp of x/s; one remainder step q1 = q0 + RN(x − q0·s)·r makes it faithful (< 1 ulp);
//   a second one, q2 = RN(q1 + RN(x − q1·s)·r), is RN(x/s) by Markstein's theorem (r within ½ ulp of 1/s, q1
//   faithful, the remainder x − q1·s exact — no underflow when |x/s| ≥ 1/4 in that scale range; below 1/4 every
//   step stays below 1/2 in magnitude, so the rounded integer is 0 exactly as the reference's).
__m512 div_exact(__m512 x_f32x16, __m512 s_f32x16, __m512 r_f32x16) {
  const __m512 lim_f32x16 = _mm512_mul_ps(s_f32x16, _mm512_set1_ps(4096.0f));
  const __m512 neg_lim_f32x16 = _mm512_mul_ps(s_f32x16, _mm512_set1_ps(-4096.0f));
  const __m512 xc_f32x16 = _mm512_max_ps(neg_lim_f32x16, _mm512_min_ps(lim_f32x16, x_f32x16));
  const __m512 q0_f32x16 = _mm512_mul_ps(xc_f32x16, r_f32x16);
  const __m512 q1_f32x16 = _mm512_fmadd_ps(_mm512_fnmadd_ps(q0_f32x16, s_f32x16, xc_f32x16), r_f32x16, q0_f32x16);
  return _mm512_fmadd_ps(_mm512_fnmadd_ps(q1_f32x16, s_f32x16, xc_f32x16), r_f32x16, q1_f32x16);
}

// The quantizer's float pipeline: returns clamp(nearbyint(x / s) + z, qmin, qmax); reports NaN and in-range lanes.
struct Quantizer {
  __m512 qmin_f32x16, qmax_f32x16;
  explicit Quantizer(const QuantArgs& a)
      : qmin_f32x16(_mm512_set1_ps(static_cast<float>(a.qmin))), qmax_f32x16(_mm512_set1_ps(static_cast<float>(a.qmax))) {}

  // RN(x / s) by vdivps: in this float pipeline (fake-quant, int4) the divider-free quotient measured slower (the
  // divider is not the bottleneck there); the 8-bit quantize uses codes_exact below.
  __m512 apply(__m512 x_f32x16, const Params16& pr, __mmask16* nan, __mmask16* in_range) const {
    __m512 v_f32x16 = _mm512_div_ps(x_f32x16, pr.s);
    v_f32x16 = _mm512_roundscale_ps(v_f32x16, kRound);
    v_f32x16 = _mm512_add_ps(v_f32x16, pr.z);
    *nan = _mm512_cmp_ps_mask(v_f32x16, v_f32x16, _CMP_UNORD_Q);
    if (in_range != nullptr) {
      *in_range = _mm512_cmp_ps_mask(v_f32x16, qmin_f32x16, _CMP_GE_OQ) &
                  _mm512_cmp_ps_mask(v_f32x16, qmax_f32x16, _CMP_LE_OQ);
    }
    return _mm512_min_ps(_mm512_max_ps(v_f32x16, qmin_f32x16), qmax_f32x16);
  }
};

int popcount16(__mmask16 m) { return __builtin_popcount(static_cast<unsigned>(m)); }

// int4: lane pairs (2i, 2i+1) → one byte per qword, low byte = (q[2i] & 15) | (q[2i+1] & 15) << 4.
__m512i nibble_pairs(__m512i q_i32x16) {
  const __m512i lo_i32x16 = _mm512_and_si512(q_i32x16, _mm512_set1_epi32(0x0F));
  return _mm512_or_si512(lo_i32x16, _mm512_srli_epi64(lo_i32x16, 28));
}

// int4 → 16 int32 lanes from 8 bytes held one per qword (zero-extended).
__m512i unpack_nibbles(__m512i b_i64x8, bool sign) {
  __m512i q_i32x16 = _mm512_or_si512(_mm512_and_si512(b_i64x8, _mm512_set1_epi64(0x0F)),
                                     _mm512_slli_epi64(_mm512_srli_epi64(b_i64x8, 4), 32));
  if (sign) q_i32x16 = _mm512_srai_epi32(_mm512_slli_epi32(q_i32x16, 28), 28);
  return q_i32x16;
}

// Calls seg(s0, s1, out) for each stretch [s0, s1) whose int4 bytes start at `out` and are contiguous: the whole
// range when rows have an even length (byte of element e = e / 2), otherwise one row at a time.
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

// Drives full(j, s, z) over full 16-lane chunks and part(e, m, s, z) over chunks of m < 16 lanes (or lanes that
// straddle parameter runs), with the (scale, zero point) vectors each chunk needs.
// Lane parameters for a chunk inside one block (quant_walk.h): lane j uses slot p + (r + j) / unit, read from the
// per-call table q_of[t] = t / unit; the ≤ 16 distinct parameters are loaded once (masked, no overread) and spread
// over the lanes with vpermps.
template <bool kExact>
Params16 blocked_params(const QuantArgs& a, int m, int64_t p, int64_t r, const int32_t* q_of) {
  const int last = q_of[r + m - 1];  // distinct slots − 1
  __m512i idx_i32x16 = _mm512_loadu_si512(q_of + r);
  idx_i32x16 = _mm512_min_epi32(idx_i32x16, _mm512_set1_epi32(last));  // lanes ≥ m repeat the last slot
  const __mmask16 k = lanes_mask(last + 1);
  Params16 pr;
  pr.s = _mm512_permutexvar_ps(idx_i32x16, _mm512_maskz_loadu_ps(k, a.scales + p));
  pr.r = kExact ? _mm512_permutexvar_ps(idx_i32x16, _mm512_maskz_loadu_ps(k, a.inv_scales + p)) : _mm512_setzero_ps();
  pr.z = a.zero_points ? _mm512_cvtepi32_ps(_mm512_permutexvar_epi32(
                             idx_i32x16, _mm512_maskz_loadu_epi32(k, a.zero_points + p)))
                       : _mm512_setzero_ps();
  return pr;
}

// kExact: also provide RN(1/s) (Params16::r) from QuantArgs::inv_scales, for codes_exact.
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
        const Params16 pr{_mm512_set1_ps(a.scales[p]), _mm512_set1_ps(kExact ? a.inv_scales[p] : 0.0f),
                          _mm512_set1_ps(zero_point_f(a, p))};
        span(e, k, [&](int64_t) { return pr; });
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        span(e, k, [&](int64_t j) {
          const int64_t p = p0 + (j - e);
          return Params16{_mm512_loadu_ps(a.scales + p), kExact ? _mm512_loadu_ps(a.inv_scales + p) : _mm512_setzero_ps(),
                          a.zero_points ? _mm512_cvtepi32_ps(_mm512_loadu_si512(a.zero_points + p)) : _mm512_setzero_ps()};
        });
      },
      [&](int64_t e, int m, int64_t p, int64_t r, int64_t) {
        const Params16 pr = blocked_params<kExact>(a, m, p, r, q_of);
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

// The 8-bit codes of the divider-free path, before the clamp: nearbyint(RN(x / s)) + z as int32.
//   - x is clamped to ±4096·s as in div_exact (a NaN x stays NaN);
//   - q = RN(x / s) as in div_exact;
//   - nearbyint: |q| ≤ 4096 + ε, so q + 1.5·2^23 lies in [2^23, 2^24) where the float grid is the integers: the
//     add rounds q to an integer, ties to even (1.5·2^23 is even), and the integer sits in the low mantissa bits:
//     bits(q + 1.5·2^23) − bits(1.5·2^23) = nearbyint(q). The zero point is folded into that subtraction.
//   - nan = fma(q, 0, nan) turns NaN for good as soon as one lane is NaN (q is finite otherwise): no per-vector
//     mask count; the caller counts NaN lanes only when that happened.
// A NaN lane yields an arbitrary code (the contract leaves the output unspecified when the status is kNonFinite).

__m512i codes_exact(__m512 x_f32x16, const Params16& pr, __m512i mz_i32x16, __m512* nan_f32x16) {
  // (vrangeps would clamp in div_exact with one instruction, but it turns a quiet NaN into the limit.)
  const __m512 q_f32x16 = div_exact(x_f32x16, pr.s, pr.r);
  *nan_f32x16 = _mm512_fmadd_ps(q_f32x16, _mm512_setzero_ps(), *nan_f32x16);
  const __m512 t_f32x16 = _mm512_add_ps(q_f32x16, _mm512_set1_ps(kMagic));
  return _mm512_sub_epi32(_mm512_castps_si512(t_f32x16), mz_i32x16);
}

// bits(1.5·2^23) − z per lane (z as int32; the float zero point of Params16 holds the same integer).
__m512i magic_minus_z(const Params16& pr) {
  return _mm512_sub_epi32(_mm512_set1_epi32(kMagicBits), _mm512_cvtps_epi32(pr.z));
}

// Number of NaN lanes in x[e0, e1) (only called once a NaN was seen).
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
  int8_t* q = static_cast<int8_t*>(a.q);
  const __m512i qmin_i32x16 = _mm512_set1_epi32(a.qmin), qmax_i32x16 = _mm512_set1_epi32(a.qmax);
  const __m512i qmin_i8x64 = _mm512_set1_epi8(static_cast<char>(a.qmin));
  const __m512i qmax_i8x64 = _mm512_set1_epi8(static_cast<char>(a.qmax));
  // After packs_epi32 + packs_epi16 dword 4L + v holds elements 4L..4L+3 of vector v: put it at dword 4v + L.
  const __m512i order_i32x16 = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  __m512 nan_f32x16 = _mm512_setzero_ps();
  auto one = [&](int64_t j, const Params16& pr, __mmask16 k) {
    const __m512i c_i32x16 = codes_exact(_mm512_maskz_loadu_ps(k, x + j), pr, magic_minus_z(pr), &nan_f32x16);
    _mm512_mask_cvtepi32_storeu_epi8(q + j, k, _mm512_min_epi32(_mm512_max_epi32(c_i32x16, qmin_i32x16), qmax_i32x16));
  };
  for_each_chunk<true>(
      a, e0, e1, [&](int64_t j, const Params16& pr) { one(j, pr, 0xFFFF); },
      [&](int64_t e, int m, const Params16& pr) { one(e, pr, lanes_mask(m)); },
      [&](int64_t e, int64_t k, auto&& params_at) {
        int64_t j = e;
        for (; j + 4 * W <= e + k; j += 4 * W) {
          for (int l = 0; l < 4; ++l) prefetch(x + j + kPrefetchFloats + l * W);
          const Params16 p0 = params_at(j), p1 = params_at(j + W), p2 = params_at(j + 2 * W), p3 = params_at(j + 3 * W);
          const __m512i c0 = codes_exact(_mm512_loadu_ps(x + j), p0, magic_minus_z(p0), &nan_f32x16);
          const __m512i c1 = codes_exact(_mm512_loadu_ps(x + j + W), p1, magic_minus_z(p1), &nan_f32x16);
          const __m512i c2 = codes_exact(_mm512_loadu_ps(x + j + 2 * W), p2, magic_minus_z(p2), &nan_f32x16);
          const __m512i c3 = codes_exact(_mm512_loadu_ps(x + j + 3 * W), p3, magic_minus_z(p3), &nan_f32x16);
          const __m512i w01 = _mm512_packs_epi32(c0, c1), w23 = _mm512_packs_epi32(c2, c3);
          __m512i b = sign ? _mm512_packs_epi16(w01, w23) : _mm512_packus_epi16(w01, w23);
          b = _mm512_permutexvar_epi32(order_i32x16, b);
          b = sign ? _mm512_min_epi8(_mm512_max_epi8(b, qmin_i8x64), qmax_i8x64)
                   : _mm512_min_epu8(_mm512_max_epu8(b, qmin_i8x64), qmax_i8x64);
          _mm512_storeu_si512(q + j, b);
        }
        for (; j < e + k; j += W) one(j, params_at(j), 0xFFFF);
      });
  // NaN + anything is NaN: one NaN lane leaves a NaN in nan_f32x16.
  if (_mm512_cmp_ps_mask(nan_f32x16, nan_f32x16, _CMP_UNORD_Q) == 0) return 0;
  return count_nans(x, e0, e1);
}

int64_t quantize_float(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer quant(a);
  int64_t nans = 0;
  const float* x = a.x;
  if (!is_4bit(a.type)) {
    int8_t* q = static_cast<int8_t*>(a.q);
    for_each_chunk<false>(
        a, e0, e1,
        [&](int64_t j, const Params16& pr) {
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_loadu_ps(x + j), pr, &nan, nullptr);
          nans += popcount16(nan);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(q + j), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v_f32x16)));
        },
        [&](int64_t e, int m, const Params16& pr) {
          const __mmask16 k = lanes_mask(m);
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_maskz_loadu_ps(k, x + e), pr, &nan, nullptr);
          nans += popcount16(nan & k);
          _mm512_mask_cvtepi32_storeu_epi8(q + e, k, _mm512_cvtps_epi32(v_f32x16));
        });
    return nans;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, uint8_t* out) {
    for_each_chunk<false>(
        a, s0, s1,
        [&](int64_t j, const Params16& pr) {
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_loadu_ps(x + j), pr, &nan, nullptr);
          nans += popcount16(nan);
          const __m128i b_u8x16 = _mm512_cvtepi64_epi8(nibble_pairs(_mm512_cvtps_epi32(v_f32x16)));
          _mm_storel_epi64(reinterpret_cast<__m128i*>(out + (j - s0) / 2), b_u8x16);
        },
        [&](int64_t e, int m, const Params16& pr) {
          const __mmask16 k = lanes_mask(m);
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_maskz_loadu_ps(k, x + e), pr, &nan, nullptr);
          nans += popcount16(nan & k);
          // Lanes ≥ m become 0, so an odd row's pad nibble is written as 0.
          const __m512i q_i32x16 = _mm512_maskz_mov_epi32(k, _mm512_cvtps_epi32(v_f32x16));
          const __mmask8 bytes = static_cast<__mmask8>((1u << ((m + 1) / 2)) - 1u);
          _mm512_mask_cvtepi64_storeu_epi8(out + (e - s0) / 2, bytes, nibble_pairs(q_i32x16));
        });
  });
  return nans;
}

int64_t quantize_avx512(const QuantArgs& a, int64_t e0, int64_t e1) {
  return a.inv_scales == nullptr || is_4bit(a.type) ? quantize_float(a, e0, e1) : quantize8_exact(a, e0, e1);
}

__m512 affine(__m512i q_i32x16, __m512 s_f32x16, __m512 z_f32x16) {
  return _mm512_mul_ps(_mm512_sub_ps(_mm512_cvtepi32_ps(q_i32x16), z_f32x16), s_f32x16);
}

void dequantize_avx512(const QuantArgs& a, int64_t e0, int64_t e1) {
  float* y = const_cast<float*>(a.x);  // dequantize writes x (see QuantArgs)
  const bool sign = is_signed(a.type);
  if (!is_4bit(a.type)) {
    const int8_t* q = static_cast<const int8_t*>(a.q);
    auto widen = [sign](__m128i b_i8x16) { return sign ? _mm512_cvtepi8_epi32(b_i8x16) : _mm512_cvtepu8_epi32(b_i8x16); };
    for_each_chunk<false>(
        a, e0, e1,
        [&](int64_t j, const Params16& pr) {
          const __m512i q_i32x16 = widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + j)));
          _mm512_storeu_ps(y + j, affine(q_i32x16, pr.s, pr.z));
        },
        [&](int64_t e, int m, const Params16& pr) {
          const __mmask16 k = lanes_mask(m);
          const __m512i q_i32x16 = widen(_mm_maskz_loadu_epi8(k, q + e));
          _mm512_mask_storeu_ps(y + e, k, affine(q_i32x16, pr.s, pr.z));
        });
    return;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, const uint8_t* in) {
    for_each_chunk<false>(
        a, s0, s1,
        [&](int64_t j, const Params16& pr) {
          const __m128i b_u8x8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + (j - s0) / 2));
          _mm512_storeu_ps(y + j, affine(unpack_nibbles(_mm512_cvtepu8_epi64(b_u8x8), sign), pr.s, pr.z));
        },
        [&](int64_t e, int m, const Params16& pr) {
          const __mmask16 k = lanes_mask(m);
          const __mmask16 bytes = static_cast<__mmask16>((1u << ((m + 1) / 2)) - 1u);
          const __m128i b_u8x8 = _mm_maskz_loadu_epi8(bytes, in + (e - s0) / 2);
          _mm512_mask_storeu_ps(y + e, k, affine(unpack_nibbles(_mm512_cvtepu8_epi64(b_u8x8), sign), pr.s, pr.z));
        });
  });
}

int64_t fake_quant_avx512(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer quant(a);
  int64_t nans = 0;
  const float* x = a.x;
  float* y = a.y;
  uint8_t* mask = a.mask;
  const __m128i one_u8x16 = _mm_set1_epi8(1);
  for_each_chunk<false>(
      a, e0, e1,
      [&](int64_t j, const Params16& pr) {
        __mmask16 nan, in_range;
        const __m512 v_f32x16 = quant.apply(_mm512_loadu_ps(x + j), pr, &nan, &in_range);
        nans += popcount16(nan);
        _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_sub_ps(v_f32x16, pr.z), pr.s));
        if (mask) _mm_storeu_si128(reinterpret_cast<__m128i*>(mask + j), _mm_maskz_mov_epi8(in_range, one_u8x16));
      },
      [&](int64_t e, int m, const Params16& pr) {
        const __mmask16 k = lanes_mask(m);
        __mmask16 nan, in_range;
        const __m512 v_f32x16 = quant.apply(_mm512_maskz_loadu_ps(k, x + e), pr, &nan, &in_range);
        nans += popcount16(nan & k);
        _mm512_mask_storeu_ps(y + e, k, _mm512_mul_ps(_mm512_sub_ps(v_f32x16, pr.z), pr.s));
        if (mask) _mm_mask_storeu_epi8(mask + e, k, _mm_maskz_mov_epi8(in_range, one_u8x16));
      });
  return nans;
}

int64_t minmax_avx512(const float* x, const QuantGeometry& geo, int64_t e0, int64_t e1, float* mins, float* maxs) {
  int64_t bad = 0;
  const __m512 inf_f32x16 = _mm512_set1_ps(__builtin_inff());
  walk_params<W>(
      geo, e0, e1,
      [&](int64_t e, int64_t k, int64_t p) {
        // Two accumulator pairs (min/max latency), prefetch ahead, and a finiteness check of one FMA per vector:
        // chk = v·0 + chk turns NaN for good at the first ±Inf or NaN lane; only then are the bad lanes counted.
        __m512 lo0_f32x16 = _mm512_set1_ps(mins[p]), hi0_f32x16 = _mm512_set1_ps(maxs[p]);
        __m512 lo1_f32x16 = lo0_f32x16, hi1_f32x16 = hi0_f32x16;
        __m512 chk0_f32x16 = _mm512_setzero_ps(), chk1_f32x16 = _mm512_setzero_ps();
        const __m512 zero_f32x16 = _mm512_setzero_ps();
        int64_t j = e;
        for (; j + 2 * W <= e + k; j += 2 * W) {
          prefetch(x + j + kPrefetchFloats);
          prefetch(x + j + kPrefetchFloats + W);
          const __m512 v0_f32x16 = _mm512_loadu_ps(x + j), v1_f32x16 = _mm512_loadu_ps(x + j + W);
          lo0_f32x16 = _mm512_min_ps(lo0_f32x16, v0_f32x16);
          hi0_f32x16 = _mm512_max_ps(hi0_f32x16, v0_f32x16);
          chk0_f32x16 = _mm512_fmadd_ps(v0_f32x16, zero_f32x16, chk0_f32x16);
          lo1_f32x16 = _mm512_min_ps(lo1_f32x16, v1_f32x16);
          hi1_f32x16 = _mm512_max_ps(hi1_f32x16, v1_f32x16);
          chk1_f32x16 = _mm512_fmadd_ps(v1_f32x16, zero_f32x16, chk1_f32x16);
        }
        if (j < e + k) {
          const __m512 v_f32x16 = _mm512_loadu_ps(x + j);
          lo0_f32x16 = _mm512_min_ps(lo0_f32x16, v_f32x16);
          hi0_f32x16 = _mm512_max_ps(hi0_f32x16, v_f32x16);
          chk0_f32x16 = _mm512_fmadd_ps(v_f32x16, zero_f32x16, chk0_f32x16);
        }
        const __m512 chk_f32x16 = _mm512_add_ps(chk0_f32x16, chk1_f32x16);
        if (_mm512_cmp_ps_mask(chk_f32x16, chk_f32x16, _CMP_UNORD_Q) != 0) {
          // |v| < Inf is false for ±Inf and NaN: the non-finite lanes (values then unspecified, status fails).
          for (int64_t i = e; i < e + k; ++i) bad += __builtin_fabsf(x[i]) < __builtin_inff() ? 0 : 1;
        }
        mins[p] = _mm512_reduce_min_ps(_mm512_min_ps(lo0_f32x16, lo1_f32x16));
        maxs[p] = _mm512_reduce_max_ps(_mm512_max_ps(hi0_f32x16, hi1_f32x16));
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        for (int64_t j = 0; j < k; j += W) {
          const __m512 v_f32x16 = _mm512_loadu_ps(x + e + j);
          bad += popcount16(_mm512_cmp_ps_mask(_mm512_abs_ps(v_f32x16), inf_f32x16, _CMP_NLT_UQ));
          _mm512_storeu_ps(mins + p0 + j, _mm512_min_ps(_mm512_loadu_ps(mins + p0 + j), v_f32x16));
          _mm512_storeu_ps(maxs + p0 + j, _mm512_max_ps(_mm512_loadu_ps(maxs + p0 + j), v_f32x16));
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

const QuantKernel& quant_avx512() noexcept {
  static const QuantKernel k{Isa::kAvx512,          "quantize_f32q_avx512", "dequantize_qf32_avx512",
                             "minmax_f32_avx512",     "fake_quant_f32_avx512", quantize_avx512,
                             dequantize_avx512,       fake_quant_avx512,       minmax_avx512};
  return k;
}

}  // namespace distiq
