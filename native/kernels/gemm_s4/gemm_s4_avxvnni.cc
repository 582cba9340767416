// gemm_s4 avxvnni kernel: VEX vpdpbusd on ymm (u8 = unsigned nibble, s8 = activation), exact.
// Loop nest: gemm_s4_x86.h (n16 layout, gemm_s4_layout.h) over the Ymm traits (gemm_s4_ymm.h).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

struct Dot {
  static constexpr bool kHi16 = true;  // u8 operand may be 16·u: no int16 step to saturate
  static __m256i dot(__m256i acc, __m256i w, __m256i a) { return _mm256_dpbusd_avx_epi32(acc, w, a); }
};

#include "gemm_s4_ymm.h"
using Traits = Ymm<Dot>;
#include "gemm_s4_x86.h"

}  // namespace

const GemmS4Kernel& gemm_s4_avxvnni() noexcept {
  static const GemmS4Kernel kernel{Isa::kAvxVnni, "gemm_s4_avxvnni", 2, 16, s4_n16_padded_k, s4_n16_packed_bytes,
                                   s4_n16_pack, s4_quantize_rows<S4xQuant>, s4_tile<Traits>};
  return kernel;
}

}  // namespace distiq
