// Instruction-set levels, CPU feature detection and the DISTIQ_ISA cap.
//
// Levels are ordered within an architecture: each implies the ones before it. Ops pick their most capable kernel
// not above the active level (a table per level, see kernels.h / cpu/dispatch.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace distiq {

enum class Isa : int32_t {
  kRef = 0,
  // x86-64
  kAvx2 = 1,        // AVX2 + FMA + F16C
  kAvxVnni = 2,     // + AVX-VNNI (vpdpbusd on ymm, VEX encoded)
  kAvx512 = 3,      // + AVX-512 F/BW/DQ/VL
  kAvx512Vnni = 4,  // + AVX-512 VNNI
  // arm64
  kNeon = 5,     // AArch64 Advanced SIMD (baseline)
  kNeonDot = 6,  // + dotprod (sdot/udot), ARMv8.2
  kI8mm = 7,     // + i8mm (smmla/usdot), ARMv8.6
  // x86-64, above kAvx512Vnni (numbered after the arm levels so existing values keep their meaning; levels are
  // compared only within one architecture)
  kAmx = 8,  // + AMX-TILE + AMX-INT8 (tile data permission granted by the OS, arch_prctl on Linux)
};

constexpr int kIsaCount = 9;

const char* isa_name(Isa isa) noexcept;
// Parses "ref", "avx2", ...; returns false for an unknown name.
bool isa_from_name(const std::string& name, Isa* out) noexcept;

// What the running CPU (and OS) supports. Filled once by detect_cpu().
struct CpuFeatures {
  bool x86 = false, arm64 = false;
  // x86 (each true only when the OS saves the matching register state, per XCR0)
  bool avx = false, avx2 = false, fma = false, f16c = false, avxvnni = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512vnni = false;
  // AMX: CPU support, XCR0 bits 17-18 (XTILECFG, XTILEDATA) and, on Linux, the per-process permission to use tile
  // data (requested once, at detection); false when any of the three is missing
  bool amx_tile = false, amx_int8 = false;
  // arm64
  bool neon = false, dotprod = false, i8mm = false;
  std::string vendor, brand;  // x86 cpuid strings; empty elsewhere
};

const CpuFeatures& cpu_features() noexcept;

// The ISA levels this CPU can run, in increasing order (always starts with kRef).
std::vector<Isa> supported_isas();
// The most capable supported level.
Isa best_isa() noexcept;
bool isa_supported(Isa isa) noexcept;
// Names of the features that are present, e.g. {"avx2","fma","avx512vnni"}.
std::vector<std::string> feature_names();

}  // namespace distiq
