// CPU feature detection, done once. x86: cpuid + xgetbv, so a feature counts only when the OS saves the register
// state it needs (XCR0 bits 1-2 for AVX, 5-7 for AVX-512, 17-18 for AMX tiles). AMX also needs, on Linux, the
// per-process permission to use tile data (arch_prctl ARCH_REQ_XCOMP_PERM): requested here, once per process (the
// dispatch tables are built from these features); if the request fails AMX counts as absent, so no kernel can
// fault on its first tile instruction. arm64 Linux: getauxval(AT_HWCAP / AT_HWCAP2).
#include <string>
#include <vector>

#include "distiq/isa.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define DISTIQ_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define DISTIQ_ARM64 1
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#endif

namespace distiq {
namespace {

#if DISTIQ_X86
bool bit(unsigned v, int b) { return (v >> b) & 1u; }

unsigned long long read_xcr0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

// Linux grants AMX tile data per process on request (the XSAVE area grows by 8 KiB per thread); without the grant
// the first tile instruction raises SIGILL. Other systems: no known way to ask, so AMX is not used.
bool request_amx_permission() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

void detect_x86(CpuFeatures& f) {
  f.x86 = true;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return;
  const unsigned max_leaf = a;
  char vendor[13] = {};
  for (int i = 0; i < 4; ++i) {
    vendor[i] = static_cast<char>(b >> (8 * i));
    vendor[4 + i] = static_cast<char>(d >> (8 * i));
    vendor[8 + i] = static_cast<char>(c >> (8 * i));
  }
  f.vendor = vendor;

  __get_cpuid(1, &a, &b, &c, &d);
  const bool osxsave = bit(c, 27);
  const bool cpu_avx = bit(c, 28), cpu_fma = bit(c, 12), cpu_f16c = bit(c, 29);
  const unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;        // XMM + YMM state
  const bool os_avx512 = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM

  f.avx = cpu_avx && os_avx;
  f.fma = f.avx && cpu_fma;
  f.f16c = f.avx && cpu_f16c;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = f.avx && bit(b, 5);
    f.avx512f = os_avx512 && bit(b, 16);
    f.avx512dq = f.avx512f && bit(b, 17);
    f.avx512bw = f.avx512f && bit(b, 30);
    f.avx512vl = f.avx512f && bit(b, 31);
    f.avx512vnni = f.avx512f && bit(c, 11);
    const bool cpu_amx_tile = bit(d, 24), cpu_amx_int8 = bit(d, 25);
    __cpuid_count(7, 1, a, b, c, d);
    f.avxvnni = f.avx2 && bit(a, 4);
    const bool os_amx = (xcr0 & 0x60000ull) == 0x60000ull;  // XTILECFG (17) + XTILEDATA (18)
    if (cpu_amx_tile && cpu_amx_int8 && os_amx && request_amx_permission()) {
      f.amx_tile = true;
      f.amx_int8 = true;
    }
  }

  __get_cpuid(0x80000000, &a, &b, &c, &d);
  if (a >= 0x80000004) {
    unsigned regs[12];
    for (unsigned i = 0; i < 3; ++i) __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    std::string brand(reinterpret_cast<const char*>(regs), sizeof(regs));
    brand = brand.c_str();
    const auto first = brand.find_first_not_of(' ');
    f.brand = first == std::string::npos ? "" : brand.substr(first);
  }
}
#endif

#if DISTIQ_ARM64
void detect_arm64(CpuFeatures& f) {
  f.arm64 = true;
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  f.neon = (hwcap & HWCAP_ASIMD) != 0;
  f.dotprod = f.neon && (hwcap & HWCAP_ASIMDDP) != 0;
  f.i8mm = f.neon && (hwcap2 & HWCAP2_I8MM) != 0;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if DISTIQ_X86
  detect_x86(f);
#elif DISTIQ_ARM64
  detect_arm64(f);
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() noexcept {
  static const CpuFeatures features = detect();
  return features;
}

bool isa_supported(Isa isa) noexcept {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
  switch (isa) {
    case Isa::kRef: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvxVnni: return avx2 && f.avxvnni;
    // Not cumulative in hardware: Skylake-X has AVX-512 without any VNNI, Ice Lake has AVX-512 VNNI without
    // AVX-VNNI. The table for a cap takes, per op, the best kernel at or below it that this CPU runs.
    case Isa::kAvx512: return avx512;
    case Isa::kAvx512Vnni: return avx512 && f.avx512vnni;
    case Isa::kNeon: return f.neon;
    case Isa::kNeonDot: return f.neon && f.dotprod;
    case Isa::kI8mm: return f.neon && f.dotprod && f.i8mm;
    case Isa::kAmx: return avx512 && f.avx512vnni && f.amx_tile && f.amx_int8;
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (int i = 0; i < kIsaCount; ++i) {
    if (isa_supported(static_cast<Isa>(i))) out.push_back(static_cast<Isa>(i));
  }
  return out;
}

Isa best_isa() noexcept {
  Isa best = Isa::kRef;
  for (int i = 0; i < kIsaCount; ++i) {
    if (isa_supported(static_cast<Isa>(i))) best = static_cast<Isa>(i);
  }
  return best;
}

std::vector<std::string> feature_names() {
  const CpuFeatures& f = cpu_features();
  std::vector<std::string> out;
  const std::pair<bool, const char*> all[] = {
      {f.avx, "avx"},           {f.avx2, "avx2"},         {f.fma, "fma"},         {f.f16c, "f16c"},
      {f.avxvnni, "avxvnni"},   {f.avx512f, "avx512f"},   {f.avx512bw, "avx512bw"}, {f.avx512dq, "avx512dq"},
      {f.avx512vl, "avx512vl"}, {f.avx512vnni, "avx512vnni"}, {f.neon, "neon"},   {f.dotprod, "dotprod"},
      {f.i8mm, "i8mm"},         {f.amx_tile, "amx_tile"}, {f.amx_int8, "amx_int8"}};
  for (const auto& [present, name] : all) {
    if (present) out.emplace_back(name);
  }
  return out;
}

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::kRef: return "ref";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvxVnni: return "avxvnni";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kNeon: return "neon";
    case Isa::kNeonDot: return "neondot";
    case Isa::kI8mm: return "i8mm";
    case Isa::kAmx: return "amx";
  }
  return "unknown";
}

bool isa_from_name(const std::string& name, Isa* out) noexcept {
  for (int i = 0; i < kIsaCount; ++i) {
    if (name == isa_name(static_cast<Isa>(i))) {
      *out = static_cast<Isa>(i);
      return true;
    }
  }
  return false;
}

}  // namespace distiq
