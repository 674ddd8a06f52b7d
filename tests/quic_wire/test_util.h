// Helpers shared by the QUIC wire tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/quic/wire/frame_parser.h"
#include "dataplane/quic/wire/frame_writer.h"

namespace camp::quic::test {

inline std::vector<uint8_t> hex(const std::string& s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

// Every extension on, as after a handshake that negotiated all of them.
inline FrameParseOptions all_extensions() {
  FrameParseOptions o;
  o.max_datagram_frame_size = varint::kMax;
  o.multipath = true;
  o.ack_frequency = true;
  return o;
}

inline FrameParseResult parse_one(const std::vector<uint8_t>& b, Frame& f,
                                  PacketType pt = PacketType::kOneRtt,
                                  const FrameParseOptions& o = all_extensions()) {
  return parse_frame(b.data(), b.size(), pt, o, f);
}

inline ByteView view(const std::vector<uint8_t>& v) { return ByteView(v.data(), v.size()); }

}  // namespace camp::quic::test
