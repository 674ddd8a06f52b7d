#include "dataplane/quic/recovery/sent_packet_ring.h"

namespace camp::quic {

SentPacketRing::SentPacketRing(size_t capacity)
    : slots_(new SentSlot[capacity == 0 ? 1 : capacity]), capacity_(capacity == 0 ? 1 : capacity) {}

RecoveryError SentPacketRing::push(const SentPacket& p) {
  if (has_sent_ && p.packet_number <= largest_sent_)
    return RecoveryError::kPacketNumberNotIncreasing;
  if (full()) compact();
  if (full()) return RecoveryError::kRingFull;
  SentSlot& s = slots_[(head_ + size_) % capacity_];
  s.pkt = p;
  s.state = SentState::kOutstanding;
  ++size_;
  ++outstanding_;
  largest_sent_ = p.packet_number;
  has_sent_ = true;
  return RecoveryError::kOk;
}

size_t SentPacketRing::lower_bound(uint64_t pn) const {
  size_t lo = 0, hi = size_;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (at(mid).pkt.packet_number < pn)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void SentPacketRing::settle(size_t i, SentState s) {
  SentSlot& slot = at(i);
  if (slot.state != SentState::kOutstanding) return;
  slot.state = s;
  --outstanding_;
}

size_t SentPacketRing::compact() {
  size_t dropped = 0;
  while (size_ > 0 && slots_[head_].state != SentState::kOutstanding) {
    head_ = (head_ + 1) % capacity_;
    --size_;
    ++dropped;
  }
  return dropped;
}

void SentPacketRing::clear() {
  head_ = 0;
  size_ = 0;
  outstanding_ = 0;
}

}  // namespace camp::quic
