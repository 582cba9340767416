// A minimal C++ test harness (no external framework, so the same binary cross-builds for aarch64 and runs under
// qemu). Tests register with DQ_TEST(name); checks record failures with file:line and a message and keep going.
//   distiq_tests [filter]       runs tests whose name contains `filter`
// The last line printed is "<N> passed, <M> failed" (counted per test case).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace dqtest {

struct Case {
  std::string name;
  std::function<void()> fn;
};
std::vector<Case>& registry();
void fail(const char* file, int line, const std::string& message);
int run(int argc, char** argv);

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

// Deterministic generator (xoshiro128**), seeded per test so failures reproduce. Seed from DISTIQ_SEED if set.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint32_t next();
  int32_t uniform_int(int32_t lo, int32_t hi);  // inclusive
  float uniform(float lo, float hi);
  float normal();

 private:
  uint32_t s_[4];
};
uint64_t base_seed();

}  // namespace dqtest

#define DQ_CONCAT2(a, b) a##b
#define DQ_CONCAT(a, b) DQ_CONCAT2(a, b)
#define DQ_TEST(name)                                                                  \
  static void DQ_CONCAT(dq_test_fn_, __LINE__)();                                      \
  static ::dqtest::Registrar DQ_CONCAT(dq_test_reg_, __LINE__)(name, DQ_CONCAT(dq_test_fn_, __LINE__)); \
  static void DQ_CONCAT(dq_test_fn_, __LINE__)()

#define DQ_CHECK(cond, msg)                                      \
  do {                                                           \
    if (!(cond)) {                                               \
      std::ostringstream dq_os_;                                 \
      dq_os_ << "check failed: " #cond " — " << msg;             \
      ::dqtest::fail(__FILE__, __LINE__, dq_os_.str());          \
    }                                                            \
  } while (0)
