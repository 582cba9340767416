// bench/peers/peer_common.h — the JSON-lines loop shared by every peer driver (header-only, no SIMD code).
//
// Protocol (see bench/peers/README.md): one flat JSON object per stdin line, one JSON reply per stdout line.
//   {"op":"info"}                         -> {"ok":true, <driver fields>}
//   {"op":"setup","kind":..,"m":..,"n":..,"k":..,"bytes":..,"threads":..}
//                                         -> {"ok":true,"handle":"h1", <case fields: checksum, ops_per_iter, impl..>}
//   {"op":"run","handle":"h1","iters":20} -> {"ok":true,"ns_per_iter":..,"cpu_ns_per_iter":..,"settle_ms":..}
//   {"op":"check","handle":"h1"}          -> {"ok":true,"checksum":..}      (gemm kinds only)
//   {"op":"free","handle":"h1"}           -> {"ok":true}
//   {"op":"quit"}                         -> exits 0
// Any bad request gets {"ok":false,"error":"..."}; the loop never dies on input. A driver provides
// peer_info(Reply&) and peer_make_case(const Request&) and calls run_peer_loop().
#pragma once

#include <dirent.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>  // std::cin
#include <map>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

namespace peer {

// ---- a flat JSON object: string / number / bool values only --------------------------------------------------
struct Request {
  std::map<std::string, std::string> str;
  std::map<std::string, double> num;

  bool has(const std::string& key) const { return str.count(key) != 0 || num.count(key) != 0; }

  std::string get_str(const std::string& key) const {
    auto it = str.find(key);
    if (it == str.end()) throw std::runtime_error("\"" + key + "\" must be a string (missing or wrong type)");
    return it->second;
  }

  // An integer field in [lo, hi]; `def` when absent (def < lo means "required").
  int64_t get_int(const std::string& key, int64_t lo, int64_t hi, int64_t def) const {
    auto it = num.find(key);
    if (it == num.end()) {
      if (str.count(key) != 0) throw std::runtime_error("\"" + key + "\" must be a number, received a string");
      if (def < lo) throw std::runtime_error("\"" + key + "\" is required");
      return def;
    }
    const double v = it->second;
    if (!std::isfinite(v) || v != std::floor(v) || v < static_cast<double>(lo) || v > static_cast<double>(hi)) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "\"%s\" must be an integer in [%lld, %lld], received %.17g", key.c_str(),
                    static_cast<long long>(lo), static_cast<long long>(hi), v);
      throw std::runtime_error(buf);
    }
    return static_cast<int64_t>(v);
  }
};

class Parser {
 public:
  explicit Parser(const std::string& s) : s_(s) {}

  Request parse() {
    Request r;
    skip_ws();
    expect('{');
    skip_ws();
    if (peek() == '}') {
      ++i_;
    } else {
      for (;;) {
        skip_ws();
        std::string key = parse_string();
        skip_ws();
        expect(':');
        skip_ws();
        const char c = peek();
        if (c == '"') {
          r.str[key] = parse_string();
        } else if (c == 't' || c == 'f' || c == 'n') {
          parse_literal(r, key);
        } else {
          r.num[key] = parse_number();
        }
        skip_ws();
        if (peek() == ',') { ++i_; continue; }
        expect('}');
        break;
      }
    }
    skip_ws();
    if (i_ != s_.size()) fail("trailing characters after the object");
    return r;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string("bad JSON request (") + what + ") at offset " + std::to_string(i_));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() { while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_; }
  void expect(char c) { if (peek() != c) fail(c == '{' ? "expected an object" : "unexpected character"); ++i_; }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ >= s_.size()) fail("unterminated escape");
        char e = s_[i_++];
        switch (e) {
          case '"': case '\\': case '/': out += e; break;
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'u': {  // keep ASCII only; others become '?'
            if (i_ + 4 > s_.size()) fail("short \\u escape");
            unsigned v = static_cast<unsigned>(std::strtoul(s_.substr(i_, 4).c_str(), nullptr, 16));
            i_ += 4;
            out += v < 0x80 ? static_cast<char>(v) : '?';
            break;
          }
          default: fail("unknown escape");
        }
      } else {
        out += c;
      }
    }
    expect('"');
    return out;
  }

  double parse_number() {
    const char* begin = s_.c_str() + i_;
    char* end = nullptr;
    double v = std::strtod(begin, &end);
    if (end == begin) fail("expected a value (nested objects/arrays are not accepted)");
    i_ += static_cast<size_t>(end - begin);
    return v;
  }

  void parse_literal(Request& r, const std::string& key) {
    if (s_.compare(i_, 4, "true") == 0) { r.num[key] = 1; i_ += 4; }
    else if (s_.compare(i_, 5, "false") == 0) { r.num[key] = 0; i_ += 5; }
    else if (s_.compare(i_, 4, "null") == 0) { i_ += 4; }
    else fail("bad literal");
  }

  const std::string& s_;
  size_t i_ = 0;
};

// ---- replies ---------------------------------------------------------------------------------------------------
inline std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\n') out += "\\n";
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
    else out += static_cast<char>(c);
  }
  return out;
}

class Reply {
 public:
  Reply& set(const std::string& key, const std::string& v) { fields_.emplace_back(key, "\"" + json_escape(v) + "\""); return *this; }
  Reply& set(const std::string& key, const char* v) { return set(key, std::string(v)); }
  Reply& set_num(const std::string& key, double v) {
    char b[40];
    if (!std::isfinite(v)) std::snprintf(b, sizeof b, "null");
    else if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) std::snprintf(b, sizeof b, "%.0f", v);
    else {  // shortest of %.15g / %.17g that reads back exactly
      std::snprintf(b, sizeof b, "%.15g", v);
      if (std::strtod(b, nullptr) != v) std::snprintf(b, sizeof b, "%.17g", v);
    }
    fields_.emplace_back(key, b);
    return *this;
  }
  std::string str(bool ok) const {
    std::string out = ok ? "{\"ok\":true" : "{\"ok\":false";
    for (const auto& f : fields_) out += ",\"" + json_escape(f.first) + "\":" + f.second;
    return out + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// ---- cases -----------------------------------------------------------------------------------------------------
inline double now_ns() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// CPU time of the whole process (all threads). In a `run` reply, cpu_ns_per_iter ≈ threads × ns_per_iter when the
// driver had its cores to itself; much less means it was descheduled (a loaded machine) during the batch.
inline double process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

class Case {
 public:
  virtual ~Case() = default;
  // One execution of the prepared computation (GEMM kinds); not used by cases that override time_iters().
  virtual void execute() {}
  // ns per iteration over `iters` back-to-back executions, timed with the monotonic clock.
  virtual double time_iters(int64_t iters) {
    const double t0 = now_ns();
    for (int64_t i = 0; i < iters; ++i) execute();
    return (now_ns() - t0) / static_cast<double>(iters);
  }
  // Sum of the output (GEMM kinds); NaN when the case has no output to check.
  virtual double checksum() const { return NAN; }
  // Called once after construction: runs what setup must run (GEMM: one execution, then the checksum).
  virtual void describe(Reply& r) {
    execute();
    const double c = checksum();
    if (!std::isnan(c)) r.set_num("checksum", c);
  }
};

// The deterministic fills of bench/peers/README.md (keep both in sync).
inline uint8_t fill_a_u8(int64_t i, int64_t k) { return static_cast<uint8_t>((i * 7 + k * 3) % 251); }
inline int8_t fill_a_s8(int64_t i, int64_t k) { return static_cast<int8_t>((i * 7 + k * 3) % 251 - 125); }
inline int8_t fill_w_s8(int64_t n, int64_t k) { return static_cast<int8_t>((n * 5 + k * 11) % 255 - 127); }
inline float fill_a_f32(int64_t i, int64_t k) { return static_cast<float>((i * 7 + k * 3) % 17 - 8) / 8.0f; }
inline float fill_w_f32(int64_t n, int64_t k) { return static_cast<float>((n * 5 + k * 11) % 15 - 7) / 8.0f; }

template <typename T>
double sum_of(const T* c, size_t count) {
  if constexpr (std::is_floating_point<T>::value) {
    double s = 0;
    for (size_t i = 0; i < count; ++i) s += static_cast<double>(c[i]);
    return s;
  } else {
    int64_t s = 0;
    for (size_t i = 0; i < count; ++i) s += static_cast<int64_t>(c[i]);
    return static_cast<double>(s);
  }
}

// Shape of a GEMM request, validated: each dim in [1, 65536], each operand at most 2^31 elements.
struct GemmShape {
  int64_t m, n, k;
};

inline GemmShape gemm_shape(const Request& q) {
  GemmShape s{q.get_int("m", 1, 65536, 0), q.get_int("n", 1, 65536, 0), q.get_int("k", 1, 65536, 0)};
  const int64_t limit = int64_t{1} << 31;
  if (s.m * s.k > limit || s.n * s.k > limit || s.m * s.n > limit)
    throw std::runtime_error("gemm operands too large (each of M*K, N*K, M*N must be at most 2^31 elements)");
  return s;
}

inline bool is_gemm_kind(const std::string& kind) {
  return kind == "gemm_u8s8" || kind == "gemm_s8s8" || kind == "gemm_f32";
}

// Worker threads of OpenMP (libgomp spins ~GOMP_SPINCOUNT pauses after a parallel region) and of OpenBLAS
// (busy-waits up to 2^28 cycles after a call) keep burning a core after the timed batch. In an interleaved bench
// that steals CPU from the next measurement of the OTHER library. So `run` replies only once every thread but the
// main one has gone idle: on-CPU time from /proc/self/task/*/schedstat grows by < 10 % of a core over two
// consecutive 1 ms windows (at most `max_ms`). Returns the ms waited (reported as "settle_ms").
inline double other_threads_cpu_ns() {
  const long self = syscall(SYS_gettid);
  double total = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.' || std::atol(e->d_name) == self) continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/schedstat");
    double ns = 0;
    if (f >> ns) total += ns;
  }
  closedir(dir);
  return total;
}

inline double settle_threads(double max_ms = 300) {
  const double t0 = now_ns();
  double prev = other_threads_cpu_ns();
  if (prev < 0) return 0;
  int quiet = 0;
  while (quiet < 2 && now_ns() - t0 < max_ms * 1e6) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const double cur = other_threads_cpu_ns();
    quiet = cur - prev < 0.1e6 ? quiet + 1 : 0;
    prev = cur;
  }
  return (now_ns() - t0) / 1e6;
}

// Provided by each driver.
void peer_info(Reply& r);
std::unique_ptr<Case> peer_make_case(const Request& q, const std::string& kind, int threads);

inline int run_peer_loop() {
  // Replies go to a private copy of stdout; fd 1 itself is pointed at stderr, so anything a library prints
  // (ONEDNN_VERBOSE, OpenBLAS warnings) cannot corrupt the protocol.
  const int proto_fd = dup(1);
  FILE* proto = proto_fd >= 0 ? fdopen(proto_fd, "w") : nullptr;
  if (proto == nullptr || dup2(2, 1) < 0) {
    std::fprintf(stderr, "peer: cannot set up the reply channel\n");
    return 2;
  }
  std::map<std::string, std::unique_ptr<Case>> cases;
  uint64_t next_id = 1;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Reply r;
    bool ok = true;
    try {
      Request q = Parser(line).parse();
      const std::string op = q.get_str("op");
      if (op == "quit") {
        std::fclose(proto);
        return 0;
      } else if (op == "info") {
        peer_info(r);
      } else if (op == "setup") {
        const std::string kind = q.get_str("kind");
        const int threads = static_cast<int>(q.get_int("threads", 1, 256, 1));
        std::unique_ptr<Case> c = peer_make_case(q, kind, threads);
        const std::string handle = "h" + std::to_string(next_id++);
        r.set("handle", handle);
        c->describe(r);
        cases[handle] = std::move(c);
      } else if (op == "run" || op == "check" || op == "free") {
        const std::string handle = q.get_str("handle");
        auto it = cases.find(handle);
        if (it == cases.end()) throw std::runtime_error("unknown handle \"" + handle + "\"");
        if (op == "run") {
          const int64_t iters = q.get_int("iters", 1, int64_t{1} << 40, 0);
          const double cpu0 = process_cpu_ns();
          r.set_num("ns_per_iter", it->second->time_iters(iters));
          r.set_num("cpu_ns_per_iter", (process_cpu_ns() - cpu0) / static_cast<double>(iters));
          r.set_num("settle_ms", settle_threads());
        } else if (op == "check") {
          const double c = it->second->checksum();
          if (std::isnan(c)) throw std::runtime_error("handle \"" + handle + "\" has no output to check");
          r.set_num("checksum", c);
        } else {
          cases.erase(it);
        }
      } else {
        throw std::runtime_error("unknown op \"" + op + "\" (expected info, setup, run, check, free or quit)");
      }
    } catch (const std::bad_alloc&) {
      ok = false;
      r = Reply();
      r.set("error", "out of memory");
    } catch (const std::exception& e) {
      ok = false;
      r = Reply();
      r.set("error", e.what());
    }
    const std::string out = r.str(ok) + "\n";
    std::fwrite(out.data(), 1, out.size(), proto);
    std::fflush(proto);
  }
  return 0;  // stdin closed: same as quit
}

}  // namespace peer
