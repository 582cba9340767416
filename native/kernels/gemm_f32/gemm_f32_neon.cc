// gemm_f32_neon — PLACEHOLDER while the NEON kernel is written: reuses the reference functions so the aarch64 library
// links. Replaced by the real kernel in a following commit.
#include "distiq/kernels.h"

namespace distiq {

const GemmF32Kernel& gemm_f32_neon() noexcept {
  static const GemmF32Kernel k = [] {
    GemmF32Kernel r = gemm_f32_ref();
    r.isa = Isa::kNeon;
    return r;
  }();
  return k;
}

}  // namespace distiq
