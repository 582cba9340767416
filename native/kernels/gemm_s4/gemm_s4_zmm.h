// Zmm vector traits for the x86 gemm_s4 loop nest (gemm_s4_x86.h): 512-bit vectors, 16 columns per vector; the
// integer dot step comes from the ISA file (Dot::dot). Included inside the ISA file's anonymous namespace.

template <class Dot>
struct Zmm {
  using I = __m512i;
  static constexpr bool kHi16 = Dot::kHi16;
  using F = __m512;
  static constexpr int H = 1;
  // VNNI: 6-row micro-tiles with one accumulator per (row, vector) (kWide); else 4 rows, split lo/hi.
  static constexpr int kMr = Dot::kHi16 ? 6 : 4, kNbGemm = 2, kNbGemv = 4;
  static I load(const uint8_t* p) { return _mm512_loadu_si512(p); }
  static I set1_8(int v) { return _mm512_set1_epi8(static_cast<char>(v)); }
  static I set1_32(int32_t v) { return _mm512_set1_epi32(v); }
  static I zero() { return _mm512_setzero_si512(); }
  static I and_(I a, I b) { return _mm512_and_si512(a, b); }
  static I srli16(I a) { return _mm512_srli_epi16(a, 4); }
  static I slli16(I a) { return _mm512_slli_epi16(a, 4); }
  static I srai4(I a) { return _mm512_srai_epi32(a, 4); }
  static I add(I a, I b) { return _mm512_add_epi32(a, b); }
  static I mullo(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static I zp(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static I dot(I acc, I w, I a) { return Dot::dot(acc, w, a); }
  static F loadf(const float* p) { return _mm512_loadu_ps(p); }
  static F loadh(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static F zerof() { return _mm512_setzero_ps(); }
  static F set1f(float v) { return _mm512_set1_ps(v); }
  static F cvt(I v) { return _mm512_cvtepi32_ps(v); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static void storef(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void store_partial(float* p, F v, int64_t count) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1u), v);
  }
};
