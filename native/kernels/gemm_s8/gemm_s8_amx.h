// gemm_s8_amx.h: test hooks of the AMX int8 GEMM (gemm_s8_amx.cc); the kernel itself is gemm_s8_amx() in
// distiq/gemm_s8.h. Declarations only (ISA hygiene: nothing here is compiled with AMX flags in another file).
#pragma once

namespace distiq {

// Which path later gemm_s8_amx() calls take, so the C++ tests can check each against the reference
// (process-wide; tests switch back to kAuto):
//   kAuto       the kernel's own choice;
//   kTilesOnly  never the vpdpbusd path for small tiles (so small shapes exercise the tiles);
//   kSliced     the path used when the staging scratch cannot be allocated (A copied in zero-padded stack slices
//               of 256 k per micro-tile, C tiles carried between slices); implies kTilesOnly.
enum class AmxTestPath : int { kAuto = 0, kTilesOnly = 1, kSliced = 2 };
void gemm_s8_amx_set_test_path(AmxTestPath path) noexcept;

}  // namespace distiq
