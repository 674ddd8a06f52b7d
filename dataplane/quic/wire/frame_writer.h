// Frame serialisation. Every writer puts one frame into buf[0..cap) and returns the bytes
// written, or 0 when it does not fit or when the frame is one the parser would refuse (a CID
// over 20 bytes, MAX_STREAMS over 2^60, ACK ranges below zero, ...), so what is written always
// parses back. Integers use their shortest encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/quic/wire/frames.h"

namespace camp::quic {

// Writes any frame, including an AckFrame parsed from a packet (its ranges are re-encoded).
size_t write_frame(uint8_t* buf, size_t cap, const Frame& frame);
// The same for the frames of nearly every packet, without building a Frame for them.
size_t write_frame(uint8_t* buf, size_t cap, const StreamFrame& frame);
size_t write_frame(uint8_t* buf, size_t cap, const DatagramFrame& frame);
// A STREAM frame but its data: the bytes before the data, when the whole frame fits in cap; the
// caller puts the data right after them (or has the sealer read it from where it is).
size_t write_stream_frame_head(uint8_t* buf, size_t cap, const StreamFrame& frame);

// Bytes write_frame would write given unlimited room; 0 for a frame it would refuse.
size_t frame_size(const Frame& frame);

// Writes an ACK (or, with path_id, a PATH_ACK) frame from ranges sorted from the largest packet
// number down. Each range needs smallest <= largest and at least one missing packet between it
// and the one before (next.largest + 2 <= prev.smallest). ecn selects the 0x03 / 0x3f type.
size_t write_ack(uint8_t* buf, size_t cap, std::span<const AckRange> ranges, uint64_t ack_delay,
                 const EcnCounts* ecn = nullptr, const uint64_t* path_id = nullptr);

// How many bytes of data a frame can carry when it must fit in space bytes: STREAM (the OFF bit
// set when offset != 0), CRYPTO, DATAGRAM. 0 when not even an empty frame fits. The result also
// respects offset + length <= 2^62-1.
size_t stream_data_fits(uint64_t stream_id, uint64_t offset, bool with_length, size_t space);
size_t crypto_data_fits(uint64_t offset, size_t space);
size_t datagram_data_fits(bool with_length, size_t space);

}  // namespace camp::quic
