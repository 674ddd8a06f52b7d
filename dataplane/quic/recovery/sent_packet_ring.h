// A bounded ring of SentPacket records for one packet number space, oldest first. It starts small
// and doubles, up to a maximum fixed at construction, when more packets are in flight than it
// holds: an idle connection stays small, a busy one allocates a few times in its life, never per
// packet. Only our own sends add entries, so a peer cannot grow it. Acked and lost
// packets become tombstones that keep their outcome (persistent congestion needs to know whether
// packets between two losses were acked) until the head moves past them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/quic/recovery/sent_packet.h"

namespace camp::quic {

enum class SentState : uint8_t { kOutstanding, kAcked, kLost };

struct SentSlot {
  SentPacket pkt;
  SentState state = SentState::kOutstanding;
};

class SentPacketRing {
 public:
  // Both rounded up to powers of two; initial is capped by max.
  explicit SentPacketRing(size_t max_capacity, size_t initial_capacity = 64);

  size_t capacity() const { return capacity_; }
  size_t max_capacity() const { return max_capacity_; }
  size_t size() const { return size_; }          // slots in use, tombstones included
  bool full() const { return size_ == max_capacity_; }
  // Whether push() can succeed: free slots, room to grow, or a settled head compaction will drop.
  bool has_room() const {
    return size_ < max_capacity_ || slots_[head_].state != SentState::kOutstanding;
  }
  bool empty() const { return size_ == 0; }
  size_t outstanding() const { return outstanding_; }

  // Appends; fails when full or when the packet number does not exceed the last one.
  RecoveryError push(const SentPacket& p);
  // push() in two steps, for a record written in place: reserve() checks as push() does and gives
  // the next slot's packet (null with the error when it would fail), commit() appends it. Nothing
  // else may touch the ring between the two.
  SentPacket* reserve(uint64_t packet_number, RecoveryError& err);
  void commit();

  // Slot i counted from the oldest (0 <= i < size()).
  SentSlot& at(size_t i) { return slots_[(head_ + i) & (capacity_ - 1)]; }
  const SentSlot& at(size_t i) const { return slots_[(head_ + i) & (capacity_ - 1)]; }

  // Index of the first slot whose packet number is >= pn (size() when none): binary search,
  // packet numbers grow along the ring.
  size_t lower_bound(uint64_t pn) const;

  // Marks slot i acked or lost; indexes stay valid until compact().
  void settle(size_t i, SentState s);
  // Drops tombstones at the head; slot indexes shift by the number returned. Lost ones sent at or
  // after `keep_lost_from` stay (a late ACK of one tells reordering from loss).
  size_t compact(TimeNs keep_lost_from = kNever);

  void clear();

  bool has_sent() const { return has_sent_; }
  uint64_t largest_sent() const { return largest_sent_; }

 private:
  SentPacket& reserved() { return slots_[(head_ + size_) & (capacity_ - 1)].pkt; }
  void grow();

  std::unique_ptr<SentSlot[]> slots_;
  size_t capacity_;
  size_t max_capacity_;
  size_t head_ = 0;
  size_t size_ = 0;
  size_t outstanding_ = 0;
  uint64_t largest_sent_ = 0;
  bool has_sent_ = false;
};

}  // namespace camp::quic
