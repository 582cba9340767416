// The gemm_s4 tile driver shared by the x86 and arm64 loop nests: rows in micro-tiles of T::kMr (a remainder of 4,
// 3 or 2 rows as one micro-tile when kMr allows, else single rows with T::kNbGemv blocks), 16-column blocks in
// groups of T::kNbGemm / T::kNbGemv, the k == 0 case, and the zero-point switch. Included after the including
// file's s4_micro<T, MR, NB, ZP>(run, geo, i0, nb0), inside its anonymous namespace (a private copy per ISA).
// Also the activation quantizer (distiq/gemm_s4.h) over Q::absmax / Q::group, writing the n16 group padding.

template <class Q>
int64_t s4_quantize_rows(const float* x, int64_t lda, int64_t k, int64_t group, int64_t m0, int64_t m1, int8_t* aq,
                         int64_t kq, float* a_scale, int32_t* a_gsum) {
  const S4Geometry geo = s4_geometry(k, group, false, false);
  int64_t bad = 0;
  for (int64_t i = m0; i < m1; ++i) {
    const float* row = x + i * lda;
    float amax = 0.0f;
    if (Q::absmax(row, k, &amax)) ++bad;
    const float scale = amax / 127.0f;
    a_scale[i] = scale;
    int8_t* out = aq + i * kq;
    for (int64_t g = 0; g < geo.groups; ++g) {
      const bool last = g + 1 == geo.groups;
      const int64_t len = last ? geo.last_len : geo.full_len, kp = last ? geo.last_kp : geo.full_kp;
      int8_t* dst = out + g * geo.full_kp;
      if (scale > 0.0f) {
        a_gsum[i * geo.groups + g] = Q::group(row + g * geo.full_len, len, kp, scale, dst);
      } else {  // all-zero row (or absmax/127 underflowed): a = 0
        std::memset(dst, 0, static_cast<size_t>(kp));
        a_gsum[i * geo.groups + g] = 0;
      }
    }
  }
  return bad;
}

template <class T, int MR, int NB, bool ZP>
void s4_cols(const GemmS4Run& r, const S4Geometry& geo, int64_t i0, int64_t nb0, int64_t nb1) {
  int64_t nb = nb0;
  for (; nb + NB <= nb1; nb += NB) s4_micro<T, MR, NB, ZP>(r, geo, i0, nb);
  for (; nb < nb1; ++nb) s4_micro<T, MR, 1, ZP>(r, geo, i0, nb);
}

template <class T, bool ZP>
void s4_tile_impl(const GemmS4Run& r, const S4Geometry& geo, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t nb0 = n0 / 16, nb1 = (n1 + 15) / 16;
  int64_t i = m0;
  for (; i + T::kMr <= m1; i += T::kMr) s4_cols<T, T::kMr, T::kNbGemm, ZP>(r, geo, i, nb0, nb1);
  if (T::kMr > 4 && m1 - i >= 4) {
    s4_cols<T, (T::kMr > 4 ? 4 : 1), T::kNbGemm, ZP>(r, geo, i, nb0, nb1);
    i += 4;
  }
  if (T::kMr > 3 && m1 - i == 3) {
    s4_cols<T, (T::kMr > 3 ? 3 : 1), T::kNbGemm, ZP>(r, geo, i, nb0, nb1);
    return;
  }
  if (T::kMr > 2 && m1 - i == 2) {
    s4_cols<T, (T::kMr > 2 ? 2 : 1), T::kNbGemm, ZP>(r, geo, i, nb0, nb1);
    return;
  }
  for (; i < m1; ++i) s4_cols<T, 1, T::kNbGemv, ZP>(r, geo, i, nb0, nb1);
}

template <class T>
void s4_tile(const GemmS4Run& r, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const PackedS4& w = *r.w;
  const S4Geometry geo = s4_geometry(w.k, w.group, w.has_zp, w.scales_f16);
  if (geo.groups == 0) {  // k == 0: acc = 0
    for (int64_t i = m0; i < m1; ++i)
      for (int64_t j = n0; j < n1; ++j)
        r.y[i * r.ldy + j] = std::fmaf(0.0f, r.a_scale[i], r.bias != nullptr ? r.bias[j] : 0.0f);
    return;
  }
  if (w.has_zp) {
    s4_tile_impl<T, true>(r, geo, m0, m1, n0, n1);
  } else {
    s4_tile_impl<T, false>(r, geo, m0, m1, n0, n1);
  }
}
