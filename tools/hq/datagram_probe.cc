#include "tools/hq/datagram_probe.h"

#include <algorithm>

namespace camp::hq {

namespace {

uint8_t pattern_byte(uint64_t seq, size_t i) {
  // Depends on both the sequence number and the position: a payload shifted, truncated or mixed
  // with another datagram's does not verify.
  return static_cast<uint8_t>((seq * 131 + i * 7 + (seq >> 8) * 17 + 0x5a) & 0xff);
}

}  // namespace

DatagramProbe::DatagramProbe(uint64_t count, size_t max_payload, uint64_t window)
    : count_(std::min(count, kMaxCount)),
      max_payload_(std::max(max_payload, kHeaderBytes + 1)),
      window_(std::max<uint64_t>(window, 1)),
      state_(static_cast<size_t>(count_), kPending) {}

void DatagramProbe::set_state(uint8_t& s, uint8_t next) {
  if (resolved(s) && !resolved(next)) ++unresolved_;
  if (!resolved(s) && resolved(next)) --unresolved_;
  s = next;
}

uint64_t DatagramProbe::write_off_unechoed() {
  uint64_t n = 0;
  for (uint64_t i = 0; i < sent_; ++i) {
    uint8_t& s = state_[static_cast<size_t>(i)];
    if ((s & kAcked) && !resolved(s)) {
      set_state(s, static_cast<uint8_t>(s | kWrittenOff));
      ++n;
    }
  }
  return n;
}

size_t DatagramProbe::size_of(uint64_t seq) const {
  // 397 and 901 are coprime: consecutive datagrams spread over the whole range.
  const size_t want = kMinSize + static_cast<size_t>((seq * 397) % (kMaxSize - kMinSize + 1));
  return std::min(want, max_payload_);
}

void DatagramProbe::payload(uint64_t seq, std::vector<uint8_t>& out) const {
  const size_t n = size_of(seq);
  out.resize(n);
  for (size_t i = 0; i < kHeaderBytes; ++i) out[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  for (size_t i = kHeaderBytes; i < n; ++i) out[i] = pattern_byte(seq, i);
}

void DatagramProbe::on_sent(uint64_t id) {
  if (sent_ == count_) return;
  if (sent_ == 0) first_id_ = id;
  ++sent_;
  ++unresolved_;
}

uint64_t DatagramProbe::index_of(uint64_t id) const {
  if (id < first_id_ || id - first_id_ >= sent_) return count_;
  return id - first_id_;
}

void DatagramProbe::on_acked(uint64_t id) {
  const uint64_t i = index_of(id);
  if (i == count_) {
    ++unknown_ids_;
    return;
  }
  uint8_t& s = state_[i];
  if (s & kAcked) return;
  uint8_t next = static_cast<uint8_t>(s | kAcked);
  if (s & kLost) {
    // RFC 9002 allows a late acknowledgement of a packet declared lost: it did arrive (and its
    // echo may still come, so it is unresolved again unless echoed).
    next &= static_cast<uint8_t>(~kLost);
    --lost_;
    ++spurious_;
  }
  set_state(s, next);
  ++acked_;
}

void DatagramProbe::on_lost(uint64_t id) {
  const uint64_t i = index_of(id);
  if (i == count_) {
    ++unknown_ids_;
    return;
  }
  uint8_t& s = state_[i];
  if (s & (kAcked | kLost)) return;
  set_state(s, static_cast<uint8_t>(s | kLost));
  ++lost_;
}

DatagramProbe::Echo DatagramProbe::on_echo(std::span<const uint8_t> data) {
  if (data.size() < kHeaderBytes + 1) {
    ++bad_;
    return Echo::kBad;
  }
  uint64_t seq = 0;
  for (size_t i = 0; i < kHeaderBytes; ++i) seq = (seq << 8) | data[i];
  if (seq >= sent_ || data.size() != size_of(seq)) {
    ++bad_;
    return Echo::kBad;
  }
  for (size_t i = kHeaderBytes; i < data.size(); ++i) {
    if (data[i] != pattern_byte(seq, i)) {
      ++bad_;
      return Echo::kBad;
    }
  }
  uint8_t& s = state_[static_cast<size_t>(seq)];
  if (s & kEchoed) {
    ++duplicates_;
    return Echo::kDuplicate;
  }
  set_state(s, static_cast<uint8_t>(s | kEchoed));
  ++echoed_;
  return Echo::kNew;
}

std::string DatagramProbe::summary() const {
  std::string s = "datagrams: sent " + std::to_string(sent_) + ", acked " + std::to_string(acked_) +
                  ", lost " + std::to_string(lost_) + ", echoed " + std::to_string(echoed_);
  if (pending()) s += ", pending " + std::to_string(pending());
  if (duplicates_) s += ", duplicates " + std::to_string(duplicates_);
  if (bad_) s += ", bad " + std::to_string(bad_);
  if (spurious_) s += ", spurious losses " + std::to_string(spurious_);
  if (unknown_ids_) s += ", unknown ids " + std::to_string(unknown_ids_);
  return s;
}

}  // namespace camp::hq
