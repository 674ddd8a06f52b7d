// Helpers shared by the ACK tracker tests: parse a written ACK frame back with the wire parser.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <variant>
#include <vector>

#include "dataplane/quic/ack/ack_tracker.h"
#include "dataplane/quic/wire/frame_parser.h"

namespace camp::quic::test {

inline constexpr TimeNs kMs = 1'000'000;  // nanoseconds

struct DecodedAck {
  bool ok = false;
  AckFrame frame;                // encoded_ranges points into the caller's buffer
  std::vector<AckRange> ranges;  // largest first, as in the frame
};

// Parses exactly one ACK / PATH_ACK frame filling buf[0..n).
inline DecodedAck decode_ack(const uint8_t* buf, size_t n) {
  DecodedAck d;
  FrameParseOptions o;
  o.multipath = true;
  o.ack_frequency = true;
  Frame f;
  const FrameParseResult r = parse_frame(buf, n, PacketType::kOneRtt, o, f);
  if (!r.ok() || r.consumed != n || !std::holds_alternative<AckFrame>(f)) return d;
  d.frame = std::get<AckFrame>(f);
  AckRangeIterator it = d.frame.ranges();
  AckRange range;
  while (it.next(range)) d.ranges.push_back(range);
  d.ok = true;
  return d;
}

// The tracker's remembered ranges, largest first.
inline std::vector<AckRange> tracker_ranges(const AckTracker& t) {
  std::vector<AckRange> out;
  for (size_t i = t.range_count(); i-- > 0;) out.push_back(t.range(i));
  return out;
}

// Writes with plenty of room and parses it back.
inline DecodedAck write_and_decode(AckTracker& t, std::vector<uint8_t>& buf, TimeNs now,
                                   uint8_t exponent = 3, const uint64_t* path_id = nullptr) {
  buf.assign(4096, 0);
  const size_t n = t.write_ack(buf.data(), buf.size(), now, exponent, path_id);
  if (n == 0) return {};
  buf.resize(n);
  return decode_ack(buf.data(), n);
}

}  // namespace camp::quic::test
