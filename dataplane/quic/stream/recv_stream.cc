#include "dataplane/quic/stream/recv_stream.h"

#include <algorithm>
#include <cstring>

#include "dataplane/codec/varint.h"

namespace camp::quic {

RecvStream::RecvStream(uint64_t window)
    : window_(window), capacity_(static_cast<size_t>((window + 63) / 64 * 64)),
      ring_(capacity_), max_stream_data_(window) {}

TransportError RecvStream::on_stream_frame(uint64_t offset, ByteView data, bool fin,
                                           FcDelta& fc) {
  fc = {};
  // 19.8: offset + length may not exceed 2^62-1. The parser checks it; a direct caller may not.
  if (data.size > varint::kMax || offset > varint::kMax - data.size) {
    return TransportError::FRAME_ENCODING_ERROR;
  }
  const uint64_t end = offset + data.size;
  // 4.5: once the final size is known, no byte may lie past it and it may not change.
  if (final_size_ != kNoFinalSize) {
    if (end > final_size_ || (fin && end != final_size_)) return TransportError::FINAL_SIZE_ERROR;
  } else if (fin && end < highest_) {
    return TransportError::FINAL_SIZE_ERROR;
  }
  if (end > max_stream_data_) return TransportError::FLOW_CONTROL_ERROR;
  if (end > highest_) {
    fc.new_bytes = end - highest_;
    highest_ = end;
  }
  if (fin && final_size_ == kNoFinalSize) {
    final_size_ = end;
    if (state_ == RecvState::kRecv) state_ = RecvState::kSizeKnown;
  }
  if (state_ != RecvState::kRecv && state_ != RecvState::kSizeKnown) return TransportError::NO_ERROR;
  if (stopped_) {
    fc.released = fc.new_bytes;  // nobody will read it: hand the credit straight back
    return TransportError::NO_ERROR;
  }
  // Only bytes not yet known to be here need copying; old duplicates are dropped.
  const uint64_t lo = std::max(offset, contiguous_);
  if (lo < end) {
    if (!buf_) {
      buf_ = std::make_unique<uint8_t[]>(capacity_);
      received_ = OffsetBitmap(capacity_);
    }
    const uint8_t* src = data.data + (lo - offset);
    uint64_t pos = lo;
    while (pos < end) {
      size_t idx = ring_(pos);
      size_t n = static_cast<size_t>(std::min<uint64_t>(capacity_ - idx, end - pos));
      std::memcpy(buf_.get() + idx, src, n);
      src += n;
      pos += n;
    }
    if (lo == contiguous_ && marks_end_ <= lo) {
      contiguous_ = end;  // in order with nothing beyond: no bits to keep
    } else {
      // Out of order: mark it; when the gap at contiguous_ fills, the marks it joins are cleared
      // so the ring's bits are clean for reuse.
      received_.set(lo, end);
      marks_end_ = std::max(marks_end_, end);
      if (lo == contiguous_) {
        const uint64_t front = received_.find_clear(end, marks_end_);
        received_.clear(contiguous_, front);
        contiguous_ = front;
      }
    }
  }
  if (state_ == RecvState::kSizeKnown && contiguous_ == final_size_) {
    state_ = RecvState::kDataRecvd;
  }
  return TransportError::NO_ERROR;
}

TransportError RecvStream::on_reset_stream(uint64_t final_size, uint64_t error_code,
                                           FcDelta& fc) {
  fc = {};
  if (final_size > varint::kMax) return TransportError::FRAME_ENCODING_ERROR;
  if (final_size_ != kNoFinalSize && final_size != final_size_) {
    return TransportError::FINAL_SIZE_ERROR;
  }
  if (final_size < highest_) return TransportError::FINAL_SIZE_ERROR;
  if (final_size > max_stream_data_) return TransportError::FLOW_CONTROL_ERROR;
  fc.new_bytes = final_size - highest_;
  highest_ = final_size;
  final_size_ = final_size;
  // 3.2: with all data received, the reset may be ignored; a repeated reset changes nothing.
  if (state_ != RecvState::kRecv && state_ != RecvState::kSizeKnown) return TransportError::NO_ERROR;
  // Everything not yet read returns its credit; after a discard() it has been returned already.
  fc.released = stopped_ ? fc.new_bytes : final_size - read_offset_;
  read_offset_ = final_size;
  reset_code_ = error_code;
  state_ = stopped_ ? RecvState::kResetRead : RecvState::kResetRecvd;
  release_buffer();
  return TransportError::NO_ERROR;
}

size_t RecvStream::read(std::span<uint8_t> out, bool& fin) {
  fin = false;
  if (state_ == RecvState::kDataRead) {
    fin = true;
    return 0;
  }
  if (stopped_ || (state_ != RecvState::kRecv && state_ != RecvState::kSizeKnown &&
                   state_ != RecvState::kDataRecvd)) {
    return 0;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), contiguous_ - read_offset_));
  size_t done = 0;
  while (done < n) {
    size_t idx = ring_(read_offset_ + done);
    size_t k = std::min(capacity_ - idx, n - done);
    std::memcpy(out.data() + done, buf_.get() + idx, k);
    done += k;
  }
  read_offset_ += n;
  if (state_ == RecvState::kDataRecvd && read_offset_ == final_size_) {
    state_ = RecvState::kDataRead;
    fin = true;
    release_buffer();
  }
  return n;
}

uint64_t RecvStream::discard() {
  if (stopped_) return 0;
  stopped_ = true;
  // Credit for every byte counted so far comes back; later ones come back as they arrive.
  uint64_t released = 0;
  if (state_ == RecvState::kRecv || state_ == RecvState::kSizeKnown ||
      state_ == RecvState::kDataRecvd) {
    released = highest_ - read_offset_;
    read_offset_ = highest_;
  }
  release_buffer();
  return released;
}

bool RecvStream::wants_max_stream_data() const {
  if (state_ != RecvState::kRecv || stopped_) return false;  // 3.2: no updates once size known
  return max_stream_data_ - read_offset_ < window_ - window_ / 2;
}

uint64_t RecvStream::advance_max_stream_data() {
  max_stream_data_ = std::max(max_stream_data_, read_offset_ + window_);
  return max_stream_data_;
}

bool RecvStream::terminal() const {
  if (state_ == RecvState::kDataRead || state_ == RecvState::kResetRead) return true;
  // Stopped: once the final size is known nothing more is owed to anyone.
  return stopped_ && final_size_ != kNoFinalSize;
}

void RecvStream::release_buffer() {
  buf_.reset();
  received_ = OffsetBitmap();
  contiguous_ = std::max(contiguous_, read_offset_);
}

}  // namespace camp::quic
