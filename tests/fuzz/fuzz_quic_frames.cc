// libFuzzer target for the QUIC frame codec. Input: one control byte, then a packet payload.
// The control byte picks the packet type (bits 0-1), this endpoint's role (bits 2-3) and which
// extensions are on (bits 4-6; bit 7 gives DATAGRAM a small size limit). Properties:
//  - every frame the parser accepts is written back by write_frame, in frame_size() bytes and no
//    more than the frame took, and the writer refuses one byte less room;
//  - parsing what was written gives the same frame (same type, equal fields);
//  - the rewritten payload parses as a whole, frame for frame, with the same options;
//  - a payload the parser refuses is refused with a transport error code, never a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "dataplane/quic/wire/frame_parser.h"
#include "dataplane/quic/wire/frame_writer.h"

using namespace camp::quic;

namespace {

constexpr size_t kOut = 1 << 17;
uint8_t g_out[kOut];

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_quic_frames: property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > kOut) return 0;
  const uint8_t ctl = data[0];
  const PacketType types[4] = {PacketType::kInitial, PacketType::kZeroRtt, PacketType::kHandshake,
                               PacketType::kOneRtt};
  const PacketType pt = types[ctl & 3];
  FrameParseOptions o;
  o.local_role = static_cast<Role>((ctl >> 2) % 3);
  o.max_datagram_frame_size = (ctl & 0x10) ? ((ctl & 0x80) ? 40 : camp::varint::kMax) : 0;
  o.multipath = ctl & 0x20;
  o.ack_frequency = ctl & 0x40;
  o.min_ack_delay_us = (ctl & 0x80) ? 1000 : 0;

  const uint8_t* payload = data + 1;
  const size_t n = size - 1;
  FrameReader rd(payload, n, pt, o);
  Frame f;
  size_t out = 0, frames = 0;
  size_t last_end = 0;
  while (rd.next(f)) {
    const size_t took = rd.offset() - last_end;
    last_end = rd.offset();
    const size_t sz = frame_size(f);
    check(sz > 0, "frame_size of a parsed frame is 0");
    check(sz <= took, "rewritten frame longer than the original");
    check(out + sz <= kOut, "output room");
    check(write_frame(g_out + out, sz - 1, f) == 0, "writer wrote into too little room");
    const size_t w = write_frame(g_out + out, kOut - out, f);
    check(w == sz, "write_frame and frame_size disagree");
    Frame g;
    const FrameParseResult r = parse_frame(g_out + out, w, pt, o, g);
    check(r.ok(), "rewritten frame refused");
    check(r.consumed == w, "rewritten frame not consumed whole");
    check(r.frame_type == frame_type_of(f), "frame type changed");
    check(g == f, "rewritten frame differs");
    out += w;
    ++frames;
  }
  if (rd.failed()) {
    const uint64_t e = static_cast<uint64_t>(rd.error());
    check(e == 0x07 || e == 0x0a, "unexpected error code");
    return 0;
  }
  check(rd.offset() == n, "reader stopped early without an error");
  FrameReader again(g_out, out, pt, o);
  size_t count = 0;
  while (again.next(f)) ++count;
  check(!again.failed() && count == frames, "rewritten payload does not parse as a whole");
  return 0;
}
