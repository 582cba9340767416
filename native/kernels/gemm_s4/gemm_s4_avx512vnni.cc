// gemm_s4 avx512vnni kernel: vpdpbusd on zmm (u8 = unsigned nibble, s8 = activation), exact.
// Loop nest: gemm_s4_x86.h (n16 layout, gemm_s4_layout.h) over the Zmm traits (gemm_s4_zmm.h).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

struct Dot {
  static constexpr bool kHi16 = true;  // u8 operand may be 16·u: no int16 step to saturate
  static __m512i dot(__m512i acc, __m512i w, __m512i a) { return _mm512_dpbusd_epi32(acc, w, a); }
};

#include "gemm_s4_zmm.h"
using Traits = Zmm<Dot>;
#include "gemm_s4_x86.h"

}  // namespace

const GemmS4Kernel& gemm_s4_avx512vnni() noexcept {
  static const GemmS4Kernel kernel{Isa::kAvx512Vnni, "gemm_s4_avx512vnni", 4, 16, s4_n16_padded_k, s4_n16_packed_bytes,
                                   s4_n16_pack, s4_quantize_rows<S4xQuant>, s4_tile<Traits>};
  return kernel;
}

}  // namespace distiq
