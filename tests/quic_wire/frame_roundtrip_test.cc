// Every frame type: write -> parse gives the same frame, the exact size, and every shorter buffer
// is refused by the writer and every truncation by the parser.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tests/quic_wire/test_util.h"

namespace camp::quic {
namespace {

using test::all_extensions;
using test::hex;
using test::view;

const std::vector<uint8_t> kCid20(20, 0xc1);
const std::vector<uint8_t> kToken16 = hex("00112233445566778899aabbccddeeff");
const std::vector<uint8_t> kData = hex("68656c6c6f20717569630a");
const std::vector<uint8_t> kBig(70000, 0x5a);
constexpr uint64_t kMax = varint::kMax;

std::vector<Frame> sample_frames() {
  std::vector<Frame> v;
  v.push_back(PingFrame{});
  v.push_back(ResetStreamFrame{0, 0, 0});
  v.push_back(ResetStreamFrame{kMax, kMax, kMax});
  v.push_back(StopSendingFrame{63, 64});
  v.push_back(StopSendingFrame{kMax, kMax});
  v.push_back(CryptoFrame{0, {}});
  v.push_back(CryptoFrame{12345, view(kData)});
  v.push_back(CryptoFrame{kMax - kData.size(), view(kData)});
  v.push_back(NewTokenFrame{view(kToken16)});
  v.push_back(NewTokenFrame{view(kBig)});
  for (int bits = 0; bits < 8; ++bits) {
    StreamFrame s;
    s.has_offset = bits & 4;
    s.has_length = bits & 2;
    s.fin = bits & 1;
    s.stream_id = 4 * bits + 1;
    s.offset = s.has_offset ? 16383 : 0;
    s.data = view(kData);
    v.push_back(s);
  }
  v.push_back(StreamFrame{kMax, kMax - 1, ByteView(kData.data(), 1), true, true, true});
  v.push_back(StreamFrame{0, 0, {}, false, true, true});
  v.push_back(StreamFrame{1, 1u << 30, view(kBig), true, true, false});
  v.push_back(MaxDataFrame{0});
  v.push_back(MaxDataFrame{kMax});
  v.push_back(MaxStreamDataFrame{3, 1073741823});
  v.push_back(MaxStreamDataFrame{kMax, kMax});
  v.push_back(MaxStreamsFrame{true, 0});
  v.push_back(MaxStreamsFrame{false, kMaxStreamsLimit});
  v.push_back(DataBlockedFrame{1u << 30});
  v.push_back(StreamDataBlockedFrame{8, kMax});
  v.push_back(StreamsBlockedFrame{true, kMaxStreamsLimit});
  v.push_back(StreamsBlockedFrame{false, 7});
  v.push_back(NewConnectionIdFrame{false, 0, 0, 0, ByteView(kCid20.data(), 1), view(kToken16)});
  v.push_back(NewConnectionIdFrame{false, 0, kMax, kMax, view(kCid20), view(kToken16)});
  v.push_back(RetireConnectionIdFrame{false, 0, 0});
  v.push_back(RetireConnectionIdFrame{false, 0, kMax});
  v.push_back(PathChallengeFrame{0x0123456789abcdefull});
  v.push_back(PathResponseFrame{~0ull});
  v.push_back(ConnectionCloseFrame{false, 0x0a, 0x08, view(kData)});
  v.push_back(ConnectionCloseFrame{false, 0x1ff, 0, {}});
  v.push_back(ConnectionCloseFrame{true, kMax, 0, view(kData)});
  v.push_back(HandshakeDoneFrame{});
  v.push_back(DatagramFrame{true, view(kData)});
  v.push_back(DatagramFrame{false, view(kData)});
  v.push_back(DatagramFrame{true, {}});
  v.push_back(AckFrequencyFrame{0, 0, 0, 0});
  v.push_back(AckFrequencyFrame{kMax, kMax, kMaxAckDelayLimitUs - 1, kMax});
  v.push_back(ImmediateAckFrame{});
  v.push_back(PathAbandonFrame{kMaxPathId, 0x3e75});
  v.push_back(PathStatusFrame{true, 1, 2});
  v.push_back(PathStatusFrame{false, kMaxPathId, kMax});
  v.push_back(NewConnectionIdFrame{true, kMaxPathId, 5, 3, view(kCid20), view(kToken16)});
  v.push_back(RetireConnectionIdFrame{true, 7, 9});
  v.push_back(MaxPathIdFrame{0});
  v.push_back(MaxPathIdFrame{kMaxPathId});
  v.push_back(PathsBlockedFrame{kMaxPathId});
  v.push_back(PathCidsBlockedFrame{kMaxPathId, kMax});
  v.push_back(PaddingFrame{1});
  v.push_back(PaddingFrame{1200});
  return v;
}

// Frames whose data runs to the end of the packet must be last; everything else is fine anywhere.
bool runs_to_end(const Frame& f) {
  if (auto* s = std::get_if<StreamFrame>(&f)) return !s->has_length;
  if (auto* d = std::get_if<DatagramFrame>(&f)) return !d->has_length;
  return std::holds_alternative<PaddingFrame>(f);
}

TEST(FrameRoundTrip, EveryFrameTypeAlone) {
  std::vector<uint8_t> buf(100000);
  for (const Frame& f : sample_frames()) {
    SCOPED_TRACE(testing::Message() << "type 0x" << std::hex << frame_type_of(f));
    const size_t n = write_frame(buf.data(), buf.size(), f);
    ASSERT_GT(n, 0u);
    EXPECT_EQ(n, frame_size(f));
    Frame g;
    const FrameParseResult res =
        parse_frame(buf.data(), n, PacketType::kOneRtt, all_extensions(), g);
    ASSERT_TRUE(res.ok()) << to_string(res.error);
    EXPECT_EQ(res.consumed, n);
    EXPECT_EQ(res.frame_type, frame_type_of(f));
    EXPECT_TRUE(g == f);
    EXPECT_EQ(frame_type_of(g), frame_type_of(f));
    // One byte short of room: the writer refuses rather than writing part of a frame.
    EXPECT_EQ(write_frame(buf.data(), n - 1, f), 0u);
    // The typed writers of the per-packet frames write the same bytes and refuse alike.
    std::vector<uint8_t> typed(n);
    size_t m = n;
    if (const auto* s = std::get_if<StreamFrame>(&f)) {
      m = write_frame(typed.data(), n, *s);
      EXPECT_EQ(write_frame(typed.data(), n - 1, *s), 0u);
    } else if (const auto* d = std::get_if<DatagramFrame>(&f)) {
      m = write_frame(typed.data(), n, *d);
      EXPECT_EQ(write_frame(typed.data(), n - 1, *d), 0u);
    } else {
      std::copy(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(n), typed.begin());
    }
    EXPECT_EQ(m, n);
    EXPECT_TRUE(std::equal(typed.begin(), typed.end(), buf.begin()));
  }
}

TEST(FrameRoundTrip, TruncationIsFrameEncodingError) {
  std::vector<uint8_t> buf(100000);
  for (const Frame& f : sample_frames()) {
    if (runs_to_end(f)) continue;  // any prefix of those is itself a valid frame
    SCOPED_TRACE(testing::Message() << "type 0x" << std::hex << frame_type_of(f));
    const size_t n = write_frame(buf.data(), buf.size(), f);
    ASSERT_GT(n, 0u);
    // Every cut through a small frame; for large ones the cuts around the header and the end.
    for (size_t cut = 0; cut < n; cut = (cut < 64 || cut + 64 >= n) ? cut + 1 : n - 64) {
      Frame g;
      const FrameParseResult res =
          parse_frame(buf.data(), cut, PacketType::kOneRtt, all_extensions(), g);
      ASSERT_EQ(res.error, TransportError::FRAME_ENCODING_ERROR) << "cut " << cut;
      EXPECT_EQ(res.consumed, 0u);
    }
  }
}

TEST(FrameRoundTrip, WholePayloadThroughReader) {
  std::vector<Frame> frames;
  for (const Frame& f : sample_frames()) {
    if (!runs_to_end(f)) frames.push_back(f);
  }
  frames.push_back(StreamFrame{4, 0, view(kData), false, false, true});  // last: no LEN
  std::vector<uint8_t> buf(1 << 20);
  size_t n = 0;
  for (const Frame& f : frames) {
    const size_t k = write_frame(buf.data() + n, buf.size() - n, f);
    ASSERT_GT(k, 0u);
    n += k;
  }
  FrameReader rd(buf.data(), n, PacketType::kOneRtt, all_extensions());
  Frame g;
  size_t i = 0;
  while (rd.next(g)) {
    ASSERT_LT(i, frames.size());
    EXPECT_TRUE(g == frames[i]) << "frame " << i;
    ++i;
  }
  EXPECT_FALSE(rd.failed()) << to_string(rd.error());
  EXPECT_EQ(i, frames.size());
  EXPECT_EQ(rd.offset(), n);
}

TEST(FrameRoundTrip, PaddingRunIsOneFrame) {
  std::vector<uint8_t> b = hex("01 00 00 00 00 01");
  FrameReader rd(b.data(), b.size(), PacketType::kInitial);
  Frame f;
  ASSERT_TRUE(rd.next(f));
  EXPECT_TRUE(std::holds_alternative<PingFrame>(f));
  ASSERT_TRUE(rd.next(f));
  ASSERT_TRUE(std::holds_alternative<PaddingFrame>(f));
  EXPECT_EQ(std::get<PaddingFrame>(f).length, 4u);
  ASSERT_TRUE(rd.next(f));
  EXPECT_TRUE(std::holds_alternative<PingFrame>(f));
  EXPECT_FALSE(rd.next(f));
  EXPECT_FALSE(rd.failed());
}

TEST(FrameRoundTrip, FieldsPointIntoThePayload) {
  std::vector<uint8_t> b = hex("0f 04 40 10 03 61 62 63");  // STREAM OFF|LEN|FIN id 4 off 16
  Frame f;
  ASSERT_TRUE(test::parse_one(b, f).ok());
  const auto& s = std::get<StreamFrame>(f);
  EXPECT_EQ(s.stream_id, 4u);
  EXPECT_EQ(s.offset, 16u);
  EXPECT_TRUE(s.fin);
  EXPECT_EQ(s.data.data, b.data() + 5);
  EXPECT_EQ(s.data.size, 3u);
}

TEST(FrameRoundTrip, NonMinimalFieldsAcceptedAndRewrittenShort) {
  // MAX_DATA with its value in 8 bytes: fields (unlike the type) may use any length.
  std::vector<uint8_t> b = hex("10 c000000000000005");
  Frame f;
  ASSERT_TRUE(test::parse_one(b, f).ok());
  EXPECT_EQ(std::get<MaxDataFrame>(f).maximum_data, 5u);
  uint8_t out[16];
  ASSERT_EQ(write_frame(out, sizeof out, f), 2u);
  EXPECT_EQ(out[1], 5);
}

TEST(FrameRoundTrip, Rfc9001ClientInitialPayload) {
  // RFC 9001 A.2: the CRYPTO frame of the client Initial (its first bytes), then PADDING.
  std::vector<uint8_t> crypto = hex(
      "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
      "04fe3a47f06a2b69484c000004130113 02010000c000000010000e00000b6578"
      "616d706c652e636f6dff01000100000a 00080006001d00170018001000070005"
      "04616c706e0005000501000000000033 00260024001d00209370b2c9caa47fba"
      "baf4559fedba753de171fa71f50f1ce1 5d43e994ec74d748002b000302030400"
      "0d0010000e0403050306030203080408 050806002d00020101001c0002400100"
      "3900320408ffffffffffffffff050480 00ffff07048000ffff08011001048000"
      "75300901100f088394c8f03e51570806 048000ffff");
  std::vector<uint8_t> payload = crypto;
  payload.resize(1162, 0);
  FrameReader rd(payload.data(), payload.size(), PacketType::kInitial);
  Frame f;
  ASSERT_TRUE(rd.next(f));
  const auto& c = std::get<CryptoFrame>(f);
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(c.data.size, 0xf1u);
  EXPECT_EQ(c.data[0], 0x01);  // TLS ClientHello
  ASSERT_TRUE(rd.next(f));
  EXPECT_EQ(std::get<PaddingFrame>(f).length, 1162u - crypto.size());
  EXPECT_FALSE(rd.next(f));
  EXPECT_FALSE(rd.failed());
}

TEST(FrameRoundTrip, Rfc9001ServerInitialPayload) {
  // RFC 9001 A.3: ACK of packet 0, then CRYPTO with the ServerHello.
  std::vector<uint8_t> payload = hex(
      "02000000000600405a020000560303ee fce7f7b37ba1d1632e96677825ddf739"
      "88cfc79825df566dc5430b9a045a1200 130100002e00330024001d00209d3c94"
      "0d89690b84d08a60993c144eca684d10 81287c834d5311bcf32bb9da1a002b00"
      "020304");
  FrameReader rd(payload.data(), payload.size(), PacketType::kInitial);
  Frame f;
  ASSERT_TRUE(rd.next(f));
  const auto& a = std::get<AckFrame>(f);
  EXPECT_EQ(a.largest_acknowledged, 0u);
  EXPECT_EQ(a.range_count, 0u);
  EXPECT_EQ(a.smallest_acknowledged(), 0u);
  ASSERT_TRUE(rd.next(f));
  EXPECT_EQ(std::get<CryptoFrame>(f).data.size, 0x5au);
  EXPECT_FALSE(rd.next(f));
  EXPECT_FALSE(rd.failed());
  // Re-writing both frames reproduces the payload byte for byte.
  std::vector<uint8_t> out(payload.size());
  FrameReader again(payload.data(), payload.size(), PacketType::kInitial);
  size_t n = 0;
  while (again.next(f)) n += write_frame(out.data() + n, out.size() - n, f);
  EXPECT_EQ(out, payload);
}

TEST(FrameWriter, DataFits) {
  std::vector<uint8_t> buf(20000);
  for (size_t space : {0u, 1u, 2u, 3u, 4u, 10u, 64u, 65u, 66u, 67u, 68u, 1200u, 16390u, 16500u}) {
    for (uint64_t offset : {uint64_t{0}, uint64_t{100}, uint64_t{1} << 40}) {
      for (bool with_len : {true, false}) {
        SCOPED_TRACE(testing::Message() << space << " " << offset << " " << with_len);
        const size_t n = stream_data_fits(4, offset, with_len, space);
        if (n == 0) continue;
        StreamFrame s{4, offset, ByteView(kBig.data(), n), offset != 0, with_len, false};
        EXPECT_LE(frame_size(s), space);
        // One more byte would not fit.
        StreamFrame t = s;
        t.data.size = n + 1;
        EXPECT_GT(frame_size(t), space);
      }
      const size_t c = crypto_data_fits(offset, space);
      if (c) {
        EXPECT_LE(frame_size(CryptoFrame{offset, ByteView(kBig.data(), c)}), space);
        EXPECT_GT(frame_size(CryptoFrame{offset, ByteView(kBig.data(), c + 1)}), space);
      }
    }
    for (bool with_len : {true, false}) {
      const size_t d = datagram_data_fits(with_len, space);
      if (d) {
        EXPECT_LE(frame_size(DatagramFrame{with_len, ByteView(kBig.data(), d)}), space);
        EXPECT_GT(frame_size(DatagramFrame{with_len, ByteView(kBig.data(), d + 1)}), space);
      }
    }
  }
  EXPECT_EQ(stream_data_fits(4, 0, true, 68), 64u);  // 1 + 1 + 2 + 64: a 2-byte length
  EXPECT_EQ(stream_data_fits(4, 0, true, 66), 63u);  // 1 + 1 + 1 + 63
  EXPECT_EQ(stream_data_fits(4, 0, false, 10), 8u);
  // Near the top of the offset space the limit, not the room, decides.
  EXPECT_EQ(stream_data_fits(4, kMax - 3, true, 1000), 3u);
}

// The head of a STREAM frame followed by its data is the frame write_frame() writes; the head is
// refused when the data would not fit after it, or when the frame itself would be refused.
TEST(FrameWriter, StreamFrameHeadThenData) {
  std::vector<uint8_t> whole(2000), split(2000);
  for (uint64_t offset : {uint64_t{0}, uint64_t{300}, uint64_t{1} << 35}) {
    for (bool fin : {false, true}) {
      for (size_t len : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{1150}}) {
        SCOPED_TRACE(testing::Message() << offset << " " << fin << " " << len);
        const StreamFrame f{8, offset, ByteView(kBig.data(), len), offset != 0, true, fin};
        const size_t n = write_frame(whole.data(), whole.size(), f);
        ASSERT_GT(n, len);
        const size_t head = write_stream_frame_head(split.data(), n, f);
        ASSERT_EQ(head + len, n);
        std::copy(kBig.begin(), kBig.begin() + static_cast<long>(len), split.begin() + static_cast<long>(head));
        EXPECT_TRUE(std::equal(whole.begin(), whole.begin() + static_cast<long>(n), split.begin()));
        EXPECT_EQ(write_stream_frame_head(split.data(), n - 1, f), 0u);  // the data would not fit
      }
    }
  }
  const StreamFrame no_offset_bit{8, 5, ByteView(kBig.data(), 10), false, true, false};
  EXPECT_EQ(write_stream_frame_head(split.data(), split.size(), no_offset_bit), 0u);
  EXPECT_EQ(write_frame(split.data(), split.size(), no_offset_bit), 0u);
}

TEST(FrameWriter, RefusesWhatTheParserWouldRefuse) {
  uint8_t buf[256];
  EXPECT_EQ(write_frame(buf, sizeof buf, MaxStreamsFrame{true, kMaxStreamsLimit + 1}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, StreamsBlockedFrame{false, kMaxStreamsLimit + 1}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, NewTokenFrame{}), 0u);
  std::vector<uint8_t> cid21(21, 1);
  EXPECT_EQ(write_frame(buf, sizeof buf,
                        NewConnectionIdFrame{false, 0, 1, 0, view(cid21), view(kToken16)}),
            0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, NewConnectionIdFrame{false, 0, 1, 0, {}, view(kToken16)}),
            0u);
  EXPECT_EQ(write_frame(buf, sizeof buf,
                        NewConnectionIdFrame{false, 0, 1, 2, view(kData), view(kToken16)}),
            0u);
  EXPECT_EQ(write_frame(buf, sizeof buf,
                        NewConnectionIdFrame{false, 0, 1, 0, view(kData), view(kData)}),
            0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, StreamFrame{0, kMax, view(kData), true, true, false}),
            0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, StreamFrame{0, 5, view(kData), false, true, false}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, Frame{StreamFrame{0, 5, view(kData), false, true, false}}),
            0u);
  EXPECT_EQ(write_frame(nullptr, 0, StreamFrame{0, 0, view(kData), false, true, false}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, CryptoFrame{kMax, view(kData)}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, MaxPathIdFrame{kMaxPathId + 1}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, PathAbandonFrame{kMaxPathId + 1, 0}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, AckFrequencyFrame{0, 0, kMaxAckDelayLimitUs, 0}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, MaxDataFrame{kMax + 1}), 0u);
  EXPECT_EQ(write_frame(buf, sizeof buf, PaddingFrame{0}), 0u);
  EXPECT_EQ(write_frame(nullptr, 0, PingFrame{}), 0u);
}

}  // namespace
}  // namespace camp::quic
