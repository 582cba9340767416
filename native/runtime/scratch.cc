// Per-thread kernel scratch (see distiq/scratch.h).
#include "distiq/scratch.h"

#include <cstdlib>

namespace distiq {
namespace {

constexpr size_t kAlign = 64;

// A plain struct (no std::unique_ptr): freed by the thread_local destructor at thread exit.
struct Buffer {
  uint8_t* data = nullptr;
  size_t capacity = 0;
};
struct Buffers {
  Buffer slot[static_cast<int>(ScratchSlot::kCount)];
  ~Buffers() {
    for (Buffer& b : slot) std::free(b.data);
  }
};

}  // namespace

uint8_t* thread_scratch(ScratchSlot slot, size_t bytes) noexcept {
  thread_local Buffers buffers;
  Buffer& b = buffers.slot[static_cast<int>(slot)];
  if (b.capacity < bytes) {
    std::free(b.data);
    b.data = static_cast<uint8_t*>(std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign));
    b.capacity = b.data != nullptr ? bytes : 0;
  }
  return b.data;
}

}  // namespace distiq
