// quant_avx512 — quantize / dequantize / fake-quant / min-max on 16 float lanes (AVX-512 F/BW/DQ/VL).
//
// Contract: distiq/quant.h; bit-identical to native/ref/quant_ref.cc. The arithmetic is exactly the reference's:
//   v = roundscale(x / s, nearest-even) + z   (vdivps, no reciprocal; -ffp-contract=off keeps the add separate)
//   max(v, qmin) returns qmin for NaN (the second operand), as the reference does; then min(·, qmax).
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

float zero_point_f(const QuantArgs& a, int64_t p) { return a.zero_points ? static_cast<float>(a.zero_points[p]) : 0.0f; }

// Per-lane (scale, zero point) vectors for a mixed chunk.
void lane_params(const QuantArgs& a, const int64_t* p_lanes, __m512* s_f32x16, __m512* z_f32x16) {
  alignas(64) float s[W], z[W];
  for (int i = 0; i < W; ++i) {
    s[i] = a.scales[p_lanes[i]];
    z[i] = zero_point_f(a, p_lanes[i]);
  }
  *s_f32x16 = _mm512_load_ps(s);
  *z_f32x16 = _mm512_load_ps(z);
}

// The quantizer's float pipeline: returns clamp(nearbyint(x / s) + z, qmin, qmax); reports NaN and in-range lanes.
struct Quantizer {
  __m512 qmin_f32x16, qmax_f32x16;
  explicit Quantizer(const QuantArgs& a)
      : qmin_f32x16(_mm512_set1_ps(static_cast<float>(a.qmin))), qmax_f32x16(_mm512_set1_ps(static_cast<float>(a.qmax))) {}

  __m512 apply(__m512 x_f32x16, __m512 s_f32x16, __m512 z_f32x16, __mmask16* nan, __mmask16* in_range) const {
    __m512 v_f32x16 = _mm512_div_ps(x_f32x16, s_f32x16);
    v_f32x16 = _mm512_roundscale_ps(v_f32x16, kRound);
    v_f32x16 = _mm512_add_ps(v_f32x16, z_f32x16);
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
void blocked_params(const QuantArgs& a, int m, int64_t p, int64_t r, const int32_t* q_of, __m512* s_f32x16,
                    __m512* z_f32x16) {
  const int last = q_of[r + m - 1];  // distinct slots − 1
  __m512i idx_i32x16 = _mm512_loadu_si512(q_of + r);
  idx_i32x16 = _mm512_min_epi32(idx_i32x16, _mm512_set1_epi32(last));  // lanes ≥ m repeat the last slot
  const __mmask16 k = lanes_mask(last + 1);
  *s_f32x16 = _mm512_permutexvar_ps(idx_i32x16, _mm512_maskz_loadu_ps(k, a.scales + p));
  *z_f32x16 = a.zero_points ? _mm512_cvtepi32_ps(_mm512_permutexvar_epi32(
                                  idx_i32x16, _mm512_maskz_loadu_epi32(k, a.zero_points + p)))
                            : _mm512_setzero_ps();
}

template <typename Full, typename Part>
void for_each_chunk(const QuantArgs& a, int64_t e0, int64_t e1, Full&& full, Part&& part) {
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
        const __m512 s_f32x16 = _mm512_set1_ps(a.scales[p]);
        const __m512 z_f32x16 = _mm512_set1_ps(zero_point_f(a, p));
        for (int64_t j = e; j < e + k; j += W) full(j, s_f32x16, z_f32x16);
      },
      [&](int64_t e, int64_t k, int64_t p0) {
        for (int64_t j = 0; j < k; j += W) {
          const __m512 s_f32x16 = _mm512_loadu_ps(a.scales + p0 + j);
          const __m512 z_f32x16 = a.zero_points ? _mm512_cvtepi32_ps(_mm512_loadu_si512(a.zero_points + p0 + j))
                                                : _mm512_setzero_ps();
          full(e + j, s_f32x16, z_f32x16);
        }
      },
      [&](int64_t e, int m, int64_t p, int64_t r, int64_t) {
        __m512 s_f32x16, z_f32x16;
        blocked_params(a, m, p, r, q_of, &s_f32x16, &z_f32x16);
        if (m == W) full(e, s_f32x16, z_f32x16);
        else part(e, m, s_f32x16, z_f32x16);
      },
      [&](int64_t e, int m, const int64_t* p_lanes) {
        __m512 s_f32x16, z_f32x16;
        lane_params(a, p_lanes, &s_f32x16, &z_f32x16);
        part(e, m, s_f32x16, z_f32x16);
      });
}

int64_t quantize_avx512(const QuantArgs& a, int64_t e0, int64_t e1) {
  const Quantizer quant(a);
  int64_t nans = 0;
  const float* x = a.x;
  if (!is_4bit(a.type)) {
    int8_t* q = static_cast<int8_t*>(a.q);
    for_each_chunk(
        a, e0, e1,
        [&](int64_t j, __m512 s_f32x16, __m512 z_f32x16) {
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_loadu_ps(x + j), s_f32x16, z_f32x16, &nan, nullptr);
          nans += popcount16(nan);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(q + j), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v_f32x16)));
        },
        [&](int64_t e, int m, __m512 s_f32x16, __m512 z_f32x16) {
          const __mmask16 k = lanes_mask(m);
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_maskz_loadu_ps(k, x + e), s_f32x16, z_f32x16, &nan, nullptr);
          nans += popcount16(nan & k);
          _mm512_mask_cvtepi32_storeu_epi8(q + e, k, _mm512_cvtps_epi32(v_f32x16));
        });
    return nans;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, uint8_t* out) {
    for_each_chunk(
        a, s0, s1,
        [&](int64_t j, __m512 s_f32x16, __m512 z_f32x16) {
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_loadu_ps(x + j), s_f32x16, z_f32x16, &nan, nullptr);
          nans += popcount16(nan);
          const __m128i b_u8x16 = _mm512_cvtepi64_epi8(nibble_pairs(_mm512_cvtps_epi32(v_f32x16)));
          _mm_storel_epi64(reinterpret_cast<__m128i*>(out + (j - s0) / 2), b_u8x16);
        },
        [&](int64_t e, int m, __m512 s_f32x16, __m512 z_f32x16) {
          const __mmask16 k = lanes_mask(m);
          __mmask16 nan;
          const __m512 v_f32x16 = quant.apply(_mm512_maskz_loadu_ps(k, x + e), s_f32x16, z_f32x16, &nan, nullptr);
          nans += popcount16(nan & k);
          // Lanes ≥ m become 0, so an odd row's pad nibble is written as 0.
          const __m512i q_i32x16 = _mm512_maskz_mov_epi32(k, _mm512_cvtps_epi32(v_f32x16));
          const __mmask8 bytes = static_cast<__mmask8>((1u << ((m + 1) / 2)) - 1u);
          _mm512_mask_cvtepi64_storeu_epi8(out + (e - s0) / 2, bytes, nibble_pairs(q_i32x16));
        });
  });
  return nans;
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
    for_each_chunk(
        a, e0, e1,
        [&](int64_t j, __m512 s_f32x16, __m512 z_f32x16) {
          const __m512i q_i32x16 = widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + j)));
          _mm512_storeu_ps(y + j, affine(q_i32x16, s_f32x16, z_f32x16));
        },
        [&](int64_t e, int m, __m512 s_f32x16, __m512 z_f32x16) {
          const __mmask16 k = lanes_mask(m);
          const __m512i q_i32x16 = widen(_mm_maskz_loadu_epi8(k, q + e));
          _mm512_mask_storeu_ps(y + e, k, affine(q_i32x16, s_f32x16, z_f32x16));
        });
    return;
  }
  int4_segments(a, e0, e1, static_cast<uint8_t*>(a.q), [&](int64_t s0, int64_t s1, const uint8_t* in) {
    for_each_chunk(
        a, s0, s1,
        [&](int64_t j, __m512 s_f32x16, __m512 z_f32x16) {
          const __m128i b_u8x8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + (j - s0) / 2));
          _mm512_storeu_ps(y + j, affine(unpack_nibbles(_mm512_cvtepu8_epi64(b_u8x8), sign), s_f32x16, z_f32x16));
        },
        [&](int64_t e, int m, __m512 s_f32x16, __m512 z_f32x16) {
          const __mmask16 k = lanes_mask(m);
          const __mmask16 bytes = static_cast<__mmask16>((1u << ((m + 1) / 2)) - 1u);
          const __m128i b_u8x8 = _mm_maskz_loadu_epi8(bytes, in + (e - s0) / 2);
          _mm512_mask_storeu_ps(y + e, k, affine(unpack_nibbles(_mm512_cvtepu8_epi64(b_u8x8), sign), s_f32x16, z_f32x16));
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
  for_each_chunk(
      a, e0, e1,
      [&](int64_t j, __m512 s_f32x16, __m512 z_f32x16) {
        __mmask16 nan, in_range;
        const __m512 v_f32x16 = quant.apply(_mm512_loadu_ps(x + j), s_f32x16, z_f32x16, &nan, &in_range);
        nans += popcount16(nan);
        _mm512_storeu_ps(y + j, _mm512_mul_ps(_mm512_sub_ps(v_f32x16, z_f32x16), s_f32x16));
        if (mask) _mm_storeu_si128(reinterpret_cast<__m128i*>(mask + j), _mm_maskz_mov_epi8(in_range, one_u8x16));
      },
      [&](int64_t e, int m, __m512 s_f32x16, __m512 z_f32x16) {
        const __mmask16 k = lanes_mask(m);
        __mmask16 nan, in_range;
        const __m512 v_f32x16 = quant.apply(_mm512_maskz_loadu_ps(k, x + e), s_f32x16, z_f32x16, &nan, &in_range);
        nans += popcount16(nan & k);
        _mm512_mask_storeu_ps(y + e, k, _mm512_mul_ps(_mm512_sub_ps(v_f32x16, z_f32x16), s_f32x16));
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
        __m512 lo_f32x16 = _mm512_set1_ps(mins[p]);
        __m512 hi_f32x16 = _mm512_set1_ps(maxs[p]);
        for (int64_t j = e; j < e + k; j += W) {
          const __m512 v_f32x16 = _mm512_loadu_ps(x + j);
          // |v| < Inf is false for ±Inf and NaN: the non-finite lanes (values then unspecified, status fails).
          bad += popcount16(_mm512_cmp_ps_mask(_mm512_abs_ps(v_f32x16), inf_f32x16, _CMP_NLT_UQ));
          lo_f32x16 = _mm512_min_ps(lo_f32x16, v_f32x16);
          hi_f32x16 = _mm512_max_ps(hi_f32x16, v_f32x16);
        }
        mins[p] = _mm512_reduce_min_ps(lo_f32x16);
        maxs[p] = _mm512_reduce_max_ps(hi_f32x16);
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
