// softmax_kl_avx2 — PLACEHOLDER while the vector kernel is written: reuses the reference functions so the library
// links for everyone. Replaced by the real avx2 kernel in the next commit.
#include "distiq/softmax_kl.h"

namespace distiq {

const SoftmaxKernel& softmax_avx2() noexcept {
  static const SoftmaxKernel k = [] {
    SoftmaxKernel r = softmax_ref();
    r.isa = Isa::kAvx2;
    return r;
  }();
  return k;
}

}  // namespace distiq
