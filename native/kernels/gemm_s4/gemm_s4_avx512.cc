// gemm_s4 avx512 kernel: vpmaddubsw + vpmaddwd on zmm; exact: a pair is at most 2·15·127 = 3810, far from int16 saturation.
// Loop nest: gemm_s4_x86.h (n16 layout, gemm_s4_layout.h) over the Zmm traits (gemm_s4_zmm.h).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

struct Dot {
  static constexpr bool kHi16 = false;  // vpmaddubsw pairs of 240·127 would saturate int16
  static __m512i dot(__m512i acc, __m512i w, __m512i a) { return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(w, a), _mm512_set1_epi16(1))); }
};

#include "gemm_s4_zmm.h"
using Traits = Zmm<Dot>;
#include "gemm_s4_x86.h"

}  // namespace

const GemmS4Kernel& gemm_s4_avx512() noexcept {
  static const GemmS4Kernel kernel{Isa::kAvx512, "gemm_s4_avx512", 4, 16, s4_n16_padded_k, s4_n16_packed_bytes,
                                   s4_n16_pack, s4_quantize_rows<S4xQuant>, s4_tile<Traits>};
  return kernel;
}

}  // namespace distiq
