#include "dataplane/quic/stream/stream_manager.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace camp::quic {
namespace {

TransportParameters params(uint64_t max_data, uint64_t stream_data, uint64_t bidi, uint64_t uni) {
  TransportParameters p;
  p.initial_max_data = max_data;
  p.initial_max_stream_data_bidi_local = stream_data;
  p.initial_max_stream_data_bidi_remote = stream_data;
  p.initial_max_stream_data_uni = stream_data;
  p.initial_max_streams_bidi = bidi;
  p.initial_max_streams_uni = uni;
  return p;
}

std::vector<Frame> drain_control(StreamManager& m) {
  std::vector<Frame> out;
  Frame f;
  while (m.next_control_frame(f)) out.push_back(f);
  return out;
}

template <class T>
std::vector<T> of_type(const std::vector<Frame>& frames) {
  std::vector<T> out;
  for (const Frame& f : frames) {
    if (auto* p = std::get_if<T>(&f)) out.push_back(*p);
  }
  return out;
}

StreamFrame stream_frame(uint64_t id, uint64_t off, const std::vector<uint8_t>& d, bool fin = false) {
  StreamFrame f;
  f.stream_id = id;
  f.offset = off;
  f.data = ByteView(d.data(), d.size());
  f.fin = fin;
  return f;
}

// A server endpoint (so client-initiated streams are the peer's) with a client as peer.
struct ServerFixture : ::testing::Test {
  StreamManager m{Perspective::kServer, params(1000, 400, 3, 2)};
  ServerFixture() { m.on_peer_transport_parameters(params(1000, 400, 2, 1)); }
};

TEST(StreamId, TypeBitsFollowSection21) {
  EXPECT_EQ(make_stream_id(0, Perspective::kClient, true), 0u);
  EXPECT_EQ(make_stream_id(0, Perspective::kServer, true), 1u);
  EXPECT_EQ(make_stream_id(0, Perspective::kClient, false), 2u);
  EXPECT_EQ(make_stream_id(3, Perspective::kServer, false), 15u);
  EXPECT_TRUE(stream_is_client_initiated(4));
  EXPECT_TRUE(stream_is_server_initiated(5));
  EXPECT_TRUE(stream_is_uni(6));
  EXPECT_TRUE(stream_is_bidi(5));
  EXPECT_EQ(stream_index(15), 3u);
  EXPECT_TRUE(stream_is_local(3, Perspective::kServer));
  EXPECT_FALSE(stream_can_send(2, Perspective::kServer));
  EXPECT_TRUE(stream_can_receive(2, Perspective::kServer));
  EXPECT_TRUE(stream_can_send(3, Perspective::kServer));
  EXPECT_FALSE(stream_can_receive(3, Perspective::kServer));
}

TEST_F(ServerFixture, OpensLocalStreamsUpToPeerLimit) {
  EXPECT_EQ(m.open_stream(true), 1u);
  EXPECT_EQ(m.open_stream(true), 5u);
  EXPECT_EQ(m.open_stream(true), std::nullopt);
  EXPECT_EQ(m.open_stream(false), 3u);
  EXPECT_EQ(m.open_stream(false), std::nullopt);
  auto sb = of_type<StreamsBlockedFrame>(drain_control(m));
  ASSERT_EQ(sb.size(), 2u);
  EXPECT_EQ(sb[0], (StreamsBlockedFrame{true, 2}));
  EXPECT_EQ(sb[1], (StreamsBlockedFrame{false, 1}));
  EXPECT_EQ(m.on_max_streams({true, 3}), TransportError::NO_ERROR);
  EXPECT_EQ(m.on_max_streams({true, 1}), TransportError::NO_ERROR);  // never lowers
  EXPECT_EQ(m.local_stream_limit(true), 3u);
  EXPECT_EQ(m.open_stream(true), 9u);
  EXPECT_EQ(m.on_max_streams({true, kMaxStreamsLimit + 1}), TransportError::FRAME_ENCODING_ERROR);
}

TEST_F(ServerFixture, PeerStreamOpensLowerNumberedOnes) {
  std::vector<uint8_t> d{1, 2, 3};
  ASSERT_EQ(m.on_stream_frame(stream_frame(8, 0, d)), TransportError::NO_ERROR);
  EXPECT_EQ(m.accept_stream(), 0u);
  EXPECT_EQ(m.accept_stream(), 4u);
  EXPECT_EQ(m.accept_stream(), 8u);
  EXPECT_EQ(m.accept_stream(), std::nullopt);
  EXPECT_EQ(m.stream_count(), 3u);
  ASSERT_EQ(m.on_stream_frame(stream_frame(4, 0, d)), TransportError::NO_ERROR);
  EXPECT_EQ(m.accept_stream(), std::nullopt);
}

TEST_F(ServerFixture, StreamLimitError) {
  std::vector<uint8_t> d{1};
  EXPECT_EQ(m.on_stream_frame(stream_frame(12, 0, d)), TransportError::STREAM_LIMIT_ERROR);
  EXPECT_EQ(m.on_stream_frame(stream_frame(10, 0, d)), TransportError::STREAM_LIMIT_ERROR);
  EXPECT_EQ(m.on_stream_frame(stream_frame(6, 0, d)), TransportError::NO_ERROR);
  EXPECT_EQ(m.on_reset_stream({16, 0, 0}), TransportError::STREAM_LIMIT_ERROR);
}

TEST_F(ServerFixture, StreamStateErrors) {
  std::vector<uint8_t> d{1};
  ASSERT_EQ(m.open_stream(false), 3u);
  // STREAM / RESET_STREAM / STREAM_DATA_BLOCKED on our send-only stream.
  EXPECT_EQ(m.on_stream_frame(stream_frame(3, 0, d)), TransportError::STREAM_STATE_ERROR);
  EXPECT_EQ(m.on_reset_stream({3, 0, 0}), TransportError::STREAM_STATE_ERROR);
  EXPECT_EQ(m.on_stream_data_blocked({3, 0}), TransportError::STREAM_STATE_ERROR);
  // STOP_SENDING / MAX_STREAM_DATA on a receive-only stream.
  EXPECT_EQ(m.on_stop_sending({2, 0}), TransportError::STREAM_STATE_ERROR);
  EXPECT_EQ(m.on_max_stream_data({2, 100}), TransportError::STREAM_STATE_ERROR);
  // Our bidi stream 1 is not open yet.
  EXPECT_EQ(m.on_stream_frame(stream_frame(1, 0, d)), TransportError::STREAM_STATE_ERROR);
  EXPECT_EQ(m.on_stop_sending({1, 0}), TransportError::STREAM_STATE_ERROR);
  EXPECT_EQ(m.on_max_stream_data({1, 10}), TransportError::STREAM_STATE_ERROR);
  ASSERT_EQ(m.open_stream(true), 1u);
  EXPECT_EQ(m.on_stream_frame(stream_frame(1, 0, d)), TransportError::NO_ERROR);
}

TEST_F(ServerFixture, ConnectionFlowControlError) {
  std::vector<uint8_t> d(400, 7);
  ASSERT_EQ(m.on_stream_frame(stream_frame(0, 0, d)), TransportError::NO_ERROR);
  ASSERT_EQ(m.on_stream_frame(stream_frame(4, 0, d)), TransportError::NO_ERROR);
  std::vector<uint8_t> small(200, 7);
  ASSERT_EQ(m.on_stream_frame(stream_frame(8, 0, small)), TransportError::NO_ERROR);
  EXPECT_EQ(m.conn_received(), 1000u);
  std::vector<uint8_t> one(1, 7);
  EXPECT_EQ(m.on_stream_frame(stream_frame(8, 200, one)), TransportError::FLOW_CONTROL_ERROR);
  EXPECT_EQ(m.on_reset_stream({8, 0, 201}), TransportError::FLOW_CONTROL_ERROR);
  // A retransmission of counted bytes is no new usage.
  EXPECT_EQ(m.on_stream_frame(stream_frame(8, 0, small)), TransportError::NO_ERROR);
}

TEST_F(ServerFixture, StreamFlowControlAndFinalSizeErrorsPropagate) {
  std::vector<uint8_t> d(401, 7);
  EXPECT_EQ(m.on_stream_frame(stream_frame(0, 0, d)), TransportError::FLOW_CONTROL_ERROR);
  std::vector<uint8_t> s(10, 7);
  ASSERT_EQ(m.on_stream_frame(stream_frame(4, 0, s, true)), TransportError::NO_ERROR);
  EXPECT_EQ(m.on_stream_frame(stream_frame(4, 5, s)), TransportError::FINAL_SIZE_ERROR);
  EXPECT_EQ(m.on_reset_stream({4, 0, 11}), TransportError::FINAL_SIZE_ERROR);
}

TEST_F(ServerFixture, MaxDataAndMaxStreamDataFollowReads) {
  std::vector<uint8_t> d(400);
  for (size_t i = 0; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i);
  ASSERT_EQ(m.on_stream_frame(stream_frame(0, 0, d)), TransportError::NO_ERROR);
  ASSERT_EQ(m.on_stream_frame(stream_frame(4, 0, d)), TransportError::NO_ERROR);
  EXPECT_TRUE(drain_control(m).empty());
  std::vector<uint8_t> out(400);
  auto io = m.read(0, std::span(out).first(150));  // under half of the stream window
  EXPECT_EQ(io.bytes, 150u);
  EXPECT_TRUE(drain_control(m).empty());
  io = m.read(0, std::span(out).subspan(150, 100));
  EXPECT_EQ(io.bytes, 100u);
  EXPECT_TRUE(std::equal(out.begin(), out.begin() + 250, d.begin()));
  auto frames = drain_control(m);
  auto msd = of_type<MaxStreamDataFrame>(frames);
  ASSERT_EQ(msd.size(), 1u);
  EXPECT_EQ(msd[0], (MaxStreamDataFrame{0, 650}));
  EXPECT_TRUE(of_type<MaxDataFrame>(frames).empty());  // 250 of 1000 used: not yet
  io = m.read(4, out);
  EXPECT_EQ(io.bytes, 400u);
  frames = drain_control(m);
  auto md = of_type<MaxDataFrame>(frames);
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].maximum_data, 1650u);
  EXPECT_EQ(m.conn_recv_limit(), 1650u);
  // A lost MAX_DATA is resent while current; a stale one is not.
  m.on_control_frame_lost(MaxDataFrame{1650});
  EXPECT_EQ(of_type<MaxDataFrame>(drain_control(m)).size(), 1u);
  m.on_control_frame_lost(MaxDataFrame{1000});
  EXPECT_TRUE(drain_control(m).empty());
}

TEST_F(ServerFixture, PeerStopSendingTriggersReset) {
  ASSERT_EQ(m.open_stream(true), 1u);
  std::vector<uint8_t> d(100, 1);
  ASSERT_EQ(m.write(1, d, false).bytes, 100u);
  StreamFrame sf;
  ASSERT_TRUE(m.next_stream_frame(60, sf));
  ASSERT_EQ(m.on_stop_sending({1, 42}), TransportError::NO_ERROR);
  auto resets = of_type<ResetStreamFrame>(drain_control(m));
  ASSERT_EQ(resets.size(), 1u);
  EXPECT_EQ(resets[0], (ResetStreamFrame{1, 42, 60}));
  auto io = m.write(1, d, false);
  EXPECT_EQ(io.error, StreamAppError::kReset);
  EXPECT_EQ(io.error_code, 42u);
  EXPECT_FALSE(m.next_stream_frame(100, sf));
  m.on_control_frame_lost(resets[0]);
  EXPECT_EQ(of_type<ResetStreamFrame>(drain_control(m)).size(), 1u);
  m.on_control_frame_acked(resets[0]);
  EXPECT_EQ(m.send_stream(1)->state(), SendState::kResetRecvd);
}

TEST_F(ServerFixture, AppStopSendingAndReset) {
  std::vector<uint8_t> d(100, 1);
  ASSERT_EQ(m.on_stream_frame(stream_frame(2, 0, d)), TransportError::NO_ERROR);
  EXPECT_TRUE(m.stop_sending(2, 7));
  EXPECT_FALSE(m.stop_sending(2, 7));
  EXPECT_EQ(m.conn_consumed(), 100u);  // dropped bytes return their credit
  auto stops = of_type<StopSendingFrame>(drain_control(m));
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0], (StopSendingFrame{2, 7}));
  std::vector<uint8_t> out(10);
  EXPECT_EQ(m.read(2, out).error, StreamAppError::kStopped);
  m.on_control_frame_lost(stops[0]);
  EXPECT_EQ(of_type<StopSendingFrame>(drain_control(m)).size(), 1u);
  ASSERT_EQ(m.on_reset_stream({2, 7, 150}), TransportError::NO_ERROR);
  EXPECT_EQ(m.conn_consumed(), 150u);
  EXPECT_FALSE(m.stream_exists(2));  // both halves done
  // Late retransmissions for the closed stream are ignored.
  EXPECT_EQ(m.on_stream_frame(stream_frame(2, 0, d)), TransportError::NO_ERROR);
  EXPECT_FALSE(m.stream_exists(2));

  ASSERT_EQ(m.on_stream_frame(stream_frame(6, 0, d)), TransportError::NO_ERROR);
  ASSERT_EQ(m.on_reset_stream({6, 9, 100}), TransportError::NO_ERROR);
  auto io = m.read(6, out);
  EXPECT_EQ(io.error, StreamAppError::kReset);
  EXPECT_EQ(io.error_code, 9u);
  EXPECT_FALSE(m.stream_exists(6));

  ASSERT_EQ(m.open_stream(false), 3u);
  EXPECT_TRUE(m.reset_stream(3, 5));
  EXPECT_EQ(of_type<ResetStreamFrame>(drain_control(m))[0], (ResetStreamFrame{3, 5, 0}));
  EXPECT_TRUE(m.stream_exists(3));
  m.on_control_frame_acked(ResetStreamFrame{3, 5, 0});
  EXPECT_FALSE(m.stream_exists(3));
  EXPECT_EQ(m.write(3, d, false).error, StreamAppError::kUnknownStream);
}

TEST_F(ServerFixture, BlockedFramesOncePerLimit) {
  ASSERT_EQ(m.open_stream(true), 1u);
  ASSERT_EQ(m.open_stream(true), 5u);
  std::vector<uint8_t> d(600, 1);
  ASSERT_EQ(m.write(1, d, false).bytes, 600u);
  StreamFrame sf;
  uint64_t sent = 0;
  while (m.next_stream_frame(150, sf)) sent += sf.data.size;
  EXPECT_EQ(sent, 400u);  // the stream's limit
  auto frames = drain_control(m);
  auto sdb = of_type<StreamDataBlockedFrame>(frames);
  ASSERT_EQ(sdb.size(), 1u);
  EXPECT_EQ(sdb[0], (StreamDataBlockedFrame{1, 400}));
  EXPECT_FALSE(m.next_stream_frame(150, sf));
  EXPECT_TRUE(drain_control(m).empty());  // not again for the same limit
  ASSERT_EQ(m.write(5, d, false).bytes, 600u);
  while (m.next_stream_frame(1000, sf)) sent += sf.data.size;
  ASSERT_EQ(m.on_max_stream_data({1, 2000}), TransportError::NO_ERROR);
  ASSERT_EQ(m.write(1, d, false).bytes, 600u);  // more than the connection allows
  while (m.next_stream_frame(1000, sf)) sent += sf.data.size;
  EXPECT_EQ(sent, 1000u);  // the connection's limit
  EXPECT_EQ(m.conn_sent(), 1000u);
  auto db = of_type<DataBlockedFrame>(drain_control(m));
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(db[0].maximum_data, 1000u);
  ASSERT_EQ(m.on_max_data({1200}), TransportError::NO_ERROR);
  while (m.next_stream_frame(1000, sf)) sent += sf.data.size;
  EXPECT_EQ(sent, 1200u);
}

TEST_F(ServerFixture, MaxStreamsGrantedAsPeerStreamsClose) {
  // Peer bidi limit is 3: close streams 0, 4, 8 fully (both directions) and expect more credit.
  std::vector<uint8_t> d(10, 1), out(10);
  EXPECT_EQ(m.on_stream_frame(stream_frame(12, 0, d)), TransportError::STREAM_LIMIT_ERROR);
  for (uint64_t id : {0u, 4u, 8u}) {
    ASSERT_EQ(m.on_stream_frame(stream_frame(id, 0, d, true)), TransportError::NO_ERROR);
    ASSERT_TRUE(m.read(id, out).fin);
    ASSERT_TRUE(m.write(id, {}, true).fin);
    StreamFrame sf;
    ASSERT_TRUE(m.next_stream_frame_on(id, 100, sf));
    EXPECT_TRUE(sf.fin);
    m.on_stream_frame_acked(id, 0, 0, true);
    EXPECT_FALSE(m.stream_exists(id));
  }
  EXPECT_EQ(m.on_stream_frame(stream_frame(24, 0, d)), TransportError::STREAM_LIMIT_ERROR);
  auto ms = of_type<MaxStreamsFrame>(drain_control(m));
  ASSERT_FALSE(ms.empty());
  EXPECT_EQ(ms.back(), (MaxStreamsFrame{true, 6}));
  EXPECT_EQ(m.on_stream_frame(stream_frame(12, 0, d)), TransportError::NO_ERROR);
}

}  // namespace
}  // namespace camp::quic
