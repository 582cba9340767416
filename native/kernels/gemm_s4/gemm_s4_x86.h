// The x86 gemm_s4 loop nest (n16 layout, gemm_s4_layout.h), written once over a vector-traits type T and included
// by each x86 ISA file inside its own anonymous namespace (so every ISA gets a private copy compiled with its own
// flags; see docs/DEVELOPING.md, ISA hygiene). The including file provides <immintrin.h>, <cstring>,
// "gemm_s4_layout.h" and a traits struct:
//   I / F               integer / float vector types; H = vectors per 16 columns (1 for zmm, 2 for ymm)
//   load(p)             64/H bytes of packed weights      set1_8 / set1_32 / zero
//   and_, srli16, add, mullo, zp(p) (16/H bytes z' → int32 lanes)
//   dot(acc, w, a)      acc + Σ_{j<4} u8(w.b[4l+j])·s8(a.b[4l+j]) per int32 lane (vpdpbusd or an exact equivalent)
//   loadf, loadh (16/H float16 → float, exact), zerof, set1f, cvt, fmadd, storef, store_partial(p, v, count)
//   srai4, kHi16 (the dot takes u8 up to 240 exactly: VNNI)
//   kMr (rows of the GEMM micro-tile), kNbGemm / kNbGemv (16-column blocks per micro-tile for M ≥ 2 / M = 1)
// Integer accumulators wrap modulo 2^32 (the final per-group dot is exact; partial sums may wrap and come back).

// ---- activations: per-row symmetric int8 (distiq/gemm_s4.h), AVX2 for every x86 level ----

inline int32_t s4x_hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

inline __m256i s4x_tail_mask(int64_t count) {  // lanes < count set (count in 0..8)
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(count)), idx);
}

struct S4xQuant {
  // max |row[0:k)|; true when a NaN or ±Inf was seen.
  static bool absmax(const float* row, int64_t k, float* out) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 inf = _mm256_set1_ps(INFINITY);
    __m256 vmax = _mm256_setzero_ps(), vbad = _mm256_setzero_ps();
    int64_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
      const __m256 v = _mm256_and_ps(_mm256_loadu_ps(row + kk), abs_mask);
      vmax = _mm256_max_ps(vmax, v);
      vbad = _mm256_or_ps(vbad, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));  // NaN or ±Inf
    }
    if (kk < k) {
      const __m256 v = _mm256_and_ps(_mm256_maskload_ps(row + kk, s4x_tail_mask(k - kk)), abs_mask);
      vmax = _mm256_max_ps(vmax, v);
      vbad = _mm256_or_ps(vbad, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
    *out = _mm_cvtss_f32(m4);
    return _mm256_movemask_ps(vbad) != 0;
  }
  // Quantizes src[0:len) into dst[0:kp) (zeros past len; kp a multiple of 8 ≥ len); returns Σ dst.
  static int32_t group(const float* src, int64_t len, int64_t kp, float scale, int8_t* dst) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i lo = _mm256_set1_epi32(-127), hi = _mm256_set1_epi32(127);
    __m256i vsum = _mm256_setzero_si256();
    for (int64_t t = 0; t < kp; t += 8) {  // the tail chunk's masked-off lanes load 0 and pad the group
      const __m256 v = t + 8 <= len ? _mm256_loadu_ps(src + t) : _mm256_maskload_ps(src + t, s4x_tail_mask(len - t));
      const __m256 r = _mm256_round_ps(_mm256_div_ps(v, vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      __m256i q = _mm256_cvtps_epi32(r);
      q = _mm256_min_epi32(_mm256_max_epi32(q, lo), hi);
      vsum = _mm256_add_epi32(vsum, q);
      const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + t), _mm_packs_epi16(p16, p16));
    }
    return s4x_hsum(vsum);
  }
};

// ---- the GEMM ----

// Rows i0 .. i0+MR−1, 16-column blocks nb0 .. nb0+NB−1 (all inside the matrix's blocks); stores columns < n only.
// y = fmaf(acc, a_scale, bias) for rows i0.., blocks nb0.. (columns < n only).
template <class T, int MR, int NB>
void s4_store(const GemmS4Run& r, const typename T::F (&facc)[MR][NB][T::H], int64_t i0, int64_t nb0) {
  using F = typename T::F;
  constexpr int H = T::H;
  constexpr int L = 16 / H;
  const int64_t n = r.w->n;
  for (int rr = 0; rr < MR; ++rr) {
    const F as = T::set1f(r.a_scale[i0 + rr]);
    float* yrow = r.y + (i0 + rr) * r.ldy;
    for (int j = 0; j < NB; ++j) {
      const int64_t c0 = (nb0 + j) * 16;
      const int64_t cnt = n - c0 < 16 ? n - c0 : 16;
      alignas(64) float bias_tail[16];
      const float* bp = s4_block_bias(r.bias, c0, cnt, bias_tail);
      for (int h = 0; h < H; ++h) {
        const F bv = bp != nullptr ? T::loadf(bp + h * L) : T::zerof();
        const F yv = T::fmadd(facc[rr][j][h], as, bv);
        const int64_t left = cnt - h * L;
        if (left >= L) {
          T::storef(yrow + c0 + h * L, yv);
        } else if (left > 0) {
          T::store_partial(yrow + c0 + h * L, yv, left);
        }
      }
    }
  }
}

// How a micro-tile unpacks the nibbles and accumulates a group:
//   kShift: u_lo = w & 0x0F, u_hi = (w >> 4) & 0x0F, separate low/high accumulators (any dot, any group length);
//   kHi16:  the high nibbles used in place as 16·u (one AND instead of shift + AND), the high sum shifted back by 4;
//   kWide:  the low nibbles shifted up to 16·u too, so one accumulator per (row, vector) holds 16·dot_g and more
//           rows fit in the registers (one shift + AND per weight vector, shared by all MR rows).
// kHi16 and kWide need a dot taking u8 up to 240 exactly (VNNI) and 16·127·15·len < 2^31, i.e. len ≤ 65536.
enum S4Mode { kShift = 0, kHi16 = 1, kWide = 2 };

template <class T, int MR, int NB, bool ZP, int MODE>
void s4_micro_x(const GemmS4Run& r, const S4Geometry& geo, int64_t i0, int64_t nb0) {
  using I = typename T::I;
  using F = typename T::F;
  constexpr int H = T::H;
  constexpr int L = 16 / H;  // columns per vector
  const PackedS4& w = *r.w;
  const int64_t bb = geo.block_bytes;
  const uint8_t* base = w.data + nb0 * bb;
  const I mask = T::set1_8(0x0F), mask_hi = T::set1_8(0xF0);
  F facc[MR][NB][H];
  for (int rr = 0; rr < MR; ++rr)
    for (int j = 0; j < NB; ++j)
      for (int h = 0; h < H; ++h) facc[rr][j][h] = T::zerof();

  for (int64_t g = 0; g < geo.groups; ++g) {
    const int64_t nblk = (g + 1 == geo.groups ? geo.last_kp : geo.full_kp) / 8;
    const uint8_t* rec = base + g * geo.full_rec;
    I lo_acc[MR][NB][H], hi_acc[MR][NB][H];  // kWide uses lo_acc only
    for (int rr = 0; rr < MR; ++rr) {
      const uint32_t gs = static_cast<uint32_t>(r.a_gsum[(i0 + rr) * geo.groups + g]) * (MODE == kWide ? 16u : 1u);
      if constexpr (!ZP) {
        const I c = T::set1_32(static_cast<int32_t>(static_cast<uint32_t>(-w.zp_const) * gs));
        for (int j = 0; j < NB; ++j)
          for (int h = 0; h < H; ++h) lo_acc[rr][j][h] = c;
      } else {
        const I ngs = T::set1_32(static_cast<int32_t>(0u - gs));
        for (int j = 0; j < NB; ++j)
          for (int h = 0; h < H; ++h) lo_acc[rr][j][h] = T::mullo(T::zp(rec + j * bb + nblk * 64 + geo.scale_bytes + h * L), ngs);
      }
      if constexpr (MODE != kWide) {
        for (int j = 0; j < NB; ++j)
          for (int h = 0; h < H; ++h) hi_acc[rr][j][h] = T::zero();
      }
    }
    const int8_t* a = r.aq + i0 * r.kq + g * geo.full_kp;
#pragma GCC unroll 4
    for (int64_t b = 0; b < nblk; ++b) {
      I lo[NB][H], hi[NB][H];
      for (int j = 0; j < NB; ++j)
        for (int h = 0; h < H; ++h) {
          const I v = T::load(rec + j * bb + b * 64 + h * (64 / H));
          lo[j][h] = MODE == kWide ? T::and_(T::slli16(v), mask_hi) : T::and_(v, mask);
          hi[j][h] = MODE == kShift ? T::and_(T::srli16(v), mask) : T::and_(v, mask_hi);
        }
      for (int rr = 0; rr < MR; ++rr) {
        int32_t qa, qb;
        std::memcpy(&qa, a + rr * r.kq + b * 8, 4);
        std::memcpy(&qb, a + rr * r.kq + b * 8 + 4, 4);
        const I va = T::set1_32(qa), vb = T::set1_32(qb);
        for (int j = 0; j < NB; ++j)
          for (int h = 0; h < H; ++h) {
            if constexpr (MODE == kWide) {
              lo_acc[rr][j][h] = T::dot(T::dot(lo_acc[rr][j][h], lo[j][h], va), hi[j][h], vb);
            } else {
              lo_acc[rr][j][h] = T::dot(lo_acc[rr][j][h], lo[j][h], va);
              hi_acc[rr][j][h] = T::dot(hi_acc[rr][j][h], hi[j][h], vb);
            }
          }
      }
    }
    for (int j = 0; j < NB; ++j)
      for (int h = 0; h < H; ++h) {
        const uint8_t* sp = rec + j * bb + nblk * 64;
        const F s = w.scales_f16 ? T::loadh(sp + 2 * h * L) : T::loadf(reinterpret_cast<const float*>(sp) + h * L);
        for (int rr = 0; rr < MR; ++rr) {
          I dot;
          if constexpr (MODE == kWide) {
            dot = T::srai4(lo_acc[rr][j][h]);
          } else {
            dot = T::add(lo_acc[rr][j][h], MODE == kHi16 ? T::srai4(hi_acc[rr][j][h]) : hi_acc[rr][j][h]);
          }
          facc[rr][j][h] = T::fmadd(T::cvt(dot), s, facc[rr][j][h]);
        }
      }
  }

  s4_store<T, MR, NB>(r, facc, i0, nb0);
}

template <class T, int MR, int NB, bool ZP>
void s4_micro(const GemmS4Run& r, const S4Geometry& geo, int64_t i0, int64_t nb0) {
  if (T::kHi16 && geo.full_len <= 65536) {
    // Tiles taller than 4 rows (VNNI traits only) need kWide's single accumulators to stay in registers.
    s4_micro_x<T, MR, NB, ZP, (MR > 4 ? kWide : kHi16)>(r, geo, i0, nb0);
  } else {
    s4_micro_x<T, MR, NB, ZP, kShift>(r, geo, i0, nb0);
  }
}

#include "gemm_s4_nest.h"
