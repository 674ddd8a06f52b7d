// What each sent packet carried, so that acknowledged and lost events reach the frames (and the
// application objects) inside it (DESIGN.md "Seams"; RFC 9000 13.3 "Retransmission of
// Information"). One log per packet number space. A packet's record is found from the tag
// PathRecovery keeps in its SentPacket: the tag is the record's sequence number. Records and
// their frame entries live in two rings that start small and double up to the maxima given at
// construction (an idle connection stays small; a busy one allocates a few times, never per
// packet): PathRecovery tracks at most as many packets as its ring holds, so with the same
// maximum a live record never shares a slot. Capacities are powers of two (masks, not divisions).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace camp::quic {

enum class SentFrameKind : uint8_t {
  kStream,             // a = stream ID, b = offset, len, fin
  kCrypto,             // b = offset, len
  kAck,                // a = largest acknowledged it carried
  kMaxData,            // a = value
  kMaxStreamData,      // a = stream ID, b = value
  kMaxStreams,         // a = value, bidi
  kDataBlocked,        // a = value
  kStreamDataBlocked,  // a = stream ID, b = value
  kStreamsBlocked,     // a = value, bidi
  kResetStream,        // a = stream ID, b = final size, c = error code
  kStopSending,        // a = stream ID, c = error code
  kNewConnectionId,    // a = path ID, b = sequence
  kRetireConnectionId, // a = path ID, b = sequence
  kHandshakeDone,
  kNewToken,
  kDatagram,           // a = the application's datagram ID, len
  kPing,
  // Multipath (draft-ietf-quic-multipath-21 4.2-4.7), all ack-eliciting and repeated when lost.
  kPathAbandon,        // a = path ID, c = error code (path_abandon_error)
  kPathStatus,         // a = path ID, b = status sequence number, bidi = true: AVAILABLE,
                       // false: BACKUP (resent only if b is still the path's latest, 4.3)
  kMaxPathId,          // a = Maximum Path Identifier (resent unless a larger one went out, 4.6)
  kPathsBlocked,       // a = Maximum Path Identifier (the peer's limit we hit)
  kPathCidsBlocked,    // a = path ID, b = Next Sequence Number
};

struct SentFrame {
  SentFrameKind kind = SentFrameKind::kPing;
  bool fin = false;   // STREAM
  bool bidi = false;  // MAX_STREAMS / STREAMS_BLOCKED
  uint32_t len = 0;
  uint64_t a = 0;
  uint64_t b = 0;
  uint64_t c = 0;
};

class SentLog {
 public:
  // packets: the space's PathRecovery ring capacity; frames: entries shared by those packets.
  SentLog(size_t packets, size_t frames, size_t initial_packets = 64)
      : rec_max_(std::bit_ceil(std::max<size_t>(packets, 1))),
        frame_max_(std::bit_ceil(std::max<size_t>(frames, 1))),
        rec_cap_(std::min(rec_max_, std::bit_ceil(std::max<size_t>(initial_packets, 1)))),
        frame_cap_(std::min(frame_max_, rec_cap_ * std::max<size_t>(frame_max_ / rec_max_, 1))),
        recs_(std::make_unique<Record[]>(rec_cap_)),
        frames_(std::make_unique<SentFrame[]>(frame_cap_)) {}

  // Opens the record of the next packet; frames are then added with add(). False when the frame
  // ring has no room for max_frames more entries (the packet is then not built).
  bool begin(size_t max_frames) {
    reclaim();
    while (rec_seq_ - rec_tail_ >= rec_cap_ && rec_cap_ < rec_max_) grow_records();
    while (frame_head_ - frame_tail_ + max_frames > frame_cap_ && frame_cap_ < frame_max_) {
      grow_frames();
    }
    return rec_seq_ - rec_tail_ < rec_cap_ && frame_head_ - frame_tail_ + max_frames <= frame_cap_;
  }
  // Drops the open record's frames: the packet carries nothing that needs an outcome.
  void discard_open() {
    frame_head_ -= open_count_;
    open_count_ = 0;
  }
  void add(const SentFrame& f) { frames_[frame_head_++ & (frame_cap_ - 1)] = f; ++open_count_; }
  uint32_t open_count() const { return open_count_; }
  // Closes the record; returns the tag to put into the SentPacket.
  uint64_t commit() {
    Record& r = recs_[rec_seq_ & (rec_cap_ - 1)];
    r.seq = rec_seq_;
    r.first = frame_head_ - open_count_;
    r.count = open_count_;
    r.live = true;
    open_count_ = 0;
    return rec_seq_++;
  }
  // Calls f(SentFrame&) for every frame of the packet with this tag and retires the record.
  // Unknown or already settled tags do nothing.
  template <class F>
  void settle(uint64_t tag, F&& f) {
    Record* r = find(tag);
    if (!r) return;
    r->live = false;
    for (uint64_t i = 0; i < r->count; ++i) f(frames_[(r->first + i) & (frame_cap_ - 1)]);
  }

  // Every live record, oldest first (used when a space is abandoned or Retry restarts Initial).
  template <class F>
  void settle_all(F&& f) {
    for (uint64_t s = rec_tail_; s < rec_seq_; ++s) settle(s, f);
    reclaim();
  }

 private:
  struct Record {
    uint64_t seq = 0;
    uint64_t first = 0;
    uint32_t count = 0;
    bool live = false;
  };
  Record* find(uint64_t tag) {
    if (tag >= rec_seq_ || tag < rec_tail_) return nullptr;
    Record& r = recs_[tag & (rec_cap_ - 1)];
    return (r.live && r.seq == tag) ? &r : nullptr;
  }
  // Doubling keeps every entry at its sequence number modulo the new capacity.
  void grow_records() {
    const size_t cap = rec_cap_ * 2;
    auto bigger = std::make_unique<Record[]>(cap);
    for (uint64_t s = rec_tail_; s < rec_seq_; ++s) bigger[s & (cap - 1)] = recs_[s & (rec_cap_ - 1)];
    recs_ = std::move(bigger);
    rec_cap_ = cap;
  }
  void grow_frames() {
    const size_t cap = frame_cap_ * 2;
    auto bigger = std::make_unique<SentFrame[]>(cap);
    for (uint64_t i = frame_tail_; i < frame_head_; ++i) {
      bigger[i & (cap - 1)] = frames_[i & (frame_cap_ - 1)];
    }
    frames_ = std::move(bigger);
    frame_cap_ = cap;
  }
  // Frees the frame entries of settled records at the tail.
  void reclaim() {
    while (rec_tail_ < rec_seq_) {
      Record& r = recs_[rec_tail_ & (rec_cap_ - 1)];
      if (r.seq == rec_tail_ && r.live) break;
      ++rec_tail_;
    }
    if (rec_tail_ == rec_seq_) {
      frame_tail_ = frame_head_ - open_count_;
    } else {
      frame_tail_ = recs_[rec_tail_ & (rec_cap_ - 1)].first;
    }
  }

  size_t rec_max_;
  size_t frame_max_;
  size_t rec_cap_;
  size_t frame_cap_;
  std::unique_ptr<Record[]> recs_;
  std::unique_ptr<SentFrame[]> frames_;
  uint64_t rec_seq_ = 0;
  uint64_t rec_tail_ = 0;
  uint64_t frame_head_ = 0;
  uint64_t frame_tail_ = 0;
  uint32_t open_count_ = 0;
};

}  // namespace camp::quic
