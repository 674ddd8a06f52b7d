// A bounded FIFO of DATAGRAM payloads (RFC 9221) with its memory taken up front: `slots` buffers
// of `max_size` bytes each, so queueing and taking a datagram never allocates and a peer (or the
// application) cannot make it grow. Each carries its SendMeta: a datagram pinned to a path is
// taken only for a packet on that path, and the others pass it in FIFO order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "dataplane/quic/stream/send_meta.h"

namespace camp::quic {

class DatagramRing {
 public:
  struct Entry {
    uint64_t id = 0;
    SendMeta meta;
    std::vector<uint8_t> data;  // capacity reserved at init(); assign() stays within it
  };

  void init(size_t slots, size_t max_size) {
    entries_.assign(slots, Entry{});
    for (Entry& e : entries_) e.data.reserve(max_size);
    max_size_ = max_size;
    head_ = size_ = unpinned_ = 0;
  }
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  bool full() const { return size_ == entries_.size(); }
  // False when full or larger than max_size.
  bool push(std::span<const uint8_t> d, uint64_t id = 0, const SendMeta& meta = {}) {
    if (full() || d.size() > max_size_) return false;
    Entry& e = entries_[(head_ + size_) % entries_.size()];
    e.id = id;
    e.meta = meta;
    e.data.assign(d.begin(), d.end());
    ++size_;
    if (meta.path_id == kAnyPath) ++unpinned_;
    return true;
  }
  const Entry& front() const { return entries_[head_]; }
  void pop() {
    if (entries_[head_].meta.path_id == kAnyPath) --unpinned_;
    head_ = (head_ + 1) % entries_.size();
    --size_;
  }
  // The k-th entry from the front (k < size()).
  const Entry& at(size_t k) const { return entries_[(head_ + k) % entries_.size()]; }
  // The position of the oldest entry a packet on `path_id` may carry (unpinned or pinned to
  // it), or size() when none. O(1) while the front qualifies.
  size_t first_for(uint32_t path_id) const {
    for (size_t k = 0; k < size_; ++k) {
      const uint32_t p = at(k).meta.path_id;
      if (p == kAnyPath || p == path_id) return k;
    }
    return size_;
  }
  bool has_unpinned() const { return unpinned_ != 0; }
  // Entries pinned to path_id may go on any path from now on (the path closed).
  void unpin_path(uint32_t path_id) {
    for (size_t k = 0; k < size_; ++k) {
      SendMeta& m = slot(k).meta;
      if (m.path_id != path_id || path_id == kAnyPath) continue;
      m.path_id = kAnyPath;
      ++unpinned_;
    }
  }
  // Removes the k-th entry; the ones before it move up a place (their buffers are swapped, not
  // copied), so the order of the rest is kept.
  void erase(size_t k) {
    for (; k > 0; --k) std::swap(slot(k), slot(k - 1));
    pop();
  }

 private:
  Entry& slot(size_t k) { return entries_[(head_ + k) % entries_.size()]; }

  std::vector<Entry> entries_;
  size_t max_size_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
  size_t unpinned_ = 0;
};

}  // namespace camp::quic
