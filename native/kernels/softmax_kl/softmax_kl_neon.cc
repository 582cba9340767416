// softmax_neon — PLACEHOLDER while the NEON kernel is written: reuses the reference functions so the aarch64 library
// links. Replaced by the real kernel in a following commit.
#include "distiq/kernels.h"

namespace distiq {

const SoftmaxKernel& softmax_neon() noexcept {
  static const SoftmaxKernel k = [] {
    SoftmaxKernel r = softmax_ref();
    r.isa = Isa::kNeon;
    return r;
  }();
  return k;
}

}  // namespace distiq
