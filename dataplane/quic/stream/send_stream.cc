#include "dataplane/quic/stream/send_stream.h"

#include <algorithm>
#include <cstring>

namespace camp::quic {

SendStream::SendStream(size_t buffer_size, uint64_t max_stream_data)
    : capacity_((buffer_size + 63) / 64 * 64),
      ring_(capacity_),
      max_stream_data_(max_stream_data) {}

void SendStream::ensure_buffer() {
  if (buf_ || capacity_ == 0) return;
  buf_ = std::make_unique<uint8_t[]>(capacity_);
  acked_ = OffsetBitmap(capacity_);
  lost_ = OffsetBitmap(capacity_);
}

size_t SendStream::writable() const {
  if (fin_ || (state_ != SendState::kReady && state_ != SendState::kSend)) return 0;
  return capacity_ - static_cast<size_t>(write_offset_ - acked_offset_);
}

size_t SendStream::write(std::span<const uint8_t> data, bool fin) {
  if (fin_ || (state_ != SendState::kReady && state_ != SendState::kSend)) return 0;
  size_t n = std::min(data.size(), writable());
  if (n) {
    ensure_buffer();
    size_t done = 0;
    while (done < n) {
      size_t idx = ring_(write_offset_ + done);
      size_t k = std::min(capacity_ - idx, n - done);
      std::memcpy(buf_.get() + idx, data.data() + done, k);
      done += k;
    }
    write_offset_ += n;
  }
  if (fin && n == data.size()) fin_ = true;
  return n;
}

bool SendStream::has_pending() const {
  if (state_ != SendState::kReady && state_ != SendState::kSend && state_ != SendState::kDataSent) {
    return false;
  }
  if (any_lost_ || fin_lost_) return true;
  if (fin_ && !fin_sent_ && sent_offset_ == write_offset_) return true;
  return write_offset_ > sent_offset_ && max_stream_data_ > sent_offset_;
}

bool SendStream::next_chunk(size_t max_len, uint64_t conn_credit, StreamChunk& out,
                            uint64_t& new_bytes, Blocked& blocked) {
  new_bytes = 0;
  blocked = {};
  if (state_ != SendState::kReady && state_ != SendState::kSend && state_ != SendState::kDataSent) {
    return false;
  }
  // Lost data first (13.3): it is already counted against flow control.
  if (any_lost_) {
    uint64_t pos = lost_.find_set(acked_offset_, sent_offset_);
    if (pos == sent_offset_) {
      any_lost_ = false;
    } else if (max_len > 0) {
      uint64_t limit = std::min<uint64_t>(sent_offset_, pos + max_len);
      limit = std::min<uint64_t>(limit, pos + (capacity_ - ring_(pos)));  // ring wrap
      uint64_t end = lost_.find_clear(pos, limit);
      lost_.clear(pos, end);
      out.offset = pos;
      out.data = ByteView(buf_.get() + ring_(pos), static_cast<size_t>(end - pos));
      out.ring = {buf_.get() + ring_(pos), static_cast<size_t>(ring_(pos))};
      out.fin = fin_ && fin_sent_ && !fin_acked_ && end == write_offset_;
      out.retransmission = true;
      if (out.fin) fin_lost_ = false;
      return true;
    } else {
      return false;
    }
  }
  // New data.
  uint64_t n = std::min(write_offset_ - sent_offset_, max_stream_data_ - sent_offset_);
  n = std::min(n, conn_credit);
  n = std::min<uint64_t>(n, max_len);
  if (n) n = std::min<uint64_t>(n, capacity_ - ring_(sent_offset_));
  bool fin = fin_ && !fin_acked_ && sent_offset_ + n == write_offset_ &&
             (!fin_sent_ || fin_lost_);
  if (n == 0 && !fin) {
    // Blocked means data is waiting and a limit, not the packet's room, is what stops it.
    if (write_offset_ > sent_offset_) {
      blocked.stream = sent_offset_ == max_stream_data_;
      blocked.connection = !blocked.stream && conn_credit == 0;
    }
    return false;
  }
  out.offset = sent_offset_;
  out.data = n ? ByteView(buf_.get() + ring_(sent_offset_), static_cast<size_t>(n))
               : ByteView();
  out.ring = n ? RingLead{buf_.get() + ring_(sent_offset_),
                          static_cast<size_t>(ring_(sent_offset_))}
               : RingLead{};
  out.fin = fin;
  out.retransmission = false;
  sent_offset_ += n;
  new_bytes = n;
  if (fin) {
    fin_sent_ = true;
    fin_lost_ = false;
  }
  state_ = fin_sent_ ? SendState::kDataSent : SendState::kSend;
  return true;
}

void SendStream::on_acked(uint64_t offset, uint64_t length, bool fin) {
  if (state_ != SendState::kSend && state_ != SendState::kDataSent) return;
  uint64_t lo = std::max(offset, acked_offset_);
  uint64_t hi = std::min(offset + length, sent_offset_);
  if (lo < hi) {
    if (any_lost_) lost_.clear(lo, hi);
    if (lo == acked_offset_ && acked_marks_end_ <= lo) {
      acked_offset_ = hi;  // in order with nothing acked beyond: the common case, no bits
    } else if (lo == acked_offset_) {
      // The front moves: over [lo, hi) and the acked marks right after it, whose bits are
      // cleared for the ring's reuse (so [lo, hi) need not be marked first).
      const uint64_t front = hi < acked_marks_end_ ? acked_.find_clear(hi, acked_marks_end_) : hi;
      acked_.clear(lo, front);
      acked_offset_ = front;
      acked_marks_end_ = std::max(acked_marks_end_, front);
    } else {
      acked_.set(lo, hi);
      acked_marks_end_ = std::max(acked_marks_end_, hi);
    }
  }
  if (fin && fin_sent_) {
    fin_acked_ = true;
    fin_lost_ = false;
  }
  check_done();
}

void SendStream::on_lost(uint64_t offset, uint64_t length, bool fin) {
  if (state_ != SendState::kSend && state_ != SendState::kDataSent) return;
  uint64_t lo = std::max(offset, acked_offset_);
  uint64_t hi = std::min(offset + length, sent_offset_);
  if (lo < hi) {
    lost_.set_except(lo, hi, acked_);  // an ack that overtook the loss wins
    any_lost_ = true;
  }
  if (fin && fin_sent_ && !fin_acked_) fin_lost_ = true;
}

bool SendStream::on_max_stream_data(uint64_t limit) {
  if (limit <= max_stream_data_) return false;
  max_stream_data_ = limit;
  return true;
}

bool SendStream::reset(uint64_t error_code) {
  if (state_ == SendState::kDataRecvd || is_reset()) return false;
  reset_code_ = error_code;
  state_ = SendState::kResetSent;
  buf_.reset();
  acked_ = OffsetBitmap();
  lost_ = OffsetBitmap();
  any_lost_ = fin_lost_ = false;
  return true;
}

void SendStream::on_reset_acked() {
  if (state_ == SendState::kResetSent) state_ = SendState::kResetRecvd;
}

void SendStream::check_done() {
  if (state_ == SendState::kDataSent && fin_acked_ && acked_offset_ == write_offset_) {
    state_ = SendState::kDataRecvd;
    buf_.reset();
    acked_ = OffsetBitmap();
    lost_ = OffsetBitmap();
  }
}

}  // namespace camp::quic
