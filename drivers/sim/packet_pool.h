// Packet buffers for the simulator: a fixed number of equal-sized buffers allocated once, handed
// out by index from a free stack. Running out is not an error here; the caller counts it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace camp::sim {

inline constexpr uint32_t kNoPacket = UINT32_MAX;

class PacketPool {
 public:
  PacketPool(uint32_t count, uint16_t buffer_size);

  // A free buffer's index, or kNoPacket when all are in use.
  uint32_t alloc() {
    if (free_.empty()) return kNoPacket;
    uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  void release(uint32_t i) { free_.push_back(i); }  // capacity reserved: never reallocates

  uint8_t* data(uint32_t i) { return &storage_[static_cast<size_t>(i) * buffer_size_]; }
  uint16_t buffer_size() const { return buffer_size_; }
  uint32_t count() const { return count_; }
  uint32_t available() const { return static_cast<uint32_t>(free_.size()); }

 private:
  uint32_t count_;
  uint16_t buffer_size_;
  std::vector<uint8_t> storage_;
  std::vector<uint32_t> free_;
};

}  // namespace camp::sim
