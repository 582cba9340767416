// gemm_s8_amx.h: test hooks of the AMX int8 GEMM (gemm_s8_amx.cc); the kernel itself is gemm_s8_amx() in
// distiq/gemm_s8.h. Declarations only (ISA hygiene: nothing here is compiled with AMX flags in another file).
#pragma once

namespace distiq {

// Makes every later gemm_s8_amx() call take the path it uses when its per-thread staging scratch cannot be
// allocated (A copied in zero-padded stack slices of 256 k per micro-tile, C tiles carried between slices), so
// the C++ tests can check that path against the reference. Process-wide; tests switch it back off.
void gemm_s8_amx_force_sliced_for_test(bool on) noexcept;

}  // namespace distiq
