#include "drivers/sim/packet_pool.h"

namespace camp::sim {

PacketPool::PacketPool(uint32_t count, uint16_t buffer_size)
    : count_(count), buffer_size_(buffer_size),
      storage_(static_cast<size_t>(count) * buffer_size) {
  free_.reserve(count);
  // Highest index at the bottom so buffer 0 goes out first (traces read more easily).
  for (uint32_t i = count; i > 0; --i) free_.push_back(i - 1);
}

}  // namespace camp::sim
