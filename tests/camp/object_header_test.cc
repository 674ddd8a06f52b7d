// The CAMP object header: wire layout, round trips, every error code, extension skipping and
// forward compatibility.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/camp/object_header.h"
#include "dataplane/codec/varint.h"

namespace camp::campfmt {
namespace {

using Bytes = std::vector<uint8_t>;

ObjectHeader audio_example() {
  ObjectHeader h;
  h.modality = Modality::audio;
  h.reliable = true;
  h.sync_end = false;
  h.object_id = 96;
  h.sync_index = 12;
  h.part = 1;
  h.generation_us = 1'000'000;
  h.deadline_us = 1'150'000;
  h.payload_length = 320;
  return h;
}

Bytes encode_vec(const ObjectHeader& h) {
  Bytes b(encoded_size(h));
  EXPECT_NE(b.size(), 0u);
  EXPECT_EQ(encode(h, b.data(), b.size()), b.size());
  return b;
}

// Decodes from an allocation of exactly b's size so that ASan sees any over-read.
Error decode_exact(const Bytes& b, ObjectHeader* h, size_t* header_size) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[b.empty() ? 1 : b.size()]);
  if (!b.empty()) std::memcpy(buf.get(), b.data(), b.size());
  const Error e = decode(buf.get(), b.size(), h, header_size);
  h->extensions = nullptr;  // points into buf, which goes away
  return e;
}

void put(Bytes& b, uint64_t v, size_t len = 0) {
  uint8_t tmp[8];
  const size_t w = len ? varint::encode_len(tmp, 8, v, len) : varint::encode(tmp, 8, v);
  ASSERT_NE(w, 0u);
  b.insert(b.end(), tmp, tmp + w);
}

// Builds a header by hand: version, then Header Length over body.
Bytes with_header_length(uint64_t version, const Bytes& body) {
  Bytes b;
  put(b, version);
  put(b, body.size());
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

// The fixed fields of audio_example(), minimally encoded.
Bytes example_body() {
  Bytes f;
  for (uint64_t v : {1u, 1u, 96u, 12u, 1u, 1'000'000u, 150'000u, 320u}) put(f, v);
  return f;
}

TEST(ObjectHeader, WireLayoutIsPinned) {
  const Bytes want = {0x00, 0x10,                    // version 0, header length 16
                      0x01,                          // modality A
                      0x01,                          // flags: reliable
                      0x40, 0x60,                    // object id 96
                      0x0c,                          // sync index 12
                      0x01,                          // part 1
                      0x80, 0x0f, 0x42, 0x40,        // generation 1 000 000 us
                      0x80, 0x02, 0x49, 0xf0,        // deadline budget 150 000 us
                      0x41, 0x40};                   // payload length 320
  EXPECT_EQ(encode_vec(audio_example()), want);
  EXPECT_EQ(with_header_length(0, example_body()), want);
}

TEST(ObjectHeader, RoundTrips) {
  std::vector<ObjectHeader> cases;
  cases.push_back(audio_example());
  ObjectHeader t;  // text token: one object per k, reliable, no deadline
  t.modality = Modality::text;
  t.reliable = true;
  t.sync_end = true;
  t.object_id = 0;
  t.sync_index = 0;
  t.deadline_us = kNoDeadline;
  t.payload_length = 5;
  cases.push_back(t);
  ObjectHeader v;  // video frame at the top of every range
  v.modality = Modality::video;
  v.sync_end = true;
  v.object_id = varint::kMax;
  v.sync_index = varint::kMax;
  v.part = varint::kMax;
  v.generation_us = varint::kMax - 1;
  v.deadline_us = varint::kMax;
  v.payload_length = kMaxPayloadLength;
  cases.push_back(v);
  ObjectHeader z;  // all zero, deadline one us after generation
  z.deadline_us = 1;
  cases.push_back(z);
  const Bytes ext = [] {
    Bytes e(64);
    const uint8_t val[] = {1, 2, 3};
    size_t n = encode_extension(e.data(), e.size(), 0x21, val, 3);
    n += encode_extension(e.data() + n, e.size() - n, varint::kMax, nullptr, 0);
    e.resize(n);
    return e;
  }();
  ObjectHeader x = audio_example();
  x.extensions = ext.data();
  x.extensions_length = ext.size();
  cases.push_back(x);

  for (const ObjectHeader& h : cases) {
    const Bytes b = encode_vec(h);
    ObjectHeader got;
    size_t header_size = 0;
    ASSERT_EQ(decode(b.data(), b.size(), &got, &header_size), Error::ok);
    EXPECT_EQ(header_size, b.size());
    EXPECT_TRUE(got == h);
    // Decoding needs no payload, and leaves whatever follows alone.
    Bytes more = b;
    more.push_back(0xff);
    ASSERT_EQ(decode(more.data(), more.size(), &got, &header_size), Error::ok);
    EXPECT_EQ(header_size, b.size());
  }
}

TEST(ObjectHeader, EqualityLooksAtEveryField) {
  const ObjectHeader a = audio_example();
  ObjectHeader b = a;
  EXPECT_TRUE(a == b);
  b.part = 2;
  EXPECT_FALSE(a == b);
  b = a;
  b.sync_end = true;
  EXPECT_FALSE(a == b);
  b = a;
  b.deadline_us = kNoDeadline;
  EXPECT_FALSE(a == b);
  const uint8_t e1[] = {1, 0}, e2[] = {2, 0};
  b = a;
  ObjectHeader c = a;
  b.extensions = e1;
  b.extensions_length = 2;
  c.extensions = e2;
  c.extensions_length = 2;
  EXPECT_FALSE(b == c);
}

TEST(ObjectHeaderErrors, TruncatedAtEveryByte) {
  const Bytes b = encode_vec(audio_example());
  for (size_t n = 0; n < b.size(); ++n) {
    ObjectHeader h;
    size_t hs;
    EXPECT_EQ(decode_exact(Bytes(b.begin(), b.begin() + n), &h, &hs), Error::truncated) << n;
  }
}

TEST(ObjectHeaderErrors, BadVersion) {
  for (uint64_t version : {uint64_t{1}, uint64_t{2}, uint64_t{0xff00}, varint::kMax}) {
    ObjectHeader h;
    size_t hs;
    EXPECT_EQ(decode_exact(with_header_length(version, example_body()), &h, &hs),
              Error::bad_version);
  }
}

TEST(ObjectHeaderErrors, BadModality) {
  for (uint64_t m : {uint64_t{3}, uint64_t{4}, uint64_t{63}, uint64_t{1000}}) {
    Bytes body;
    put(body, m);
    const Bytes rest = example_body();
    body.insert(body.end(), rest.begin() + 1, rest.end());
    ObjectHeader h;
    size_t hs;
    EXPECT_EQ(decode_exact(with_header_length(0, body), &h, &hs), Error::bad_modality) << m;
  }
}

TEST(ObjectHeaderErrors, BadFlags) {
  for (uint64_t f : {uint64_t{4}, uint64_t{5}, uint64_t{0x80}, varint::kMax}) {
    Bytes body = {0x00};
    put(body, f);
    const Bytes rest = example_body();
    body.insert(body.end(), rest.begin() + 2, rest.end());
    ObjectHeader h;
    size_t hs;
    EXPECT_EQ(decode_exact(with_header_length(0, body), &h, &hs), Error::bad_flags) << f;
  }
}

TEST(ObjectHeaderErrors, Overflow) {
  ObjectHeader h;
  size_t hs;
  // Header Length past the bound (the bytes need not even be there).
  Bytes big;
  put(big, 0);
  put(big, kMaxHeaderLength + 1);
  EXPECT_EQ(decode_exact(big, &h, &hs), Error::overflow);
  // Payload length past the bound.
  {
    Bytes body;
    for (uint64_t v : {0u, 0u, 0u, 0u, 0u, 0u, 0u}) put(body, v);
    put(body, kMaxPayloadLength + 1);
    EXPECT_EQ(decode_exact(with_header_length(0, body), &h, &hs), Error::overflow);
  }
  // Generation + deadline budget past the varint range.
  {
    Bytes body;
    for (uint64_t v : {0u, 0u, 0u, 0u, 0u}) put(body, v);
    put(body, varint::kMax - 10);
    put(body, 11);
    put(body, 0);
    EXPECT_EQ(decode_exact(with_header_length(0, body), &h, &hs), Error::overflow);
    body.clear();
    for (uint64_t v : {0u, 0u, 0u, 0u, 0u}) put(body, v);
    put(body, varint::kMax - 10);
    put(body, 10);  // exactly at the top: fine
    put(body, 0);
    ASSERT_EQ(decode_exact(with_header_length(0, body), &h, &hs), Error::ok);
    EXPECT_EQ(h.deadline_us, varint::kMax);
  }
}

TEST(ObjectHeaderErrors, LengthMismatch) {
  const Bytes body = example_body();
  ObjectHeader h;
  size_t hs;
  // Header Length shorter than the fields: every cut, with the rest still in the input.
  for (size_t cut = 0; cut < body.size(); ++cut) {
    Bytes b;
    put(b, 0);
    put(b, cut);
    b.insert(b.end(), body.begin(), body.end());
    EXPECT_EQ(decode_exact(b, &h, &hs), Error::length_mismatch) << cut;
  }
  // Bytes after the fields that are not whole extensions.
  const Bytes bad_tails[] = {{0x05}, {0x05, 0x02, 0xaa}, {0x40}, {0x05, 0x40, 0x01},
                             {0x01, 0x00, 0x05}};
  for (const Bytes& tail : bad_tails) {
    Bytes b2 = body;
    b2.insert(b2.end(), tail.begin(), tail.end());
    EXPECT_EQ(decode_exact(with_header_length(0, b2), &h, &hs), Error::length_mismatch);
  }
}

TEST(ObjectHeaderErrors, EncoderRejects) {
  uint8_t buf[kMaxHeaderLength + 64];
  size_t written = 99;
  ObjectHeader h = audio_example();
  const size_t need = encoded_size(h);
  for (size_t cap = 0; cap < need; ++cap) {
    EXPECT_EQ(encode(h, buf, cap, &written), Error::buffer_too_small) << cap;
    EXPECT_EQ(written, 0u);
    EXPECT_EQ(encode(h, buf, cap), 0u);
  }
  EXPECT_EQ(encode(h, buf, need, &written), Error::ok);
  EXPECT_EQ(written, need);

  auto rejects = [&](const ObjectHeader& bad) {
    EXPECT_EQ(encoded_size(bad), 0u);
    return encode(bad, buf, sizeof buf, &written) == Error::invalid_field && written == 0;
  };
  ObjectHeader b = h;
  b.modality = static_cast<Modality>(3);
  EXPECT_TRUE(rejects(b));
  b = h;
  b.object_id = varint::kMax + 1;
  EXPECT_TRUE(rejects(b));
  b = h;
  b.sync_index = ~uint64_t{0};
  EXPECT_TRUE(rejects(b));
  b = h;
  b.part = varint::kMax + 1;
  EXPECT_TRUE(rejects(b));
  b = h;
  b.generation_us = varint::kMax + 1;
  b.deadline_us = kNoDeadline;
  EXPECT_TRUE(rejects(b));
  b = h;
  b.deadline_us = b.generation_us;  // a deadline must come after generation
  EXPECT_TRUE(rejects(b));
  b.deadline_us = b.generation_us - 1;
  EXPECT_TRUE(rejects(b));
  b.deadline_us = varint::kMax + 1;
  EXPECT_TRUE(rejects(b));
  b = h;
  b.payload_length = kMaxPayloadLength + 1;
  EXPECT_TRUE(rejects(b));
  const uint8_t malformed[] = {0x05, 0x03, 0x00};
  b = h;
  b.extensions = malformed;
  b.extensions_length = sizeof malformed;
  EXPECT_TRUE(rejects(b));
  b.extensions = nullptr;
  b.extensions_length = 4;
  EXPECT_TRUE(rejects(b));
  std::vector<uint8_t> huge(kMaxHeaderLength), filler(kMaxHeaderLength, 0x55);
  const size_t w =
      encode_extension(huge.data(), huge.size(), 9, filler.data(), kMaxHeaderLength - 3);
  ASSERT_EQ(w, kMaxHeaderLength);
  b = h;
  b.extensions = huge.data();
  b.extensions_length = w;
  EXPECT_TRUE(rejects(b));
}

TEST(ObjectHeader, DecodeObject) {
  const ObjectHeader a = audio_example();
  ObjectHeader small = a;
  small.payload_length = 3;
  Bytes stream = encode_vec(small);
  const size_t first_header = stream.size();
  stream.insert(stream.end(), {'a', 'b', 'c'});
  ObjectHeader second = small;
  second.object_id = 97;
  second.part = 2;
  second.sync_end = true;
  second.payload_length = 0;
  const Bytes s2 = encode_vec(second);
  stream.insert(stream.end(), s2.begin(), s2.end());

  ObjectHeader h;
  const uint8_t* payload = nullptr;
  size_t object_size = 0;
  ASSERT_EQ(decode_object(stream.data(), stream.size(), &h, &payload, &object_size), Error::ok);
  EXPECT_TRUE(h == small);
  EXPECT_EQ(object_size, first_header + 3);
  EXPECT_EQ(payload, stream.data() + first_header);
  EXPECT_EQ(0, std::memcmp(payload, "abc", 3));
  ASSERT_EQ(decode_object(stream.data() + object_size, stream.size() - object_size, &h, &payload,
                          &object_size),
            Error::ok);
  EXPECT_TRUE(h == second);
  // A payload cut short is truncated, at every length.
  for (size_t n = first_header; n < first_header + 3; ++n) {
    EXPECT_EQ(decode_object(stream.data(), n, &h, &payload, &object_size), Error::truncated);
  }
}

TEST(ObjectHeader, UnknownExtensionsAreSkipped) {
  // Extensions of types this code has never heard of, one of them long, between the fixed fields
  // and the payload.
  Bytes ext(2000);
  size_t n = 0;
  const uint8_t small[] = {0xde, 0xad};
  std::vector<uint8_t> large(1500, 0x77);
  n += encode_extension(ext.data() + n, ext.size() - n, 0x3fff, small, sizeof small);
  n += encode_extension(ext.data() + n, ext.size() - n, 0x1234567, large.data(), large.size());
  n += encode_extension(ext.data() + n, ext.size() - n, 0, nullptr, 0);
  ext.resize(n);
  Bytes body = example_body();
  body.insert(body.end(), ext.begin(), ext.end());
  Bytes wire = with_header_length(0, body);
  const size_t header_bytes = wire.size();
  wire.insert(wire.end(), {'p', 'a', 'y'});

  ObjectHeader h;
  size_t hs = 0;
  ASSERT_EQ(decode(wire.data(), wire.size(), &h, &hs), Error::ok);
  EXPECT_EQ(hs, header_bytes);  // the payload starts right after the skipped extensions
  ObjectHeader want = audio_example();
  want.extensions = ext.data();
  want.extensions_length = ext.size();
  EXPECT_TRUE(h == want);
  EXPECT_EQ(h.extensions, wire.data() + header_bytes - ext.size());

  ExtensionReader r(h.extensions, h.extensions_length);
  uint64_t type;
  const uint8_t* value;
  size_t len;
  ASSERT_TRUE(r.next(&type, &value, &len));
  EXPECT_EQ(type, 0x3fffu);
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(value[0], 0xde);
  ASSERT_TRUE(r.next(&type, &value, &len));
  EXPECT_EQ(type, 0x1234567u);
  EXPECT_EQ(len, 1500u);
  ASSERT_TRUE(r.next(&type, &value, &len));
  EXPECT_EQ(type, 0u);
  EXPECT_EQ(len, 0u);
  EXPECT_FALSE(r.next(&type, &value, &len));
  EXPECT_FALSE(r.malformed());

  // Re-encoding carries the extensions through unchanged.
  Bytes again(encoded_size(h));
  ASSERT_EQ(encode(h, again.data(), again.size()), header_bytes);
  EXPECT_TRUE(std::equal(again.begin(), again.end(), wire.begin()));
}

TEST(ObjectHeader, ForwardCompatibleWriter) {
  // What a later writer of version 0 may send: non-minimal varints anywhere, and new fields as
  // extensions. This reader must get the same header out of it.
  Bytes body;
  put(body, 1, 8);
  put(body, 1, 4);
  put(body, 96, 8);
  put(body, 12, 2);
  put(body, 1, 8);
  put(body, 1'000'000, 8);
  put(body, 150'000, 8);
  put(body, 320, 4);
  uint8_t ext[32];
  const uint8_t value[] = {9, 9, 9, 9};
  const size_t n = encode_extension(ext, sizeof ext, 0x2a, value, sizeof value);
  body.insert(body.end(), ext, ext + n);
  Bytes wire;
  put(wire, 0, 8);              // version 0, non-minimal
  put(wire, body.size(), 8);    // header length, non-minimal
  wire.insert(wire.end(), body.begin(), body.end());
  ObjectHeader h;
  size_t hs;
  ASSERT_EQ(decode(wire.data(), wire.size(), &h, &hs), Error::ok);
  EXPECT_EQ(hs, wire.size());
  ObjectHeader want = audio_example();
  want.extensions = ext;
  want.extensions_length = n;
  EXPECT_TRUE(h == want);
  // A future incompatible version is refused, not misread.
  wire[7] = 1;  // the last byte of the 8-byte version field
  EXPECT_EQ(decode(wire.data(), wire.size(), &h, &hs), Error::bad_version);
}

TEST(ObjectHeader, NeverReadsOutOfBoundsOnRandomInput) {
  std::mt19937_64 rng(7);
  const Bytes good = encode_vec(audio_example());
  for (int i = 0; i < 20000; ++i) {
    Bytes b = good;
    // Flip a few bytes and cut anywhere.
    for (int f = 0; f < 3; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    ObjectHeader h;
    size_t hs = 0;
    const Error e = decode_exact(b, &h, &hs);
    if (e == Error::ok) {
      EXPECT_LE(hs, b.size());
    }
  }
}

TEST(ObjectHeader, Names) {
  EXPECT_STREQ(modality_name(Modality::text), "T");
  EXPECT_STREQ(modality_name(Modality::audio), "A");
  EXPECT_STREQ(modality_name(Modality::video), "V");
  EXPECT_STREQ(error_name(Error::ok), "ok");
  EXPECT_STREQ(error_name(Error::truncated), "truncated");
  EXPECT_STREQ(error_name(Error::length_mismatch), "length_mismatch");
  EXPECT_STREQ(error_name(Error::invalid_field), "invalid_field");
}

}  // namespace
}  // namespace camp::campfmt
