// gemm_s4 neondot kernel: sdot by lane (s8 unsigned nibble 0..15 × s8 activation), 4 columns per vector, exact.
// The loop nest is gemm_s4_arm.h (n16 layout, gemm_s4_layout.h); this file supplies the integer step.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

struct DotStep {
  static constexpr int kMr = 2, kNbGemm = 1, kNbGemv = 1;
  struct Acc {
    int32x4_t lo, hi;
  };
  static Acc init(int32x4_t corr) { return Acc{corr, vdupq_n_s32(0)}; }
  static void step(Acc& acc, int8x16_t lo, int8x16_t hi, int8x8_t a8) {
    acc.lo = vdotq_lane_s32(acc.lo, lo, a8, 0);
    acc.hi = vdotq_lane_s32(acc.hi, hi, a8, 1);
  }
  static void flush(Acc&) {}
  static int32x4_t result(const Acc& acc) { return vaddq_s32(acc.lo, acc.hi); }
};

#include "gemm_s4_arm.h"

}  // namespace

const GemmS4Kernel& gemm_s4_neondot() noexcept {
  static const GemmS4Kernel kernel{Isa::kNeonDot, "gemm_s4_neondot", 2, 16, s4_n16_padded_k, s4_n16_packed_bytes,
                                   s4_n16_pack, s4_quantize_rows<S4aQuant>, s4_tile<DotStep>};
  return kernel;
}

}  // namespace distiq
