// A sender StreamManager and a receiver StreamManager joined by an in-test channel that drops,
// delays (so reorders), duplicates packets and sometimes declares a delivered packet lost.
// 10 MB cross on four streams under tight flow-control windows; the receiver's hashes must match.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "dataplane/quic/stream/stream_manager.h"

namespace camp::quic {
namespace {

uint64_t fnv1a(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

struct Packet {
  uint64_t at = 0;  // tick it arrives
  std::vector<Frame> frames;
  std::vector<std::vector<uint8_t>> payloads;  // copies of STREAM data, one per frame
};

// Owns copies of the frames' bytes: the sender's views die with its next call.
void add_frame(Packet& p, Frame f) {
  std::vector<uint8_t> bytes;
  if (auto* s = std::get_if<StreamFrame>(&f)) bytes.assign(s->data.data, s->data.data + s->data.size);
  p.frames.push_back(f);
  p.payloads.push_back(std::move(bytes));
}

// Frames delivered, by type index of Frame, and loss reports: proof the run exercised them.
struct Counts {
  uint64_t delivered[std::variant_size_v<Frame>] = {};
  uint64_t lost_reports = 0;
};
Counts counts;

TransportError dispatch(StreamManager& m, Frame f, const std::vector<uint8_t>& bytes) {
  ++counts.delivered[f.index()];
  if (auto* s = std::get_if<StreamFrame>(&f)) {
    s->data = ByteView(bytes.data(), bytes.size());
    return m.on_stream_frame(*s);
  }
  if (auto* x = std::get_if<ResetStreamFrame>(&f)) return m.on_reset_stream(*x);
  if (auto* x = std::get_if<StopSendingFrame>(&f)) return m.on_stop_sending(*x);
  if (auto* x = std::get_if<MaxDataFrame>(&f)) return m.on_max_data(*x);
  if (auto* x = std::get_if<MaxStreamDataFrame>(&f)) return m.on_max_stream_data(*x);
  if (auto* x = std::get_if<MaxStreamsFrame>(&f)) return m.on_max_streams(*x);
  if (auto* x = std::get_if<DataBlockedFrame>(&f)) return m.on_data_blocked(*x);
  if (auto* x = std::get_if<StreamDataBlockedFrame>(&f)) return m.on_stream_data_blocked(*x);
  if (auto* x = std::get_if<StreamsBlockedFrame>(&f)) return m.on_streams_blocked(*x);
  return TransportError::PROTOCOL_VIOLATION;
}

// Tells the packet's sender what became of each frame.
void report(StreamManager& m, const Packet& p, bool acked) {
  if (!acked) ++counts.lost_reports;
  for (size_t i = 0; i < p.frames.size(); ++i) {
    if (auto* s = std::get_if<StreamFrame>(&p.frames[i])) {
      if (acked) {
        m.on_stream_frame_acked(s->stream_id, s->offset, p.payloads[i].size(), s->fin);
      } else {
        m.on_stream_frame_lost(s->stream_id, s->offset, p.payloads[i].size(), s->fin);
      }
    } else if (acked) {
      m.on_control_frame_acked(p.frames[i]);
    } else {
      m.on_control_frame_lost(p.frames[i]);
    }
  }
}

class Link {
 public:
  Link(std::mt19937_64& rng, StreamManager& from, StreamManager& to)
      : rng_(rng), from_(from), to_(to) {}

  void send(Packet p, uint64_t now) {
    p.at = now + 1 + rng_() % 6;  // random delay: reordering
    const unsigned roll = static_cast<unsigned>(rng_() % 100);
    if (roll < 10) {  // dropped: the sender finds out a little later
      events_.push_back({p.at + 3, [this, p] { report(from_, p, false); }});
      return;
    }
    if (roll < 13) {  // delivered, but declared lost first (spurious loss), then acked
      events_.push_back({p.at, [this, p] { report(from_, p, false); }});
    }
    if (roll >= 97) in_flight_.push_back(p);  // duplicated
    in_flight_.push_back(std::move(p));
  }

  // Delivers due packets and runs due sender-side events.
  void tick(uint64_t now) {
    std::vector<Packet> due;
    for (size_t i = 0; i < in_flight_.size();) {
      if (in_flight_[i].at <= now) {
        due.push_back(std::move(in_flight_[i]));
        in_flight_[i] = std::move(in_flight_.back());
        in_flight_.pop_back();
      } else {
        ++i;
      }
    }
    std::shuffle(due.begin(), due.end(), rng_);
    for (Packet& p : due) {
      for (size_t i = 0; i < p.frames.size(); ++i) {
        ASSERT_EQ(dispatch(to_, p.frames[i], p.payloads[i]), TransportError::NO_ERROR);
      }
      events_.push_back({now + 1 + rng_() % 3, [this, p] { report(from_, p, true); }});
    }
    std::vector<std::function<void()>> run;
    for (size_t i = 0; i < events_.size();) {
      if (events_[i].at <= now) {
        run.push_back(std::move(events_[i].fn));
        events_[i] = std::move(events_.back());
        events_.pop_back();
      } else {
        ++i;
      }
    }
    for (auto& fn : run) fn();
  }

  bool idle() const { return in_flight_.empty() && events_.empty(); }

 private:
  struct Event {
    uint64_t at;
    std::function<void()> fn;
  };
  std::mt19937_64& rng_;
  StreamManager& from_;
  StreamManager& to_;
  std::vector<Packet> in_flight_;
  std::vector<Event> events_;
};

// Fills packets of about kPacketData bytes from a manager's control frames and stream data.
void send_packets(StreamManager& m, Link& link, uint64_t now, int max_packets) {
  constexpr size_t kPacketData = 1200;
  for (int n = 0; n < max_packets; ++n) {
    Packet p;
    Frame cf;
    size_t room = kPacketData;
    while (room > 40 && m.next_control_frame(cf)) {
      add_frame(p, cf);
      room -= 20;
    }
    StreamFrame sf;
    while (room > 40 && m.next_stream_frame(room - 30, sf)) {
      add_frame(p, sf);
      room -= std::min(room, sf.data.size + 30);
    }
    if (p.frames.empty()) return;
    link.send(std::move(p), now);
  }
}

TEST(Loopback, TenMegabytesThroughLossyReorderingChannel) {
  constexpr int kStreams = 4;
  constexpr size_t kPerStream = 10 * 1000 * 1000 / kStreams;
  TransportParameters rp;  // receiver: small windows so flow control is exercised all the time
  rp.initial_max_data = 256 * 1024;
  rp.initial_max_stream_data_uni = 96 * 1024 + 7;
  rp.initial_max_streams_uni = 2;  // fewer than the streams: MAX_STREAMS must follow closes
  TransportParameters sp;
  StreamManager sender(Perspective::kClient, sp, {.send_buffer_size = 48 * 1024});
  StreamManager receiver(Perspective::kServer, rp);
  sender.on_peer_transport_parameters(rp);
  receiver.on_peer_transport_parameters(sp);

  std::mt19937_64 rng(2024);
  Link forward(rng, sender, receiver);
  Link backward(rng, receiver, sender);

  struct Tx {
    uint64_t id = ~uint64_t{0};
    size_t written = 0;
    uint64_t hash = kFnvBasis;
    std::mt19937_64 gen;
  };
  std::vector<Tx> tx(kStreams);
  for (int i = 0; i < kStreams; ++i) tx[i].gen.seed(100 + i);
  std::vector<uint64_t> rx_hash;  // by accept order == stream index
  std::vector<size_t> rx_bytes;
  std::vector<uint64_t> rx_ids;
  size_t finished = 0;
  std::vector<uint8_t> chunk(8192), buf(16384);

  uint64_t now = 0;
  for (;; ++now) {
    ASSERT_LT(now, 200000u) << "stalled: finished " << finished;
    // Sender app: open streams as the limit allows, write pseudo-random bytes.
    for (Tx& t : tx) {
      if (t.id == ~uint64_t{0}) {
        auto id = sender.open_stream(false);
        if (!id) break;
        t.id = *id;
      }
      while (t.written < kPerStream) {
        size_t n = std::min(chunk.size(), kPerStream - t.written);
        std::mt19937_64 peek = t.gen;  // regenerate the same bytes if they do not all fit
        for (size_t i = 0; i < n; ++i) chunk[i] = static_cast<uint8_t>(peek());
        auto io = sender.write(t.id, std::span(chunk).first(n), t.written + n == kPerStream);
        ASSERT_EQ(io.error, StreamAppError::kNone);
        for (size_t i = 0; i < io.bytes; ++i) t.gen();
        t.hash = fnv1a(t.hash, chunk.data(), io.bytes);
        t.written += io.bytes;
        if (io.bytes < n) break;
      }
    }
    send_packets(sender, forward, now, 48);
    forward.tick(now);
    // Receiver app: accept and read.
    while (auto id = receiver.accept_stream()) {
      rx_ids.push_back(*id);
      rx_hash.push_back(kFnvBasis);
      rx_bytes.push_back(0);
    }
    for (size_t i = 0; i < rx_ids.size(); ++i) {
      if (rx_bytes[i] == SIZE_MAX) continue;
      size_t want = 1 + rng() % buf.size();
      auto io = receiver.read(rx_ids[i], std::span(buf).first(want));
      ASSERT_EQ(io.error, StreamAppError::kNone);
      rx_hash[i] = fnv1a(rx_hash[i], buf.data(), io.bytes);
      rx_bytes[i] += io.bytes;
      if (io.fin) {
        ASSERT_EQ(rx_bytes[i], kPerStream);
        ASSERT_EQ(rx_hash[i], tx[stream_index(rx_ids[i])].hash);
        rx_bytes[i] = SIZE_MAX;
        ++finished;
      }
    }
    ASSERT_LE(receiver.conn_received(), receiver.conn_recv_limit());
    ASSERT_LE(sender.conn_sent(), sender.conn_send_limit());
    send_packets(receiver, backward, now, 8);
    backward.tick(now);
    if (finished == kStreams && sender.stream_count() == 0) break;
  }
  EXPECT_EQ(finished, static_cast<size_t>(kStreams));
  EXPECT_EQ(sender.stream_count(), 0u);    // every byte and FIN acknowledged
  EXPECT_EQ(receiver.stream_count(), 0u);  // every stream read to the end
  EXPECT_EQ(sender.conn_sent(), 10'000'000u);
  EXPECT_EQ(receiver.conn_consumed(), 10'000'000u);
  auto seen = [](auto frame) { return counts.delivered[Frame(frame).index()]; };
  EXPECT_GT(counts.lost_reports, 100u);
  EXPECT_GT(seen(MaxDataFrame{}), 10u);
  EXPECT_GT(seen(MaxStreamDataFrame{}), 10u);
  EXPECT_GT(seen(MaxStreamsFrame{}), 0u);
  EXPECT_GT(seen(StreamsBlockedFrame{}), 0u);
  EXPECT_GT(seen(DataBlockedFrame{}) + seen(StreamDataBlockedFrame{}), 0u);
  std::printf("loopback: %lu ticks, %lu stream frames, %lu loss reports, %lu MAX_DATA, "
              "%lu MAX_STREAM_DATA, %lu DATA_BLOCKED, %lu STREAM_DATA_BLOCKED\n",
              static_cast<unsigned long>(now),
              static_cast<unsigned long>(seen(StreamFrame{})),
              static_cast<unsigned long>(counts.lost_reports),
              static_cast<unsigned long>(seen(MaxDataFrame{})),
              static_cast<unsigned long>(seen(MaxStreamDataFrame{})),
              static_cast<unsigned long>(seen(DataBlockedFrame{})),
              static_cast<unsigned long>(seen(StreamDataBlockedFrame{})));
}

}  // namespace
}  // namespace camp::quic
