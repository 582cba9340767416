// gemm_s4 avx2 kernel: vpmaddubsw + vpmaddwd on ymm; exact: a pair is at most 2·15·127 = 3810, far from int16 saturation.
// Loop nest: gemm_s4_x86.h (n16 layout, gemm_s4_layout.h) over the Ymm traits (gemm_s4_ymm.h).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

struct Dot {
  static constexpr bool kHi16 = false;  // vpmaddubsw pairs of 240·127 would saturate int16
  static __m256i dot(__m256i acc, __m256i w, __m256i a) { return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1))); }
};

#include "gemm_s4_ymm.h"
using Traits = Ymm<Dot>;
#include "gemm_s4_x86.h"

}  // namespace

const GemmS4Kernel& gemm_s4_avx2() noexcept {
  static const GemmS4Kernel kernel{Isa::kAvx2, "gemm_s4_avx2", 2, 16, s4_n16_padded_k, s4_n16_packed_bytes,
                                   s4_n16_pack, s4_quantize_rows<S4xQuant>, s4_tile<Traits>};
  return kernel;
}

}  // namespace distiq
