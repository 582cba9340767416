// quant_avx2 — PLACEHOLDER while the vector kernel is written: reuses the reference functions so the library
// links for everyone. Replaced by the real avx2 kernel in the next commit.
#include "distiq/quant.h"

namespace distiq {

const QuantKernel& quant_avx2() noexcept {
  static const QuantKernel k = [] {
    QuantKernel r = quant_ref();
    r.isa = Isa::kAvx2;
    return r;
  }();
  return k;
}

}  // namespace distiq
