// What each sent packet carried, so that acknowledged and lost events reach the frames (and the
// application objects) inside it (DESIGN.md "Seams"; RFC 9000 13.3 "Retransmission of
// Information"). One log per packet number space. A packet's record is found from the tag
// PathRecovery keeps in its SentPacket: the tag is the record's sequence number. Records and
// their frame entries live in two rings sized at construction: PathRecovery tracks at most as
// many packets as its ring holds, so with the same capacity a live record never shares a slot.
#pragma once

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
  SentLog(size_t packets, size_t frames)
      : rec_cap_(packets), frame_cap_(frames),
        recs_(std::make_unique<Record[]>(packets)),
        frames_(std::make_unique<SentFrame[]>(frames)) {}

  // Opens the record of the next packet; frames are then added with add(). False when the frame
  // ring has no room for max_frames more entries (the packet is then not built).
  bool begin(size_t max_frames) {
    reclaim();
    return rec_seq_ - rec_tail_ < rec_cap_ && frame_head_ - frame_tail_ + max_frames <= frame_cap_;
  }
  // Drops the open record's frames: the packet carries nothing that needs an outcome.
  void discard_open() {
    frame_head_ -= open_count_;
    open_count_ = 0;
  }
  void add(const SentFrame& f) { frames_[frame_head_++ % frame_cap_] = f; ++open_count_; }
  uint32_t open_count() const { return open_count_; }
  // Closes the record; returns the tag to put into the SentPacket.
  uint64_t commit() {
    Record& r = recs_[rec_seq_ % rec_cap_];
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
    for (uint64_t i = 0; i < r->count; ++i) f(frames_[(r->first + i) % frame_cap_]);
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
    Record& r = recs_[tag % rec_cap_];
    return (r.live && r.seq == tag) ? &r : nullptr;
  }
  // Frees the frame entries of settled records at the tail.
  void reclaim() {
    while (rec_tail_ < rec_seq_) {
      Record& r = recs_[rec_tail_ % rec_cap_];
      if (r.seq == rec_tail_ && r.live) break;
      ++rec_tail_;
    }
    if (rec_tail_ == rec_seq_) {
      frame_tail_ = frame_head_ - open_count_;
    } else {
      frame_tail_ = recs_[rec_tail_ % rec_cap_].first;
    }
  }

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
