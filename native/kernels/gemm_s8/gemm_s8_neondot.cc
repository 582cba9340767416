// gemm_s8_neondot — PLACEHOLDER while the NEON kernel is written: reuses the reference functions so the aarch64 library
// links. Replaced by the real kernel in a following commit.
#include "distiq/kernels.h"

namespace distiq {

const GemmS8Kernel& gemm_s8_neondot() noexcept {
  static const GemmS8Kernel k = [] {
    GemmS8Kernel r = gemm_s8_ref();
    r.isa = Isa::kNeonDot;
    return r;
  }();
  return k;
}

}  // namespace distiq
