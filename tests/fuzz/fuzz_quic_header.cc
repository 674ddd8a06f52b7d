// libFuzzer target for the packet header parser. Input: one byte giving the short-header DCID
// length (0..21; 21 must be refused), then a datagram, copied to an exact-size buffer so ASan
// sees any read past its end. Properties, for each coalesced packet in turn:
//  - every view the parser returns lies inside the datagram, and pn_offset <= packet_length;
//  - Version Negotiation and Retry headers are rewritten byte for byte by their writers, and a
//    long header of Initial/0-RTT/Handshake by write_long_header parses back to the same fields
//    (reserved bits aside: they are protected).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/quic/wire/packet_header.h"

using namespace camp::quic;

namespace {

uint8_t g_out[1 << 16];

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_quic_header: property violated: %s\n", what);
    std::abort();
  }
}

void check_inside(ByteView v, const uint8_t* p, size_t n) {
  if (v.size == 0) return;
  check(v.data >= p && v.size <= n && v.data - p <= static_cast<ptrdiff_t>(n - v.size),
        "view outside the datagram");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > sizeof g_out) return 0;
  const size_t short_len = data[0] % 22;
  std::vector<uint8_t> dgram(data + 1, data + size);
  const uint8_t* base = dgram.data();
  size_t pos = 0;
  for (int i = 0; i < 64 && pos < dgram.size(); ++i) {
    const uint8_t* p = base + pos;
    const size_t n = dgram.size() - pos;
    PacketHeader h;
    const HeaderStatus st = parse_packet_header(p, n, short_len, h);
    if (st == HeaderStatus::kUnsupportedVersion) {
      check_inside(h.dcid, p, n);
      check_inside(h.scid, p, n);
      return 0;
    }
    if (st != HeaderStatus::kOk) return 0;
    check(short_len <= 20 || h.type != PacketType::kOneRtt, "21-byte short CID accepted");
    check(h.pn_offset <= h.packet_length && h.packet_length <= n, "offsets");
    for (ByteView v : {h.dcid, h.scid, h.token, h.retry_integrity_tag, h.supported_versions}) {
      check_inside(v, p, n);
    }
    size_t w = 0;
    switch (h.type) {
      case PacketType::kVersionNegotiation: {
        std::vector<uint32_t> versions(h.supported_version_count());
        for (size_t k = 0; k < versions.size(); ++k) versions[k] = h.supported_version(k);
        w = write_version_negotiation(g_out, sizeof g_out, h.dcid, h.scid, versions.data(),
                                      versions.size(), h.first_byte & 0x7f);
        check(w == n && std::memcmp(g_out, p, n) == 0, "Version Negotiation rewrite");
        break;
      }
      case PacketType::kRetry:
        w = write_retry(g_out, sizeof g_out, h.version, h.dcid, h.scid, h.token,
                        h.retry_integrity_tag, h.first_byte & 0x0f);
        check(w == n && std::memcmp(g_out, p, n) == 0, "Retry rewrite");
        break;
      case PacketType::kOneRtt:
        check(h.pn_offset == 1 + short_len && h.packet_length == n, "short header layout");
        break;
      default: {
        const size_t pn_len = (h.first_byte & 3) + 1;
        if (h.length < pn_len) break;  // no room for the packet number: left to the caller
        LongHeaderFields f;
        f.type = h.type;
        f.version = h.version;
        f.dcid = h.dcid;
        f.scid = h.scid;
        f.token = h.token;
        f.pn_length = pn_len;
        for (size_t k = 0; k < pn_len; ++k) f.packet_number = f.packet_number << 8 | p[h.pn_offset + k];
        f.payload_length = h.length - pn_len;
        // Field encodings may differ (a padded Token Length or Length), so compare by parsing
        // the rewritten packet back.
        w = write_long_header(g_out, sizeof g_out, f);
        check(w > 0 && w + f.payload_length <= sizeof g_out, "long header rewrite refused");
        std::memcpy(g_out + w, p + h.pn_offset + pn_len, f.payload_length);
        PacketHeader g;
        check(parse_packet_header(g_out, w + f.payload_length, short_len, g) == HeaderStatus::kOk,
              "rewritten long header refused");
        check(g.type == h.type && g.version == h.version && g.dcid == h.dcid &&
                  g.scid == h.scid && g.token == h.token && g.length == h.length &&
                  (g.first_byte | 0x0c) == (h.first_byte | 0x0c) &&
                  g.packet_length == w + f.payload_length &&
                  std::memcmp(g_out + g.pn_offset, p + h.pn_offset, pn_len) == 0,
              "rewritten long header differs");
        break;
      }
    }
    if (h.type == PacketType::kOneRtt || h.packet_length == 0) break;
    pos += h.packet_length;
  }
  return 0;
}
