// The test runner (see harness.h). Prints the CPU, the kernel chosen per op at every level this CPU runs (so a
// qemu run shows which paths were exercised), then each test, then "<N> passed, <M> failed".
#include "harness.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "distiq/kernels.h"
#include "distiq/threadpool.h"

namespace dqtest {
namespace {
int g_failures_in_case = 0;
constexpr int kMaxReportsPerCase = 8;
}  // namespace

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

void fail(const char* file, int line, const std::string& message) {
  if (++g_failures_in_case <= kMaxReportsPerCase) std::printf("    %s:%d: %s\n", file, line, message.c_str());
}

uint64_t base_seed() {
  const char* env = std::getenv("DISTIQ_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20261129ull;
}

Rng::Rng(uint64_t seed) {
  uint64_t z = seed ^ base_seed();
  for (auto& s : s_) {  // splitmix64 to fill the state
    z += 0x9E3779B97F4A7C15ull;
    uint64_t x = z;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    s = static_cast<uint32_t>(x ^ (x >> 31));
  }
}

uint32_t Rng::next() {
  const uint32_t result = ((s_[1] * 5) << 7 | (s_[1] * 5) >> 25) * 9;
  const uint32_t t = s_[1] << 9;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = (s_[3] << 11) | (s_[3] >> 21);
  return result;
}

int32_t Rng::uniform_int(int32_t lo, int32_t hi) {
  const uint64_t span = static_cast<uint64_t>(static_cast<int64_t>(hi) - lo) + 1;
  return static_cast<int32_t>(lo + static_cast<int64_t>(next() % span));
}

float Rng::uniform(float lo, float hi) { return lo + (hi - lo) * (static_cast<float>(next() >> 8) * (1.0f / 16777216.0f)); }

float Rng::normal() {
  const float u1 = (static_cast<float>(next() >> 8) + 0.5f) * (1.0f / 16777216.0f);
  const float u2 = static_cast<float>(next() >> 8) * (1.0f / 16777216.0f);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
}

int run(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : "";
  std::string error;
  if (!distiq::init_dispatch(&error)) {
    std::printf("DISTIQ_ISA error: %s\n", error.c_str());
    return 2;
  }
  const auto& f = distiq::cpu_features();
  std::printf("cpu: %s  features:", f.brand.empty() ? "(unknown)" : f.brand.c_str());
  for (const auto& name : distiq::feature_names()) std::printf(" %s", name.c_str());
  std::printf("\nthreads: %d  seed: %llu\n", distiq::get_num_threads(), static_cast<unsigned long long>(base_seed()));
  for (distiq::Isa level : distiq::supported_isas()) {
    const auto& t = distiq::kernels_for(level);
    std::printf("level %-10s gemm_s8=%s gemm_f32=%s quant=%s softmax=%s\n", distiq::isa_name(level),
                t.gemm_s8->name_u8s8, t.gemm_f32->name, t.quant->name_quantize, t.softmax->name_softmax_kl);
  }
  int passed = 0, failed = 0;
  for (const auto& c : registry()) {
    if (std::strstr(c.name.c_str(), filter) == nullptr) continue;
    g_failures_in_case = 0;
    c.fn();
    if (g_failures_in_case == 0) {
      ++passed;
      std::printf("ok   %s\n", c.name.c_str());
    } else {
      ++failed;
      std::printf("FAIL %s (%d failed checks)\n", c.name.c_str(), g_failures_in_case);
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace dqtest

int main(int argc, char** argv) { return dqtest::run(argc, argv); }
