// Human-readable names for Status values (the addon adds the argument-specific message).
#include "distiq/types.h"

namespace distiq {

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kLimitExceeded: return "limit exceeded";
    case Status::kNonFinite: return "non-finite value";
    case Status::kLayoutMismatch: return "layout mismatch";
    case Status::kOutOfMemory: return "out of memory";
  }
  return "unknown status";
}

}  // namespace distiq
