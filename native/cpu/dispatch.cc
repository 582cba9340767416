// The dispatch table: for each ISA cap, each op gets the most capable kernel at or below the cap that this CPU
// can run. Tables are built once; the active one is chosen from DISTIQ_ISA (or the best level) on first use.
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "distiq/kernels.h"

namespace distiq {
namespace {

// Candidates per op family, most capable first. A family lists only the ISAs where it has a kernel.
template <typename K>
struct Candidate {
  Isa isa;
  const K& (*get)() noexcept;
};

#if defined(__x86_64__) || defined(_M_X64)
const Candidate<GemmS8Kernel> kGemmS8[] = {{Isa::kAmx, gemm_s8_amx},
                                           {Isa::kAvx512Vnni, gemm_s8_avx512vnni}, {Isa::kAvx512, gemm_s8_avx512},
                                           {Isa::kAvxVnni, gemm_s8_avxvnni}, {Isa::kAvx2, gemm_s8_avx2},
                                           {Isa::kRef, gemm_s8_ref}};
const Candidate<GemmF32Kernel> kGemmF32[] = {{Isa::kAvx512, gemm_f32_avx512}, {Isa::kAvx2, gemm_f32_avx2},
                                             {Isa::kRef, gemm_f32_ref}};
const Candidate<QuantKernel> kQuant[] = {{Isa::kAvx512, quant_avx512}, {Isa::kAvx2, quant_avx2}, {Isa::kRef, quant_ref}};
const Candidate<SoftmaxKernel> kSoftmax[] = {{Isa::kAvx512, softmax_avx512}, {Isa::kAvx2, softmax_avx2},
                                             {Isa::kRef, softmax_ref}};
const Candidate<GemmS4Kernel> kGemmS4[] = {{Isa::kAvx512Vnni, gemm_s4_avx512vnni}, {Isa::kAvx512, gemm_s4_avx512},
                                           {Isa::kAvxVnni, gemm_s4_avxvnni}, {Isa::kAvx2, gemm_s4_avx2},
                                           {Isa::kRef, gemm_s4_ref}};
const Candidate<OptimKernel> kOptim[] = {{Isa::kAvx512, optim_avx512}, {Isa::kAvx2, optim_avx2}, {Isa::kRef, optim_ref}};
#elif defined(__aarch64__)
const Candidate<GemmS8Kernel> kGemmS8[] = {{Isa::kI8mm, gemm_s8_i8mm}, {Isa::kNeonDot, gemm_s8_neondot},
                                           {Isa::kNeon, gemm_s8_neon}, {Isa::kRef, gemm_s8_ref}};
const Candidate<GemmF32Kernel> kGemmF32[] = {{Isa::kNeon, gemm_f32_neon}, {Isa::kRef, gemm_f32_ref}};
const Candidate<QuantKernel> kQuant[] = {{Isa::kNeon, quant_neon}, {Isa::kRef, quant_ref}};
const Candidate<SoftmaxKernel> kSoftmax[] = {{Isa::kNeon, softmax_neon}, {Isa::kRef, softmax_ref}};
const Candidate<GemmS4Kernel> kGemmS4[] = {{Isa::kNeonDot, gemm_s4_neondot}, {Isa::kNeon, gemm_s4_neon},
                                           {Isa::kRef, gemm_s4_ref}};
const Candidate<OptimKernel> kOptim[] = {{Isa::kRef, optim_ref}};  // no NEON kernel yet
#else
const Candidate<GemmS8Kernel> kGemmS8[] = {{Isa::kRef, gemm_s8_ref}};
const Candidate<GemmF32Kernel> kGemmF32[] = {{Isa::kRef, gemm_f32_ref}};
const Candidate<QuantKernel> kQuant[] = {{Isa::kRef, quant_ref}};
const Candidate<SoftmaxKernel> kSoftmax[] = {{Isa::kRef, softmax_ref}};
const Candidate<GemmS4Kernel> kGemmS4[] = {{Isa::kRef, gemm_s4_ref}};
const Candidate<OptimKernel> kOptim[] = {{Isa::kRef, optim_ref}};
#endif

template <typename K, size_t N>
const K* pick(const Candidate<K> (&candidates)[N], Isa cap) {
  for (const auto& c : candidates) {
    if (static_cast<int>(c.isa) <= static_cast<int>(cap) && isa_supported(c.isa)) return &c.get();
  }
  return &candidates[N - 1].get();  // the reference, always last
}

// Same-architecture levels only: on x86 the arm levels (and vice versa) are never supported, so never built.
KernelTable build(Isa cap) {
  return KernelTable{cap, pick(kGemmS8, cap), pick(kGemmF32, cap), pick(kQuant, cap), pick(kSoftmax, cap),
                     pick(kGemmS4, cap), pick(kOptim, cap)};
}

std::array<KernelTable, kIsaCount>& tables() {
  static std::array<KernelTable, kIsaCount> all = [] {
    std::array<KernelTable, kIsaCount> t{};
    for (int i = 0; i < kIsaCount; ++i) t[i] = build(isa_supported(static_cast<Isa>(i)) ? static_cast<Isa>(i) : Isa::kRef);
    return t;
  }();
  return all;
}

std::atomic<int> g_active{-1};
std::once_flag g_init_once;
std::string g_init_error;

void init_from_env() {
  Isa level = best_isa();
  const char* env = std::getenv("DISTIQ_ISA");
  if (env != nullptr && *env != '\0') {
    Isa requested;
    if (!isa_from_name(env, &requested)) {
      g_init_error = std::string("DISTIQ_ISA=\"") + env +
                     "\" is not an ISA level; expected one of ref, avx2, avxvnni, avx512, avx512vnni, amx, neon, neondot, i8mm";
    } else if (!isa_supported(requested)) {
      g_init_error = std::string("DISTIQ_ISA=") + env + " asks for a level this CPU cannot run (best here: " +
                     isa_name(best_isa()) + ")";
    } else {
      level = requested;
    }
  }
  g_active.store(static_cast<int>(level));
}

}  // namespace

const KernelTable& kernels_for(Isa level) noexcept {
  return tables()[static_cast<int>(isa_supported(level) ? level : Isa::kRef)];
}

bool init_dispatch(std::string* error) {
  std::call_once(g_init_once, init_from_env);
  if (!g_init_error.empty()) {
    if (error != nullptr) *error = g_init_error;
    return false;
  }
  return true;
}

const KernelTable& active_kernels() noexcept {
  std::call_once(g_init_once, init_from_env);
  return tables()[g_active.load()];
}

bool set_active_isa(Isa level) noexcept {
  std::call_once(g_init_once, init_from_env);
  if (!isa_supported(level)) return false;
  g_active.store(static_cast<int>(level));
  return true;
}

}  // namespace distiq
