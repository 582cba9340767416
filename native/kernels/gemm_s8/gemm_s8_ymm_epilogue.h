// gemm_s8_ymm_epilogue.h: the parts of the x86 int8 GEMM that depend only on the vector width (8 int32 lanes of
// a ymm): A row sums and the gemm_s8.h epilogue (zero-point correction, float and requantized outputs, in the
// reference's operation order so the bits match). Shared by gemm_s8_avx2.cc and gemm_s8_avxvnni.cc, whose panels both
// start with the 8 column sums Σ_k W[j,k]. z_a' below is the zero point the kernel works with: z_a, or
// z_a + 128 after an s8 row is flipped to u8.
//
// ISA hygiene: included INSIDE the anonymous namespace of each ISA file, after `kNr`, so every copy is private to
// its translation unit and compiled with that file's flags. No include guard on purpose.

// Σ_k a[k] (as signed or unsigned bytes), modulo 2^32.
uint32_t row_sum(const uint8_t* a, int64_t k, bool a_signed) {
  const __m256i flip_u8x32 = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256i sum_u64x4 = _mm256_setzero_si256();
  int64_t kk = 0;
  for (; kk + 32 <= k; kk += 32) {
    __m256i v_u8x32 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + kk));
    if (a_signed) v_u8x32 = _mm256_xor_si256(v_u8x32, flip_u8x32);
    sum_u64x4 = _mm256_add_epi64(sum_u64x4, _mm256_sad_epu8(v_u8x32, _mm256_setzero_si256()));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum_u64x4);
  uint32_t s = static_cast<uint32_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
  if (a_signed) s -= 128u * static_cast<uint32_t>(kk);
  for (; kk < k; ++kk) {
    s += a_signed ? static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(a[kk]))) : a[kk];
  }
  return s;
}

// Per-column epilogue inputs of one panel in a micro-tile, computed once and reused for every row.
struct Columns {
  __m256i col_off_i32x8;  // −z_a'·Σ_k W[j,k]
  __m256 scale_f32x8;     // a_scale · w_scale[j]
  __m256 bias_f32x8;
  __m256i mask_i32x8;     // all ones in the lanes of columns that exist
  int64_t count;          // columns that exist (1..8)
  int64_t col;            // first column
};

Columns load_columns(const GemmS8Args& p, const uint8_t* panel, int64_t col, int64_t n, uint32_t za_eff) {
  Columns c;
  c.count = std::min<int64_t>(kNr, n - col);
  c.mask_i32x8 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(c.count)),
                                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  c.col = col;
  const __m256i sums_i32x8 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel));
  c.col_off_i32x8 = _mm256_mullo_epi32(sums_i32x8, _mm256_set1_epi32(static_cast<int32_t>(0u - za_eff)));
  if (p.out != GemmOut::kS32) {
    const __m256 w_scale_f32x8 = p.w_scale_count == 1 ? _mm256_set1_ps(p.w_scale[0])
                                                      : _mm256_maskload_ps(p.w_scale + col, c.mask_i32x8);
    c.scale_f32x8 = _mm256_mul_ps(_mm256_set1_ps(p.a_scale), w_scale_f32x8);
    c.bias_f32x8 = p.bias != nullptr ? _mm256_maskload_ps(p.bias + col, c.mask_i32x8) : _mm256_setzero_ps();
  } else {
    c.scale_f32x8 = _mm256_setzero_ps();
    c.bias_f32x8 = _mm256_setzero_ps();
  }
  return c;
}

// The gemm_s8.h epilogue on 8 lanes, same operation order as the reference (cvt, fmadd, max, div, round, add,
// max, min), so the bits match. vmaxps/vminps return the second operand for NaN, like the reference's clamps.
void store(const GemmS8Args& p, int64_t row, const Columns& c, __m256i acc_i32x8) {
  acc_i32x8 = _mm256_add_epi32(acc_i32x8, c.col_off_i32x8);
  if (p.out == GemmOut::kS32) {
    _mm256_maskstore_epi32(static_cast<int32_t*>(p.c) + row * p.ldc + c.col, c.mask_i32x8, acc_i32x8);
    return;
  }
  __m256 y_f32x8 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc_i32x8), c.scale_f32x8, c.bias_f32x8);
  if (p.relu) y_f32x8 = _mm256_max_ps(y_f32x8, _mm256_setzero_ps());
  if (p.out == GemmOut::kF32) {
    _mm256_maskstore_ps(static_cast<float*>(p.c) + row * p.ldc + c.col, c.mask_i32x8, y_f32x8);
    return;
  }
  __m256 v_f32x8 = _mm256_round_ps(_mm256_div_ps(y_f32x8, _mm256_set1_ps(p.out_scale)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v_f32x8 = _mm256_add_ps(v_f32x8, _mm256_set1_ps(static_cast<float>(p.out_zp)));
  const bool u8 = p.out == GemmOut::kU8;
  v_f32x8 = _mm256_max_ps(v_f32x8, _mm256_set1_ps(u8 ? 0.0f : -128.0f));
  v_f32x8 = _mm256_min_ps(v_f32x8, _mm256_set1_ps(u8 ? 255.0f : 127.0f));
  const __m256i q_i32x8 = _mm256_cvtps_epi32(v_f32x8);  // integral and in range: exact
  // In-range values survive the signed 32→16 pack unchanged; the 16→8 pack saturates to the target type.
  const __m256i q_i16x16 = _mm256_packs_epi32(q_i32x8, q_i32x8);
  const __m256i q_x8x32 = u8 ? _mm256_packus_epi16(q_i16x16, q_i16x16) : _mm256_packs_epi16(q_i16x16, q_i16x16);
  // Bytes 0..3 of each 128-bit lane hold columns 0..3 and 4..7.
  const __m128i bytes_x8x16 = _mm_unpacklo_epi32(_mm256_castsi256_si128(q_x8x32), _mm256_extracti128_si256(q_x8x32, 1));
  uint8_t* dst = static_cast<uint8_t*>(p.c) + row * p.ldc + c.col;
  if (c.count == kNr) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), bytes_x8x16);
  } else {
    alignas(16) uint8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes_x8x16);
    std::memcpy(dst, tmp, static_cast<size_t>(c.count));
  }
}
