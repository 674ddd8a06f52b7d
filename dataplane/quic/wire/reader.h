// A bounds-checked cursor over received bytes, shared by the frame, header and transport parameter
// parsers. Every read checks the remaining length first, so no parser can read out of bounds.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/codec/varint.h"
#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic::wire_detail {

struct Reader {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;

  size_t left() const { return n - pos; }
  bool varint(uint64_t& v) {
    const size_t k = varint::decode(p + pos, n - pos, &v);
    pos += k;
    return k != 0;
  }
  bool u8(uint8_t& v) {
    if (pos >= n) return false;
    v = p[pos++];
    return true;
  }
  bool u16(uint16_t& v) {
    if (left() < 2) return false;
    v = static_cast<uint16_t>(p[pos] << 8 | p[pos + 1]);
    pos += 2;
    return true;
  }
  bool u32(uint32_t& v) {
    if (left() < 4) return false;
    v = uint32_t{p[pos]} << 24 | uint32_t{p[pos + 1]} << 16 | uint32_t{p[pos + 2]} << 8 | p[pos + 3];
    pos += 4;
    return true;
  }
  // len is checked against what is left before any pointer arithmetic (len may be a peer's 2^62).
  bool bytes(uint64_t len, ByteView& out) {
    if (len > left()) return false;
    out = ByteView(p + pos, static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
    return true;
  }
};

// A bounds-checked writer: each put fails (and the whole write returns 0) once the room runs out.
// With p == nullptr it only counts, which gives frame sizes without a scratch buffer.
struct Writer {
  uint8_t* p;
  size_t cap;
  size_t pos = 0;
  bool ok = true;

  bool room(size_t len) {
    if (!ok || cap - pos < len) return ok = false;
    return true;
  }
  bool varint(uint64_t v) { return varint_len(v, varint::size(v)); }
  bool varint_len(uint64_t v, size_t len) {
    if (len == 0 || v > varint::kMax || varint::size(v) > len || !room(len)) return ok = false;
    if (p) varint::encode_len(p + pos, len, v, len);
    pos += len;
    return true;
  }
  bool u8(uint8_t v) { return uint(v, 1); }
  bool uint(uint64_t v, size_t len) {  // big-endian, len bytes
    if (!room(len)) return false;
    for (size_t i = len; p && i-- > 0;) {
      p[pos + i] = static_cast<uint8_t>(v);
      v >>= 8;
    }
    pos += len;
    return true;
  }
  bool bytes(ByteView b) {
    if (!room(b.size)) return false;
    if (p && b.size) __builtin_memcpy(p + pos, b.data, b.size);
    pos += b.size;
    return true;
  }
  bool zeros(size_t len) {
    if (!room(len)) return false;
    if (p && len) __builtin_memset(p + pos, 0, len);
    pos += len;
    return true;
  }
  size_t result() const { return ok ? pos : 0; }
};

}  // namespace camp::quic::wire_detail
