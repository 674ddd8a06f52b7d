// SendMeta: the deadline, synchronisation index and path pin the application gives a stream's
// data, which the scheduler sees (queued_streams) and which keeps pinned data off other paths.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "dataplane/quic/stream/stream_manager.h"

namespace camp::quic {
namespace {

TransportParameters roomy() {
  TransportParameters p;
  p.initial_max_data = 1 << 20;
  p.initial_max_stream_data_bidi_local = 1 << 16;
  p.initial_max_stream_data_bidi_remote = 1 << 16;
  p.initial_max_stream_data_uni = 1 << 16;
  p.initial_max_streams_bidi = 16;
  p.initial_max_streams_uni = 16;
  return p;
}

struct SendMetaTest : ::testing::Test {
  StreamManager m{Perspective::kClient, roomy()};
  SendMetaTest() { m.on_peer_transport_parameters(roomy()); }
  uint64_t stream_with(size_t bytes) {
    const uint64_t id = *m.open_stream(false);
    const std::vector<uint8_t> data(bytes, 0x61);
    EXPECT_EQ(m.write(id, data, true).bytes, bytes);
    return id;
  }
  // The stream IDs of the frames a packet on `path` gets, until there is nothing for it.
  std::vector<uint64_t> drain(uint32_t path, size_t max_len = 100) {
    std::vector<uint64_t> ids;
    StreamFrame f;
    while (m.next_stream_frame(max_len, f, path)) ids.push_back(f.stream_id);
    return ids;
  }
};

TEST_F(SendMetaTest, PinnedDataGoesOnlyOnItsPath) {
  const uint64_t a = stream_with(150), b = stream_with(150), c = stream_with(150);
  SendMeta pin1;
  pin1.path_id = 1;
  ASSERT_TRUE(m.set_send_meta(b, pin1));
  EXPECT_TRUE(m.has_unpinned_stream_data());
  EXPECT_TRUE(m.has_pending_stream_data_for(0));
  // Path 0 takes a and c, round robin (two frames each), never b.
  EXPECT_EQ(drain(0), (std::vector<uint64_t>{a, c, a, c}));
  EXPECT_FALSE(m.has_unpinned_stream_data());
  EXPECT_FALSE(m.has_pending_stream_data_for(0));
  EXPECT_TRUE(m.has_pending_stream_data_for(1));
  EXPECT_TRUE(m.has_pending_stream_data());
  // b waits for path 1.
  EXPECT_EQ(drain(1), (std::vector<uint64_t>{b, b}));
  EXPECT_FALSE(m.has_pending_stream_data_for(1));
  EXPECT_FALSE(m.has_pending_stream_data());
}

TEST_F(SendMetaTest, RepinningAQueuedStreamMovesItAndLostDataFollowsThePin) {
  const uint64_t a = stream_with(100);
  SendMeta pin;
  pin.path_id = 2;
  ASSERT_TRUE(m.set_send_meta(a, pin));
  EXPECT_TRUE(drain(0).empty());
  EXPECT_TRUE(m.has_pending_stream_data_for(2));
  pin.path_id = 3;  // moved while queued
  ASSERT_TRUE(m.set_send_meta(a, pin));
  EXPECT_FALSE(m.has_pending_stream_data_for(2));
  EXPECT_EQ(drain(3), (std::vector<uint64_t>{a}));
  // A loss puts it back in the queue, still pinned to path 3.
  m.on_stream_frame_lost(a, 0, 100, true);
  EXPECT_TRUE(drain(0).empty());
  EXPECT_EQ(drain(3), (std::vector<uint64_t>{a}));
  // Unpinned, any path takes it.
  m.on_stream_frame_lost(a, 0, 100, true);
  ASSERT_TRUE(m.set_send_meta(a, SendMeta{}));
  EXPECT_TRUE(m.has_unpinned_stream_data());
  EXPECT_EQ(drain(7), (std::vector<uint64_t>{a}));
}

TEST_F(SendMetaTest, SchedulersSeeDeadlinesAndSyncIndices) {
  const uint64_t a = stream_with(10), b = stream_with(10);
  SendMeta ma, mb;
  ma.deadline = 5'000'000;
  ma.sync_index = 41;
  mb.deadline = 3'000'000;
  mb.sync_index = 42;
  mb.path_id = 0;
  ASSERT_TRUE(m.set_send_meta(a, ma));
  ASSERT_TRUE(m.set_send_meta(b, mb));
  std::array<QueuedStream, 4> q;
  ASSERT_EQ(m.queued_streams(q), 2u);
  EXPECT_EQ(q[0].id, a);
  EXPECT_EQ(q[0].meta.deadline, 5'000'000u);
  EXPECT_EQ(q[0].meta.sync_index, 41u);
  EXPECT_EQ(q[0].meta.path_id, kAnyPath);
  EXPECT_EQ(q[1].id, b);
  EXPECT_EQ(q[1].meta.sync_index, 42u);
  EXPECT_EQ(q[1].meta.path_id, 0u);
  std::array<QueuedStream, 1> one;
  EXPECT_EQ(m.queued_streams(one), 1u);  // cut to fit
  EXPECT_EQ(m.send_meta(b).deadline, 3'000'000u);
  EXPECT_EQ(m.send_meta(999).sync_index, UINT64_MAX);  // unknown: the default
}

TEST_F(SendMetaTest, RefusedForStreamsWeDoNotSendOnAndBeyondThePinTable) {
  EXPECT_FALSE(m.set_send_meta(4000, SendMeta{}));  // never opened
  // A peer's unidirectional stream (server-initiated uni: 3) only receives here.
  StreamFrame f;
  f.stream_id = 3;
  const uint8_t byte = 1;
  f.data = ByteView(&byte, 1);
  ASSERT_EQ(m.on_stream_frame(f), TransportError::NO_ERROR);
  EXPECT_FALSE(m.set_send_meta(3, SendMeta{}));
  // kMaxPinnedPaths distinct paths fit; one more is refused until a pinned stream is done.
  std::vector<uint64_t> ids;
  for (uint32_t p = 0; p <= StreamManager::kMaxPinnedPaths; ++p) {
    ids.push_back(stream_with(10));
    SendMeta pin;
    pin.path_id = 10 + p;
    EXPECT_EQ(m.set_send_meta(ids.back(), pin), p < StreamManager::kMaxPinnedPaths) << p;
  }
  EXPECT_EQ(m.send_meta(ids.back()).path_id, kAnyPath);  // a refusal changes nothing
  // Path 10 takes its own stream and the unpinned one; once the pinned one is acknowledged in
  // full (the stream is done), its entry in the pin table frees up for another path.
  EXPECT_EQ(drain(10), (std::vector<uint64_t>{ids[0], ids.back()}));
  m.on_stream_frame_acked(ids[0], 0, 10, true);
  const uint64_t late = stream_with(10);
  SendMeta pin;
  pin.path_id = 10 + StreamManager::kMaxPinnedPaths;
  EXPECT_TRUE(m.set_send_meta(late, pin));
  EXPECT_EQ(drain(10 + StreamManager::kMaxPinnedPaths), (std::vector<uint64_t>{late}));
}

}  // namespace
}  // namespace camp::quic
