#include "dataplane/quic/recovery/sent_packet_ring.h"

#include <algorithm>
#include <bit>

namespace camp::quic {

SentPacketRing::SentPacketRing(size_t max_capacity, size_t initial_capacity)
    : capacity_(std::bit_ceil(std::max<size_t>(1, std::min(initial_capacity, max_capacity)))),
      max_capacity_(std::bit_ceil(std::max<size_t>(1, max_capacity))) {
  slots_.reset(new SentSlot[capacity_]);
}

void SentPacketRing::grow() {
  const size_t cap = capacity_ * 2;
  std::unique_ptr<SentSlot[]> bigger(new SentSlot[cap]);
  for (size_t i = 0; i < size_; ++i) bigger[i] = at(i);
  slots_ = std::move(bigger);
  capacity_ = cap;
  head_ = 0;
}

RecoveryError SentPacketRing::push(const SentPacket& p) {
  RecoveryError e = RecoveryError::kOk;
  SentPacket* slot = reserve(p.packet_number, e);
  if (!slot) return e;
  *slot = p;
  commit();
  return RecoveryError::kOk;
}

SentPacket* SentPacketRing::reserve(uint64_t packet_number, RecoveryError& err) {
  if (has_sent_ && packet_number <= largest_sent_) {
    err = RecoveryError::kPacketNumberNotIncreasing;
    return nullptr;
  }
  if (size_ == capacity_) compact();
  if (size_ == capacity_) {
    if (capacity_ == max_capacity_) {
      err = RecoveryError::kRingFull;
      return nullptr;
    }
    grow();
  }
  return &reserved();
}

void SentPacketRing::commit() {
  SentSlot& s = slots_[(head_ + size_) & (capacity_ - 1)];
  s.state = SentState::kOutstanding;
  ++size_;
  ++outstanding_;
  largest_sent_ = s.pkt.packet_number;
  has_sent_ = true;
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

size_t SentPacketRing::compact(TimeNs keep_lost_from) {
  size_t dropped = 0;
  while (size_ > 0 && slots_[head_].state != SentState::kOutstanding &&
         (slots_[head_].state != SentState::kLost || slots_[head_].pkt.time_sent < keep_lost_from)) {
    head_ = (head_ + 1) & (capacity_ - 1);
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
