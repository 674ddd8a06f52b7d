// The sending part of a stream (RFC 9000 3.1, 4.1, 13.3): the application writes into a ring of
// fixed size; the packetiser takes chunks (lost ranges first, then new data within the peer's
// MAX_STREAM_DATA); acknowledgements free the ring from the front and lost ranges are resent
// until acknowledged. Chunks point into the ring: no copy until the packet is built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "dataplane/quic/stream/offset_bitmap.h"
#include "dataplane/quic/stream/ring_index.h"
#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

// RFC 9000 3.1 sending-part states.
enum class SendState : uint8_t { kReady, kSend, kDataSent, kDataRecvd, kResetSent, kResetRecvd };

// The ring's bytes just before a chunk's data, which a sealer may borrow: it writes the frame
// header there, seals header and data in one pass from the ring into the packet (no copy of the
// data first), and puts the bytes back. `lead` of them are in the ring; `at` is the data, writable.
struct RingLead {
  uint8_t* at = nullptr;
  size_t lead = 0;
};

struct StreamChunk {
  uint64_t offset = 0;
  ByteView data;  // into the send ring; valid until the stream is next changed
  bool fin = false;
  bool retransmission = false;
  RingLead ring;
};

class SendStream {
 public:
  // buffer_size: bytes the application may have written but not yet had acknowledged.
  // max_stream_data: the peer's initial limit for this stream.
  SendStream(size_t buffer_size, uint64_t max_stream_data);

  // Copies as much of data as fits; fin is taken only when all of data fits. Returns bytes taken.
  size_t write(std::span<const uint8_t> data, bool fin);
  size_t writable() const;

  // Why no new data could be sent.
  struct Blocked {
    bool stream = false;      // at the peer's MAX_STREAM_DATA with data waiting
    bool connection = false;  // below it, but no connection credit left
  };
  // The next chunk of at most max_len bytes: lost data first, then new data limited by the
  // stream limit and conn_credit (new bytes only). new_bytes says how much connection credit the
  // chunk used. A chunk may carry only a FIN.
  bool next_chunk(size_t max_len, uint64_t conn_credit, StreamChunk& out, uint64_t& new_bytes,
                  Blocked& blocked);
  bool has_pending() const;        // something is sendable ignoring connection credit
  bool wants_new_data() const { return write_offset_ > sent_offset_ && !is_reset(); }

  void on_acked(uint64_t offset, uint64_t length, bool fin);
  void on_lost(uint64_t offset, uint64_t length, bool fin);
  // Raises the peer's limit (MAX_STREAM_DATA never lowers it). True when it grew.
  bool on_max_stream_data(uint64_t limit);

  // Abandons the data (3.3, 3.5): the final size is what has been sent. False when already
  // reset or all data is acknowledged (nothing to reset).
  bool reset(uint64_t error_code);
  void on_reset_acked();

  SendState state() const { return state_; }
  bool terminal() const {
    return state_ == SendState::kDataRecvd || state_ == SendState::kResetRecvd;
  }
  bool is_reset() const { return state_ == SendState::kResetSent || state_ == SendState::kResetRecvd; }
  uint64_t final_size() const { return sent_offset_; }  // valid once reset
  uint64_t reset_error_code() const { return reset_code_; }
  uint64_t max_stream_data() const { return max_stream_data_; }
  uint64_t acked_offset() const { return acked_offset_; }
  uint64_t sent_offset() const { return sent_offset_; }
  uint64_t write_offset() const { return write_offset_; }

 private:
  void ensure_buffer();
  void check_done();

  size_t capacity_;
  RingIndex ring_;  // offset % capacity_
  std::unique_ptr<uint8_t[]> buf_;
  OffsetBitmap acked_;  // acknowledged bytes at or above acked_offset_
  OffsetBitmap lost_;   // bytes to send again
  uint64_t acked_offset_ = 0;  // every byte below is acknowledged; the ring starts here
  uint64_t acked_marks_end_ = 0;  // acked_ has bits set only below this (out-of-order ACKs)
  uint64_t sent_offset_ = 0;   // bytes sent at least once (flow-control usage)
  uint64_t write_offset_ = 0;  // bytes written by the application
  uint64_t max_stream_data_;
  uint64_t reset_code_ = 0;
  bool any_lost_ = false;  // lost_ may have bits set (skips the scan otherwise)
  bool fin_ = false;       // the application has finished writing
  bool fin_sent_ = false;
  bool fin_lost_ = false;
  bool fin_acked_ = false;
  SendState state_ = SendState::kReady;
};

}  // namespace camp::quic
