// The receiving part of a stream (RFC 9000 3.2, 4.1, 4.5): reassembles STREAM data that arrives
// out of order, with duplicates and overlaps, into the in-order bytes the application reads.
// The buffer is a ring of the stream's flow-control window, allocated on the first byte: the
// limit this side advertises never runs past read offset + window, so every acceptable byte has
// a slot and nothing the peer sends can make it grow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/quic/stream/offset_bitmap.h"
#include "dataplane/quic/stream/ring_index.h"
#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/transport_error.h"

namespace camp::quic {

// RFC 9000 3.2 receiving-part states.
enum class RecvState : uint8_t { kRecv, kSizeKnown, kDataRecvd, kDataRead, kResetRecvd, kResetRead };

inline constexpr uint64_t kNoFinalSize = ~uint64_t{0};

class RecvStream {
 public:
  // window: the stream's initial_max_stream_data (and the size MAX_STREAM_DATA keeps ahead).
  explicit RecvStream(uint64_t window);

  // What a frame did to connection-level flow control: how far the stream's highest received
  // offset moved (counts against MAX_DATA) and how many bytes were released without being read
  // (reset or discarded after STOP_SENDING; they return credit at once, 4.5).
  struct FcDelta {
    uint64_t new_bytes = 0;
    uint64_t released = 0;
  };

  TransportError on_stream_frame(uint64_t offset, ByteView data, bool fin, FcDelta& fc);
  TransportError on_reset_stream(uint64_t final_size, uint64_t error_code, FcDelta& fc);

  // Copies in-order bytes out; fin is set once the last byte has been read.
  size_t read(std::span<uint8_t> out, bool& fin);
  // After a RESET_STREAM the application learns of it once: kResetRecvd -> kResetRead.
  void acknowledge_reset() {
    if (state_ == RecvState::kResetRecvd) state_ = RecvState::kResetRead;
  }
  // The application no longer wants the data (it asked for STOP_SENDING): buffered and future
  // bytes are dropped and their credit returned. Returns the bytes released now.
  uint64_t discard();

  // Whether a larger MAX_STREAM_DATA should be sent: more than half the window has been read
  // since the last one, and the peer may still send (no final size yet).
  bool wants_max_stream_data() const;
  // Raises the advertised limit to read offset + window and returns it.
  uint64_t advance_max_stream_data();

  RecvState state() const { return state_; }
  bool terminal() const;
  bool stopped() const { return stopped_; }
  bool readable() const { return contiguous_ > read_offset_ || state_ == RecvState::kDataRecvd; }
  uint64_t read_offset() const { return read_offset_; }
  uint64_t contiguous() const { return contiguous_; }
  uint64_t highest_received() const { return highest_; }
  uint64_t final_size() const { return final_size_; }
  uint64_t max_stream_data() const { return max_stream_data_; }
  uint64_t reset_error_code() const { return reset_code_; }
  uint64_t window() const { return window_; }

 private:
  void release_buffer();

  uint64_t window_;
  size_t capacity_;  // window rounded up to whole bitmap words
  RingIndex ring_;   // offset % capacity_
  std::unique_ptr<uint8_t[]> buf_;
  OffsetBitmap received_;
  uint64_t read_offset_ = 0;  // bytes handed to the application
  uint64_t contiguous_ = 0;   // every byte below is in the buffer
  uint64_t marks_end_ = 0;    // received_ has bits set only in [contiguous_, marks_end_)
  uint64_t highest_ = 0;      // largest offset + length seen (flow-control usage)
  uint64_t final_size_ = kNoFinalSize;
  uint64_t max_stream_data_;  // what this side has advertised
  uint64_t reset_code_ = 0;
  RecvState state_ = RecvState::kRecv;
  bool stopped_ = false;
};

}  // namespace camp::quic
