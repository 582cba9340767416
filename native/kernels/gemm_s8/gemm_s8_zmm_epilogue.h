// gemm_s8_zmm_epilogue.h: the parts of the x86 int8 GEMM that depend only on the vector width (16 int32 lanes of
// a zmm): A row sums and the gemm_s8.h epilogue (zero-point correction, float and requantized outputs, in the
// reference's operation order so the bits match). Shared by gemm_s8_avx512.cc and gemm_s8_avx512vnni.cc, whose panels
// start with the 16 column sums Σ_k W[j,k]. z_a' below is the zero point the kernel works with: z_a, or
// z_a + 128 after an s8 row is flipped to u8.
//
// ISA hygiene: included INSIDE the anonymous namespace of each ISA file, after `kNr`, so every copy is private to
// its translation unit and compiled with that file's flags. No include guard on purpose.

// Σ_k a[k] (as signed or unsigned bytes), modulo 2^32.
uint32_t row_sum(const uint8_t* a, int64_t k, bool a_signed) {
  const __m512i flip_u8x64 = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i sum_u64x8 = _mm512_setzero_si512();
  int64_t kk = 0;
  for (; kk + 64 <= k; kk += 64) {
    __m512i v_u8x64 = _mm512_loadu_si512(a + kk);
    if (a_signed) v_u8x64 = _mm512_xor_si512(v_u8x64, flip_u8x64);
    sum_u64x8 = _mm512_add_epi64(sum_u64x8, _mm512_sad_epu8(v_u8x64, _mm512_setzero_si512()));
  }
  uint32_t s = static_cast<uint32_t>(_mm512_reduce_add_epi64(sum_u64x8));
  if (a_signed) s -= 128u * static_cast<uint32_t>(kk);
  for (; kk < k; ++kk) {
    s += a_signed ? static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(a[kk]))) : a[kk];
  }
  return s;
}

// Per-column epilogue inputs of one panel in a micro-tile, computed once and reused for every row.
struct Columns {
  __m512i col_off_i32x16;  // −z_a'·Σ_k W[j,k]
  __m512 scale_f32x16;     // a_scale · w_scale[j]
  __m512 bias_f32x16;
  __mmask16 mask;          // columns that exist
  int64_t col;             // first column
};

Columns load_columns(const GemmS8Args& p, const uint8_t* panel, int64_t col, int64_t n, uint32_t za_eff) {
  Columns c;
  const int64_t count = std::min<int64_t>(kNr, n - col);
  c.mask = static_cast<__mmask16>((1u << count) - 1u);
  c.col = col;
  const __m512i sums_i32x16 = _mm512_loadu_si512(panel);
  c.col_off_i32x16 = _mm512_mullo_epi32(sums_i32x16, _mm512_set1_epi32(static_cast<int32_t>(0u - za_eff)));
  if (p.out != GemmOut::kS32) {
    const __m512 w_scale_f32x16 = p.w_scale_count == 1 ? _mm512_set1_ps(p.w_scale[0])
                                                       : _mm512_maskz_loadu_ps(c.mask, p.w_scale + col);
    c.scale_f32x16 = _mm512_mul_ps(_mm512_set1_ps(p.a_scale), w_scale_f32x16);
    c.bias_f32x16 = p.bias != nullptr ? _mm512_maskz_loadu_ps(c.mask, p.bias + col) : _mm512_setzero_ps();
  } else {
    c.scale_f32x16 = _mm512_setzero_ps();
    c.bias_f32x16 = _mm512_setzero_ps();
  }
  return c;
}

// The gemm_s8.h epilogue on 16 lanes, same operation order as the reference (cvt, fmadd, max, div, round, add,
// max, min), so the bits match.
void store(const GemmS8Args& p, int64_t row, const Columns& c, __m512i acc_i32x16) {
  acc_i32x16 = _mm512_add_epi32(acc_i32x16, c.col_off_i32x16);
  if (p.out == GemmOut::kS32) {
    _mm512_mask_storeu_epi32(static_cast<int32_t*>(p.c) + row * p.ldc + c.col, c.mask, acc_i32x16);
    return;
  }
  __m512 y_f32x16 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc_i32x16), c.scale_f32x16, c.bias_f32x16);
  if (p.relu) y_f32x16 = _mm512_max_ps(y_f32x16, _mm512_setzero_ps());
  if (p.out == GemmOut::kF32) {
    _mm512_mask_storeu_ps(static_cast<float*>(p.c) + row * p.ldc + c.col, c.mask, y_f32x16);
    return;
  }
  __m512 v_f32x16 = _mm512_roundscale_ps(_mm512_div_ps(y_f32x16, _mm512_set1_ps(p.out_scale)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v_f32x16 = _mm512_add_ps(v_f32x16, _mm512_set1_ps(static_cast<float>(p.out_zp)));
  const bool u8 = p.out == GemmOut::kU8;
  v_f32x16 = _mm512_max_ps(v_f32x16, _mm512_set1_ps(u8 ? 0.0f : -128.0f));
  v_f32x16 = _mm512_min_ps(v_f32x16, _mm512_set1_ps(u8 ? 255.0f : 127.0f));
  const __m512i q_i32x16 = _mm512_cvtps_epi32(v_f32x16);  // integral and in range: exact
  uint8_t* dst = static_cast<uint8_t*>(p.c) + row * p.ldc + c.col;
  _mm512_mask_cvtepi32_storeu_epi8(dst, c.mask, q_i32x16);  // low byte = the u8 or the two's-complement s8
}
