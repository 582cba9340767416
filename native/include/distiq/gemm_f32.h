// fp32 GEMM: C = α·op(A)·op(B) + β·C, op(X) = X or Xᵀ, row-major, with leading dimensions.
//
// op(A) is [m, k], op(B) is [k, n]; A is stored [m, lda] (trans_a = false) or [k, lda] (trans_a = true), B likewise.
// Every path computes each element with the same expression, so all ISAs give the same bits:
//   acc = 0; for p in 0..k-1 (increasing): acc = fmaf(op(A)[i,p], op(B)[p,j], acc)
//   r = alpha * acc;  if (beta != 0) r = fmaf(beta, C[i,j], r);  C[i,j] = r
// (One exception: when two NaNs with different payloads meet in one operation, which payload survives depends on
// the instruction's operand order, so NaN results agree in position but not necessarily in payload/sign bits.)
// β = 0 means C is not read (NaN/Inf in C is ignored, the BLAS convention). No split-K: the driver only splits
// M and N, at multiples of the kernel's m_step / n_step, so results do not depend on the thread count.
#pragma once

#include "distiq/isa.h"
#include "distiq/types.h"

namespace distiq {

struct GemmF32Args {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float beta = 0.0f;
  float* c = nullptr;
  int64_t ldc = 0;
  // Prepacked B (gemm_f32_pack_b): when > 0, `b` holds op(B) packed for a kernel whose pack_nr equals b_panel
  // (trans_b must be false, ldb is not used). 0: `b` is the user's B as described above.
  int64_t b_panel = 0;
};

struct GemmF32Kernel {
  Isa isa;
  const char* name;  // e.g. "gemm_f32_avx512"
  int64_t m_step, n_step;
  void (*tile)(const GemmF32Args& args, int64_t m0, int64_t m1, int64_t n0, int64_t n1);
  // The layout gemm_f32_pack_b produces for this kernel: > 0: ⌈n/pack_nr⌉ strips of k × pack_nr floats, k-major
  // (strip s, row p, lane c holds op(B)[p, s·pack_nr + c]; lanes past n are 0), taken with b_panel = pack_nr;
  // 0: op(B) as a plain row-major [k, n] matrix, taken as an ordinary B (trans_b = false, ldb = n).
  int64_t pack_nr = 0;
};

// Prepacked B: op(B) [k, n] packed once for `kernel`, multiplied many times. Floats gemm_f32_pack_b writes
// (0 when k·n = 0).
size_t gemm_f32_packed_floats(const GemmF32Kernel& kernel, int64_t k, int64_t n) noexcept;
// Packs op(B) (B stored [k, ldb], or [n, ldb] when trans_b) into dst (gemm_f32_packed_floats floats). The values
// are copied unchanged, so a product with the packed B has the same bits as with B itself.
Status gemm_f32_pack_b(const GemmF32Kernel& kernel, bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb,
                       float* dst) noexcept;
// The arguments of a product with a packed B: g with b/ldb/trans_b/b_panel set for packed (kernel's layout).
void gemm_f32_use_packed(const GemmF32Kernel& kernel, const float* packed, GemmF32Args* g) noexcept;

const GemmF32Kernel& gemm_f32_ref() noexcept;
const GemmF32Kernel& gemm_f32_avx2() noexcept;
const GemmF32Kernel& gemm_f32_avx512() noexcept;
const GemmF32Kernel& gemm_f32_neon() noexcept;

Status gemm_f32(const GemmF32Kernel& kernel, const GemmF32Args& args) noexcept;

}  // namespace distiq
