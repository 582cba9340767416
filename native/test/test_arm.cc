// ARM-specific kernel cases (compiled on aarch64 only; run under qemu by scripts/test-arm64.sh). The shared
// family tests cover the general contract; these target the AArch64 kernels' own edges, relative to their tiles:
// K around the 16-byte NEON chunk (and the 4/8-byte dotprod/i8mm groups), M/N around the 4×4 (neon) and 8×8
// (neondot, i8mm) micro-tiles, u8 activations ≥ 128 in every lane (the XOR-0x80 path of neon/neondot), the
// −128·−128 products the armv8.0 kernel must not overflow, and K at the limit with extreme values.
#if defined(__aarch64__)

#include <cstring>
#include <vector>

#include "distiq/kernels.h"
#include "harness.h"

namespace {

using distiq::GemmOut;
using distiq::GemmS8Args;
using distiq::GemmS8Kernel;
using distiq::Isa;
using distiq::PackedS8;

std::vector<Isa> arm_levels() {
  std::vector<Isa> out;
  for (Isa level : distiq::supported_isas()) {
    if (level != Isa::kRef) out.push_back(level);
  }
  return out;
}

struct Packed {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> sums;
  PackedS8 view;
};

Packed pack(const GemmS8Kernel& kernel, const std::vector<int8_t>& w, int64_t n, int64_t k) {
  Packed p;
  p.bytes.assign(kernel.packed_bytes(n, k) + 1, 0xEE);  // +1: never empty, so data() is valid
  kernel.pack(w.data(), k, n, k, p.bytes.data());
  p.sums.assign(static_cast<size_t>(n) + 1, 0);
  distiq::weight_row_sums_s8(w.data(), k, n, k, p.sums.data());
  p.view.n = n;
  p.view.k = k;
  p.view.layout = kernel.isa;
  p.view.row_sums = p.sums.data();
  p.view.panels = p.bytes.data();
  return p;
}

size_t out_size(GemmOut out) { return out == GemmOut::kS32 || out == GemmOut::kF32 ? 4 : 1; }

// Runs `kernel` and the ref on the same problem (A with row stride lda = k + pad, C with ldc = n + 3 and
// sentinel bytes around it) and compares every output byte, including the untouched gaps.
void compare(const GemmS8Kernel& kernel, const std::vector<uint8_t>& a, bool a_signed, int64_t m, int64_t lda,
             const std::vector<int8_t>& w, int64_t n, int64_t k, int32_t za, int32_t zw, GemmOut out,
             const std::vector<float>& w_scale, const float* bias, bool relu, const char* what) {
  const Packed got_w = pack(kernel, w, n, k);
  const Packed ref_w = pack(distiq::gemm_s8_ref(), w, n, k);
  const int64_t ldc = n + 3;
  const size_t esz = out_size(out);
  const size_t c_bytes = static_cast<size_t>(m * ldc) * esz;
  std::vector<uint8_t> got(c_bytes + 64, 0x5A), ref(c_bytes + 64, 0x5A);
  GemmS8Args args;
  args.m = m;
  args.a = a.data();
  args.lda = lda;
  args.a_signed = a_signed;
  args.za = za;
  args.zw = zw;
  args.out = out;
  args.ldc = ldc;
  args.a_scale = 0.0123f;
  args.w_scale = w_scale.data();
  args.w_scale_count = static_cast<int64_t>(w_scale.size());
  args.bias = bias;
  args.relu = relu;
  args.out_scale = 0.37f;
  args.out_zp = a_signed ? -3 : 17;
  args.w = &got_w.view;
  args.c = got.data() + 32;
  const auto st1 = distiq::gemm_s8(kernel, args);
  args.w = &ref_w.view;
  args.c = ref.data() + 32;
  const auto st2 = distiq::gemm_s8(distiq::gemm_s8_ref(), args);
  DQ_CHECK(st1 == distiq::Status::kOk && st2 == distiq::Status::kOk, what << ": status");
  size_t first = got.size();
  for (size_t b = 0; b < got.size() && first == got.size(); ++b) {
    if (got[b] != ref[b]) first = b;
  }
  DQ_CHECK(first == got.size(), kernel.name_u8s8 << " " << what << " a_signed=" << a_signed << " m=" << m << " n="
                                                 << n << " k=" << k << " za=" << za << " zw=" << zw << " out="
                                                 << static_cast<int>(out) << " first differing byte " << first);
}

std::vector<uint8_t> random_a(dqtest::Rng& rng, int64_t m, int64_t lda, int lo, int hi) {
  std::vector<uint8_t> a(static_cast<size_t>(m * lda) + 1);
  for (auto& v : a) v = static_cast<uint8_t>(rng.uniform_int(lo, hi));
  return a;
}

std::vector<int8_t> random_w(dqtest::Rng& rng, int64_t n, int64_t k) {
  std::vector<int8_t> w(static_cast<size_t>(n * k) + 1);
  for (auto& v : w) v = static_cast<int8_t>(rng.uniform_int(-128, 127));
  return w;
}

DQ_TEST("arm gemm_s8: K around 4/8/16-byte chunks, M/N around 4x4 and 8x8 tiles, every epilogue") {
  dqtest::Rng rng(101);
  const int64_t ks[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65};
  const int64_t mns[][2] = {{1, 1}, {1, 8}, {3, 5}, {4, 4}, {5, 3}, {7, 9}, {8, 8}, {9, 7}, {13, 17}, {16, 16}};
  for (Isa level : arm_levels()) {
    const GemmS8Kernel& kernel = *distiq::kernels_for(level).gemm_s8;
    for (int64_t k : ks) {
      for (const auto& mn : mns) {
        const int64_t m = mn[0], n = mn[1], lda = k + 5;
        for (int s = 0; s < 2; ++s) {
          const bool a_signed = s == 1;
          const auto a = random_a(rng, m, lda, 0, 255);
          const auto w = random_w(rng, n, k);
          std::vector<float> scales(static_cast<size_t>(n));
          std::vector<float> bias(static_cast<size_t>(n));
          for (auto& v : scales) v = rng.uniform(0.001f, 0.05f);
          for (auto& v : bias) v = rng.uniform(-20.0f, 20.0f);
          const int32_t za = a_signed ? rng.uniform_int(-128, 127) : rng.uniform_int(0, 255);
          const int32_t zw = (k % 2 == 0) ? 0 : rng.uniform_int(-128, 127);
          const GemmOut outs[] = {GemmOut::kS32, GemmOut::kF32, GemmOut::kU8, GemmOut::kS8};
          for (GemmOut out : outs) {
            compare(kernel, a, a_signed, m, lda, w, n, k, za, zw, out, scales, bias.data(), out == GemmOut::kU8,
                    "tiles");
          }
          compare(kernel, a, a_signed, m, lda, w, n, k, za, zw, GemmOut::kF32, {0.5f}, nullptr, true,
                  "per-tensor scale, no bias");
        }
      }
    }
  }
}

DQ_TEST("arm gemm_s8: u8 >= 128 in every lane (XOR path), W = -128, int8 A = -128, max K") {
  dqtest::Rng rng(202);
  for (Isa level : arm_levels()) {
    const GemmS8Kernel& kernel = *distiq::kernels_for(level).gemm_s8;
    for (int64_t k : {int64_t{17}, int64_t{4099}, distiq::kGemmS8MaxK}) {
      const int64_t m = 3, n = 9;
      // u8 A in [128, 255]: every byte has its top bit set, the lanes the XOR-0x80 trick changes the most.
      const auto a_hi = random_a(rng, m, k, 128, 255);
      std::vector<uint8_t> a_255(static_cast<size_t>(m * k), 255);
      std::vector<uint8_t> a_m128(static_cast<size_t>(m * k), 0x80);  // int8 −128 everywhere
      std::vector<int8_t> w_m128(static_cast<size_t>(n * k), -128);
      std::vector<int8_t> w_p127(static_cast<size_t>(n * k), 127);
      const std::vector<float> scale = {1.0f};
      compare(kernel, a_hi, false, m, k, w_m128, n, k, 0, 0, GemmOut::kS32, scale, nullptr, false, "u8>=128 x -128");
      compare(kernel, a_255, false, m, k, w_m128, n, k, 0, 0, GemmOut::kS32, scale, nullptr, false, "255 x -128");
      compare(kernel, a_255, false, m, k, w_p127, n, k, 0, 0, GemmOut::kS32, scale, nullptr, false, "255 x 127");
      compare(kernel, a_m128, true, m, k, w_m128, n, k, 0, 0, GemmOut::kS32, scale, nullptr, false, "-128 x -128");
      compare(kernel, a_hi, false, m, k, w_m128, n, k, 255, -128, GemmOut::kS32, scale, nullptr, false,
              "zero points at the ends (wraps mod 2^32)");
    }
  }
}

}  // namespace

#endif  // __aarch64__
