// A bounded FIFO of DATAGRAM payloads (RFC 9221) with its memory taken up front: `slots` buffers
// of `max_size` bytes each, so queueing and taking a datagram never allocates and a peer (or the
// application) cannot make it grow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace camp::quic {

class DatagramRing {
 public:
  struct Entry {
    uint64_t id = 0;
    std::vector<uint8_t> data;  // capacity reserved at init(); assign() stays within it
  };

  void init(size_t slots, size_t max_size) {
    entries_.assign(slots, Entry{});
    for (Entry& e : entries_) e.data.reserve(max_size);
    max_size_ = max_size;
    head_ = size_ = 0;
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  bool full() const { return size_ == entries_.size(); }
  // False when full or larger than max_size.
  bool push(std::span<const uint8_t> d, uint64_t id = 0) {
    if (full() || d.size() > max_size_) return false;
    Entry& e = entries_[(head_ + size_) % entries_.size()];
    e.id = id;
    e.data.assign(d.begin(), d.end());
    ++size_;
    return true;
  }
  const Entry& front() const { return entries_[head_]; }
  void pop() {
    head_ = (head_ + 1) % entries_.size();
    --size_;
  }

 private:
  std::vector<Entry> entries_;
  size_t max_size_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace camp::quic
