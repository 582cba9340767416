// The dispatch table: one kernel per op family, chosen once per ISA level (most capable first, per op).
// Kernels never query the CPU themselves; callers take a table from active_kernels() or kernels_for().
#pragma once

#include "distiq/gemm_f32.h"
#include "distiq/gemm_s4.h"
#include "distiq/gemm_s8.h"
#include "distiq/isa.h"
#include "distiq/optim.h"
#include "distiq/quant.h"
#include "distiq/softmax_kl.h"

#include <string>

namespace distiq {

struct KernelTable {
  Isa level;  // the cap this table was built for
  const GemmS8Kernel* gemm_s8;
  const GemmF32Kernel* gemm_f32;
  const QuantKernel* quant;
  const SoftmaxKernel* softmax;
  const GemmS4Kernel* gemm_s4;
  const OptimKernel* optim;
};

// The table for an ISA cap. `level` must be supported by this CPU (isa_supported); tables are built once.
const KernelTable& kernels_for(Isa level) noexcept;

// The process-wide active table. Initialised on first use from DISTIQ_ISA (cap) or the best level.
// init_dispatch() reports a bad DISTIQ_ISA (unknown name, or a level this CPU lacks) through `error`.
bool init_dispatch(std::string* error);
const KernelTable& active_kernels() noexcept;
// Test hook behind _setIsa(): returns false (and changes nothing) if the CPU lacks `level`.
bool set_active_isa(Isa level) noexcept;
}  // namespace distiq
