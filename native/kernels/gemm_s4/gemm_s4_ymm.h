// Ymm vector traits for the x86 gemm_s4 loop nest (gemm_s4_x86.h): 256-bit vectors, 8 columns per vector; the
// integer dot step comes from the ISA file (Dot::dot). Included inside the ISA file's anonymous namespace.

template <class Dot>
struct Ymm {
  using I = __m256i;
  static constexpr bool kHi16 = Dot::kHi16;
  using F = __m256;
  static constexpr int H = 2;
  static constexpr int kMr = 2, kNbGemm = 1, kNbGemv = 1;
  static I load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static I set1_8(int v) { return _mm256_set1_epi8(static_cast<char>(v)); }
  static I set1_32(int32_t v) { return _mm256_set1_epi32(v); }
  static I zero() { return _mm256_setzero_si256(); }
  static I and_(I a, I b) { return _mm256_and_si256(a, b); }
  static I srli16(I a) { return _mm256_srli_epi16(a, 4); }
  static I slli16(I a) { return _mm256_slli_epi16(a, 4); }
  static I srai4(I a) { return _mm256_srai_epi32(a, 4); }
  static I add(I a, I b) { return _mm256_add_epi32(a, b); }
  static I mullo(I a, I b) { return _mm256_mullo_epi32(a, b); }
  static I zp(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
  static I dot(I acc, I w, I a) { return Dot::dot(acc, w, a); }
  static F loadf(const float* p) { return _mm256_loadu_ps(p); }
  static F loadh(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static F zerof() { return _mm256_setzero_ps(); }
  static F set1f(float v) { return _mm256_set1_ps(v); }
  static F cvt(I v) { return _mm256_cvtepi32_ps(v); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static void storef(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void store_partial(float* p, F v, int64_t count) {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, v);
    std::memcpy(p, tmp, static_cast<size_t>(count) * 4);
  }
};
