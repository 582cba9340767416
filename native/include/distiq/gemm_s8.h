// int8 GEMM: C[m,n] = Σ_k (A[m,k] − z_a)·(W[n,k] − z_w), exact in int32, with fused epilogues.
//
// A is uint8 or int8, row-major [M,K] with row stride lda (elements). W is int8 [N,K] (a Linear weight: output
// channel = row), packed once by pack_weights_s8() into the layout of one ISA kernel, together with the row sums
// Σ_k W[n,k] needed for the zero-point correction
//   Σ(a−z_a)(w−z_w) = Σ a·w − z_w·Σ_k a − z_a·Σ_k w + K·z_a·z_w.
// All integer arithmetic is modulo 2^32 (computed on uint32 to avoid UB), so every path gives the same bits; the
// result equals the mathematical value whenever that value fits in int32, which holds for any data with
// z_a = z_w = 0 and K ≤ kGemmS8MaxK (255·128·65536 < 2^31). K beyond kGemmS8MaxK is rejected (kLimitExceeded).
//
// Epilogues (per output element, identical expression on every path, so float outputs are bit-exact too):
//   kS32: c = acc
//   kF32: y = fmaf((float)acc, a_scale * w_scale[j], bias ? bias[j] : 0.0f); if relu: y = max(y, 0)
//   kU8 / kS8 (requantized): v = nearbyintf(y / out_scale) + (float)out_zp, clamped to [0,255] / [−128,127]
// where w_scale[j] is w_scale[0] when w_scale_count == 1 (per-tensor) and w_scale[j] otherwise (per-channel), and
// nearbyintf rounds half to even. The product a_scale * w_scale[j] is a plain float multiply (no FMA).
#pragma once

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq {

constexpr int64_t kGemmS8MaxK = 65536;

enum class GemmOut : int32_t { kS32 = 0, kF32 = 1, kU8 = 2, kS8 = 3 };

// A view of packed weights. The bytes are owned by the caller (the addon's PackedWeights object).
struct PackedS8 {
  int64_t n = 0, k = 0;
  Isa layout = Isa::kRef;           // the kernel whose layout `panels` uses
  const int32_t* row_sums = nullptr;  // [n]: Σ_k W[n,k]
  const uint8_t* panels = nullptr;    // kernel-private layout, packed_bytes(n, k) bytes
};

struct GemmS8Args {
  int64_t m = 0;
  const void* a = nullptr;  // uint8_t or int8_t, [m, k] with row stride lda
  int64_t lda = 0;
  bool a_signed = false;
  int32_t za = 0;
  const PackedS8* w = nullptr;
  int32_t zw = 0;
  GemmOut out = GemmOut::kS32;
  void* c = nullptr;  // int32_t / float / uint8_t / int8_t, [m, n] with row stride ldc
  int64_t ldc = 0;
  // kF32 / kU8 / kS8 epilogue
  float a_scale = 1.0f;
  const float* w_scale = nullptr;  // length w_scale_count (1 or n)
  int64_t w_scale_count = 1;
  const float* bias = nullptr;  // length n, or null
  bool relu = false;
  float out_scale = 1.0f;  // kU8 / kS8 only
  int32_t out_zp = 0;
};

// One ISA's int8 GEMM. `tile` computes C[m0:m1, n0:n1] completely (all of K, epilogue included) and must give the
// same bits for an element whatever tile it is computed in; the driver only cuts at multiples of m_step / n_step.
struct GemmS8Kernel {
  Isa isa;
  const char* name_u8s8;  // e.g. "gemm_u8s8s32_avx512vnni"
  const char* name_s8s8;  // e.g. "gemm_s8s8s32_avx512vnni"
  int64_t m_step, n_step;
  size_t (*packed_bytes)(int64_t n, int64_t k);
  // Packs W [n, k] (row stride ldw) into dst (packed_bytes(n, k) bytes, any alignment).
  void (*pack)(const int8_t* w, int64_t ldw, int64_t n, int64_t k, uint8_t* dst);
  void (*tile)(const GemmS8Args& args, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  // Split rows before columns across threads when there are enough rows (each tile() call re-stages its A rows,
  // so a column split would stage all of A once per task).
  bool split_rows_first = false;
};

// Per-ISA kernels (defined in native/ref and native/kernels/gemm_s8/gemm_s8_<isa>.cc).
const GemmS8Kernel& gemm_s8_ref() noexcept;
const GemmS8Kernel& gemm_s8_avx2() noexcept;
const GemmS8Kernel& gemm_s8_avxvnni() noexcept;
const GemmS8Kernel& gemm_s8_avx512() noexcept;
const GemmS8Kernel& gemm_s8_avx512vnni() noexcept;
const GemmS8Kernel& gemm_s8_amx() noexcept;  // x86: AMX-INT8 tiles (gemm_s8_amx.cc)
const GemmS8Kernel& gemm_s8_neon() noexcept;
const GemmS8Kernel& gemm_s8_neondot() noexcept;
const GemmS8Kernel& gemm_s8_i8mm() noexcept;

// Row sums Σ_k W[n,k] of unpacked weights (what PackedS8::row_sums holds).
void weight_row_sums_s8(const int8_t* w, int64_t ldw, int64_t n, int64_t k, int32_t* sums) noexcept;

// Driver: checks the arguments it can (K limit, layout vs kernel), then runs kernel.tile over the thread pool.
// The caller packs with the same kernel it computes with; a PackedS8 whose layout differs is kLayoutMismatch.
Status gemm_s8(const GemmS8Kernel& kernel, const GemmS8Args& args) noexcept;

}  // namespace distiq
