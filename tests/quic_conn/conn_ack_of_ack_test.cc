// ACK of ACK (RFC 9000 13.2.4) through the real connection: once the peer acknowledges a packet
// of ours that carried an ACK up to L, we stop acknowledging packets <= L and the path's ACK
// floor (PathInfo::ack_floor) rises past L. Both sides send ack-eliciting data at once (an
// upload echoed back), so ACKs ride in packets that are themselves acknowledged, on one path
// and on two. Were the sent packets never marked as carrying an ACK, every floor would stay 0:
// the links lose nothing, so no other rule raises it.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/quic_conn/conn_harness.h"
#include "tests/quic_conn/mp_harness.h"

namespace camp::quic {
namespace {

using namespace test_conn;

// Server: every byte received on a bidirectional stream goes back on it, FIN included. What the
// send buffer does not take waits here (nothing more is read meanwhile), so a slow reader of the
// echo slows the upload by flow control rather than losing bytes.
class EchoServer final : public QuicApp {
 public:
  void on_connection_progress(Connection& c, TimeNs) override {
    StreamManager& sm = c.streams();
    auto& streams = streams_[c.id()];
    while (auto id = sm.accept_stream()) streams[*id];
    for (auto& [id, e] : streams) {
      while (!e.fin_sent) {
        if (e.off == e.held.size() && !e.fin_read) {
          e.held.resize(4096);
          const StreamIo io = sm.read(id, e.held);
          e.held.resize(io.bytes);
          e.off = 0;
          e.fin_read = io.fin;
          if (io.error != StreamAppError::kNone || (io.bytes == 0 && !io.fin)) break;
        }
        const std::span<const uint8_t> rest(e.held.data() + e.off, e.held.size() - e.off);
        const StreamIo io = sm.write(id, rest, e.fin_read);
        e.off += io.bytes;
        echoed += io.bytes;
        if (io.fin) e.fin_sent = true;
        if (io.error != StreamAppError::kNone || e.off < e.held.size()) break;  // buffer full
      }
    }
  }
  void on_connection_closed(Connection& c) override { streams_.erase(c.id()); }

  uint64_t echoed = 0;

 private:
  struct Echo {
    std::vector<uint8_t> held;  // read, not yet all written back
    size_t off = 0;             // how much of held is written back
    bool fin_read = false;
    bool fin_sent = false;
  };
  std::map<uint64_t, std::map<uint64_t, Echo>> streams_;
};

// Client side, run from ClientApp::hook: uploads `total` bytes of pattern() with FIN on one
// stream and checks the echo byte by byte.
struct Uploader {
  explicit Uploader(uint64_t n) : total(n) {}
  void run(Connection& c) {
    if (!c.handshake_complete() || c.closed()) return;
    StreamManager& sm = c.streams();
    if (!stream) {
      stream = sm.open_stream(true);
      if (!stream) return;
    }
    while (!fin_sent) {
      uint8_t chunk[4096];
      const uint64_t n = std::min<uint64_t>(sizeof chunk, total - sent);
      for (uint64_t i = 0; i < n; ++i) chunk[i] = pattern(sent + i);
      const StreamIo io = sm.write(*stream, {chunk, n}, sent + n == total);
      sent += io.bytes;
      if (io.fin) fin_sent = true;
      if (io.error != StreamAppError::kNone || io.bytes < n) break;
    }
    uint8_t buf[8192];
    while (!echo_fin) {
      const StreamIo io = sm.read(*stream, buf);
      for (size_t i = 0; i < io.bytes; ++i) {
        if (buf[i] != pattern(echoed + i)) ++corrupt;
      }
      echoed += io.bytes;
      if (io.fin) echo_fin = true;
      if (io.bytes == 0) break;
    }
  }

  uint64_t total;
  std::optional<uint64_t> stream;
  uint64_t sent = 0;
  bool fin_sent = false;
  uint64_t echoed = 0;
  uint64_t corrupt = 0;
  bool echo_fin = false;
};

// Replaces the harness's download server by one answering with `app` (before connect()).
void serve_with(Harness& h, QuicApp& app) {
  h.server_proxy.inner = nullptr;
  h.server.reset();
  h.server = std::make_unique<QuicEndpoint>(h.scfg, *h.server_tls, &app);
  ASSERT_TRUE(h.server->ok()) << h.server->error();
  h.server_proxy.inner = h.server.get();
}

// Checks the ACK floor of `mine` (a path of one side) against what the peer sent on it: above
// 0, and at most the number of packets the peer sent there. Application packet numbers start at
// 0 and go up by one on each path, so the largest received is below that count, and the floor
// is at most one above an ACK's Largest Acknowledged, which is at most the largest received.
void expect_floor(const Connection::PathInfo& mine, const Connection::PathInfo& peer,
                  const char* side) {
  SCOPED_TRACE(testing::Message() << side << " path " << mine.path_id);
  EXPECT_GT(mine.ack_floor, 0u) << "no ACK of an ACK took effect";
  EXPECT_LE(mine.ack_floor, peer.packets_sent);
  EXPECT_GT(mine.packets_received, 0u);
}

// One path, an upload of `bytes` echoed back over `link` both ways. Snapshots of both sides'
// path 0 are taken halfway through the echo and at its end.
struct OnePathRun {
  std::vector<Connection::PathInfo> c_mid, s_mid, c_end, s_end;
  uint64_t lost = 0;  // packets declared lost, both sides
};

void run_one_path(const LinkConfig& link, uint64_t bytes, OnePathRun& out) {
  EchoServer echo;  // outlives the endpoints that call it
  Harness h(0, link);
  serve_with(h, echo);
  Uploader up(bytes);
  h.client_app.auto_request = false;
  h.client_app.hook = [&](Connection& c, TimeNs) { up.run(c); };
  Connection* c = h.connect();
  ASSERT_NE(c, nullptr) << h.client->last_error();

  ASSERT_TRUE(h.sim.run_until([&] { return up.echoed >= bytes / 2; }, 30 * kSecond));
  Connection* s = h.server_conn();
  ASSERT_NE(s, nullptr);
  // Both sides' one path, each floor checked against what the other side sent.
  auto snapshot = [&](std::vector<Connection::PathInfo>& cv, std::vector<Connection::PathInfo>& sv,
                      const char* when) {
    cv = paths_of(*c);
    sv = paths_of(*s);
    ASSERT_EQ(cv.size(), 1u);
    ASSERT_EQ(sv.size(), 1u);
    expect_floor(cv[0], sv[0], (std::string("client") + when).c_str());
    expect_floor(sv[0], cv[0], (std::string("server") + when).c_str());
  };
  snapshot(out.c_mid, out.s_mid, ", mid-transfer");

  ASSERT_TRUE(h.sim.run_until([&] { return up.echo_fin; }, 30 * kSecond));
  EXPECT_EQ(up.sent, bytes);
  EXPECT_EQ(up.echoed, bytes);
  EXPECT_EQ(up.corrupt, 0u);
  EXPECT_EQ(echo.echoed, bytes);
  snapshot(out.c_end, out.s_end, "");
  out.lost = c->stats().packets_lost + s->stats().packets_lost;
}

// A lossless link (nothing was given up on, so nothing but an ACK of ACK raised a floor): each
// side's floor rose through the second half of the transfer and ended at least half of what the
// other side sent.
void expect_floor_followed(const OnePathRun& r) {
  EXPECT_EQ(r.lost, 0u);
  EXPECT_GT(r.c_end[0].ack_floor, r.c_mid[0].ack_floor);
  EXPECT_GT(r.s_end[0].ack_floor, r.s_mid[0].ack_floor);
  EXPECT_GE(r.c_end[0].ack_floor, r.s_end[0].packets_sent / 2);
  EXPECT_GE(r.s_end[0].ack_floor, r.c_end[0].packets_sent / 2);
}

// One path at 100 Mbit/s, both directions busy: on each side the floor of path 0 rises, and the
// echo arrives intact (pruned ranges never dropped a packet still owed an acknowledgement:
// anything lost that way would stall the transfer). Nearly every packet carries an ACK here and
// many are in flight at once: the floor follows the traffic only because each packet keeps its
// ACK's Largest Acknowledged (SentPacket::ack_largest). With the tracker's ring of kAckRecords
// records it froze after the first round trips (22 on both sides).
TEST(QuicConnAckOfAck, FloorsRiseOnBothSidesOfOnePath) {
  OnePathRun r;
  run_one_path(LinkConfig{}, 3 << 20, r);
  if (HasFatalFailure()) return;
  expect_floor_followed(r);
}

// At 1 Mbit/s a few packets are in flight per round trip: the floor follows the traffic,
// rising through the second half of the transfer and ending within a few round trips of
// everything the peer sent.
TEST(QuicConnAckOfAck, FloorFollowsTheTrafficWithFewAcksInFlight) {
  LinkConfig link;
  link.rate_bps = 1'000'000;
  OnePathRun r;
  run_one_path(link, 200'000, r);
  if (HasFatalFailure()) return;
  expect_floor_followed(r);
}

// Two paths, the upload and its echo spread over both (the client's upload does use path 1, as
// the server's echo does: checked below): every path's space on the server gets a floor, and so
// does every path's space on the client. The acknowledgement of a packet that carried a
// PATH_ACK must reach the tracker of the space that PATH_ACK acknowledged.
TEST(QuicConnAckOfAck, FloorsRiseOnBothPaths) {
  EchoServer echo;  // outlives the endpoints that call it
  constexpr uint64_t kBytes = 6 << 20;
  const LinkConfig l = link_of(10 * kMillisecond, 20'000'000, 1000);
  TwoPaths t(0, l, l);
  serve_with(t.h, echo);
  Uploader up(kBytes);
  t.h.client_app.auto_request = false;
  auto open_second = t.h.client_app.hook;  // TwoPaths opens the second path from its hook
  t.h.client_app.hook = [&, open_second](Connection& c, TimeNs now) {
    open_second(c, now);
    up.run(c);
  };
  Connection* c = t.h.connect(mp_bulk_client());
  ASSERT_NE(c, nullptr) << t.h.client->last_error();
  ASSERT_TRUE(t.run_until_validated(c, 5 * kSecond));
  ASSERT_EQ(t.result, Connection::OpenPathResult::kOk);
  ASSERT_EQ(t.path_id, 1u);
  ASSERT_TRUE(t.h.sim.run_until([&] { return up.echo_fin; }, 30 * kSecond));
  EXPECT_EQ(up.echoed, kBytes);
  EXPECT_EQ(up.corrupt, 0u);

  Connection* s = t.h.server_conn();
  ASSERT_NE(s, nullptr);
  const auto cp = paths_of(*c);
  const auto sp = paths_of(*s);
  ASSERT_EQ(cp.size(), 2u);
  ASSERT_EQ(sp.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(cp[i].path_id, i);
    ASSERT_EQ(sp[i].path_id, i);
    // Data went both ways on both paths: the upload on the client's, the echo on the server's.
    EXPECT_GT(cp[i].stream_bytes_sent, kBytes / 8) << "client path " << i;
    EXPECT_GT(sp[i].stream_bytes_sent, kBytes / 8) << "server path " << i;
    expect_floor(sp[i], cp[i], "server");
    expect_floor(cp[i], sp[i], "client");
  }
  EXPECT_EQ(c->stats().packets_lost, 0u);
  EXPECT_EQ(s->stats().packets_lost, 0u);
}

}  // namespace
}  // namespace camp::quic
