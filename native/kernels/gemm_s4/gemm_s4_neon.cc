// gemm_s4 neon kernel (armv8.0, no dotprod): smull/smlal of nibble × activation into int16 (at most 8 products of
// |15·127| per lane between flushes: 15240 < 2^15), then sadalp into int32 every 4 chunks; exact.
// The loop nest is gemm_s4_arm.h (n16 layout, gemm_s4_layout.h); this file supplies the integer step.
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "distiq/gemm_s4.h"
#include "gemm_s4_layout.h"

namespace distiq {
namespace {

struct MlalStep {
  static constexpr int kMr = 2, kNbGemm = 1, kNbGemv = 1;
  // p: columns 0,1 (k 0..3 each) and q: columns 2,3 as int16; P/Q their int32 pairwise sums; corr added last.
  struct Acc {
    int16x8_t p, q;
    int32x4_t pp, qq, corr;
  };
  static Acc init(int32x4_t corr) {
    return Acc{vdupq_n_s16(0), vdupq_n_s16(0), vdupq_n_s32(0), vdupq_n_s32(0), corr};
  }
  static void step(Acc& acc, int8x16_t lo, int8x16_t hi, int8x8_t a8) {
    const int32x2_t a32 = vreinterpret_s32_s8(a8);
    const int8x16_t alo = vreinterpretq_s8_s32(vdupq_lane_s32(a32, 0));  // a[0..3] repeated
    const int8x16_t ahi = vreinterpretq_s8_s32(vdupq_lane_s32(a32, 1));  // a[4..7] repeated
    acc.p = vmlal_s8(acc.p, vget_low_s8(lo), vget_low_s8(alo));
    acc.q = vmlal_high_s8(acc.q, lo, alo);
    acc.p = vmlal_s8(acc.p, vget_low_s8(hi), vget_low_s8(ahi));
    acc.q = vmlal_high_s8(acc.q, hi, ahi);
  }
  static void flush(Acc& acc) {
    acc.pp = vpadalq_s16(acc.pp, acc.p);
    acc.qq = vpadalq_s16(acc.qq, acc.q);
    acc.p = vdupq_n_s16(0);
    acc.q = vdupq_n_s16(0);
  }
  static int32x4_t result(Acc acc) {
    flush(acc);
    return vaddq_s32(vpaddq_s32(acc.pp, acc.qq), acc.corr);
  }
};

#include "gemm_s4_arm.h"

}  // namespace

const GemmS4Kernel& gemm_s4_neon() noexcept {
  static const GemmS4Kernel kernel{Isa::kNeon, "gemm_s4_neon", 2, 16, s4_n16_padded_k, s4_n16_packed_bytes,
                                   s4_n16_pack, s4_quantize_rows<S4aQuant>, s4_tile<MlalStep>};
  return kernel;
}

}  // namespace distiq
