// Multipath frames a peer must not send (draft-ietf-quic-multipath-21 4), and those the receiver
// must silently ignore, sent to a live server in packets protected with the client's real keys
// (FrameInjector). Each case runs on a fresh connection: a violation must close it with exactly
// the transport error the draft names, an ignored frame must leave it up and carrying data.
#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "tests/quic_conn/conn_harness.h"
#include "tests/quic_conn/frame_injector.h"

namespace camp::quic {
namespace {

using namespace test_conn;

constexpr uint64_t kPathLimit = 3;  // both sides' initial_max_path_id (the largest path ID)
constexpr uint64_t kAbove = kPathLimit + 1;
constexpr uint64_t kNeverSent = 1 << 20;  // a packet number far above anything sent
constexpr uint64_t kPv = static_cast<uint64_t>(TransportError::PROTOCOL_VIOLATION);
constexpr uint64_t kEnc = static_cast<uint64_t>(TransportError::FRAME_ENCODING_ERROR);

// Who sends initial_max_path_id.
enum class Offer { kBoth, kNeither, kServerOnly, kClientOnly };
// How the frames go in (see frame_injector.h).
enum class Via { kNewPacket, kPiggyback, kHandshakePacket };
// Path 1 before the frames: never opened; opened from a second client address, then abandoned
// by the client (the server keeps its state 3 PTO); or abandoned and already forgotten.
enum class Path1 { kUnused, kAbandoned, kDropped };

struct Case {
  const char* name;
  Offer offer;
  Via via;
  std::function<Frames()> frames;
  std::optional<uint64_t> error;  // none: ignored, the connection stays up
  Path1 path1 = Path1::kUnused;
  std::function<void(const Connection& server)> check;  // more for an ignored case
};

const uint8_t kCid[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
const uint8_t kToken[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

NewConnectionIdFrame path_new_cid(uint64_t path_id) {
  NewConnectionIdFrame f;
  f.has_path_id = true;
  f.path_id = path_id;
  f.sequence_number = 1;
  f.connection_id = ByteView(kCid, sizeof kCid);
  f.stateless_reset_token = ByteView(kToken, sizeof kToken);
  return f;
}

RetireConnectionIdFrame path_retire_cid(uint64_t path_id) {
  RetireConnectionIdFrame f;
  f.has_path_id = true;
  f.path_id = path_id;
  f.sequence_number = 0;
  return f;
}

std::vector<Connection::PathInfo> paths_of(const Connection& c) {
  std::vector<Connection::PathInfo> v(kMaxCidPaths);
  v.resize(std::min<size_t>(c.paths(v), v.size()));
  return v;
}

const Connection::PathInfo* info(const std::vector<Connection::PathInfo>& v, uint32_t id) {
  for (const auto& p : v) {
    if (p.path_id == id) return &p;
  }
  return nullptr;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      // 4: a path ID above the maximum the receiver announced (initial_max_path_id, no
      // MAX_PATH_ID sent) is a PROTOCOL_VIOLATION, whatever the frame.
      {"path_ack_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().path_ack(kAbove, 0, 0); }, kPv},
      {"path_ack_ecn_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().path_ack(kAbove, 0, 0, true); }, kPv},
      {"path_abandon_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathAbandonFrame{kAbove, 0}); }, kPv},
      {"path_status_backup_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathStatusFrame{false, kAbove, 1}); }, kPv},
      {"path_status_available_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathStatusFrame{true, kAbove, 1}); }, kPv},
      {"path_new_connection_id_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(path_new_cid(kAbove)); }, kPv},
      {"path_retire_connection_id_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(path_retire_cid(kAbove)); }, kPv},
      {"path_cids_blocked_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathCidsBlockedFrame{kAbove, 0}); }, kPv},
      // 4.6: MAX_PATH_ID below the sender's own initial_max_path_id.
      {"max_path_id_below_transport_parameter", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(MaxPathIdFrame{kPathLimit - 1}); }, kPv},
      // 4.6: Maximum Path Identifier above 2^32-1 is invalid (the writer refuses it: by hand,
      // type 0x3e7a, value 2^32 as an 8-byte varint).
      {"max_path_id_above_2_32_minus_1", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().raw({0x7e, 0x7a, 0xc0, 0, 0, 1, 0, 0, 0, 0}); }, kPv},
      // 4.7: PATHS_BLOCKED above the receiver's maximum.
      {"paths_blocked_above_max", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathsBlockedFrame{kAbove}); }, kPv},
      // 4.7: Next Sequence Number beyond what the receiver issued for the path.
      {"path_cids_blocked_unissued_sequence", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathCidsBlockedFrame{0, 1000}); }, kPv},
      // RFC 9000 13.1 via 4.1: PATH_ACK of a packet number never sent on that path.
      {"path_ack_of_unsent_packet", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().path_ack(0, kNeverSent, kNeverSent); }, kPv},
      // 4: multipath frames only in 1-RTT packets.
      {"max_path_id_in_handshake_packet", Offer::kBoth, Via::kHandshakePacket,
       [] { return Frames().add(MaxPathIdFrame{kPathLimit}); }, kPv},
      {"path_ack_in_handshake_packet", Offer::kBoth, Via::kHandshakePacket,
       [] { return Frames().path_ack(0, 0, 0); }, kPv},

      // 4.6: MAX_PATH_ID that does not raise the limit (here equal to the transport parameter:
      // one below it is the violation above) is ignored. A raised one cannot be sent for the
      // real client: the server would issue CIDs for path IDs the client does not accept.
      {"max_path_id_not_increasing", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(MaxPathIdFrame{kPathLimit}).add(MaxPathIdFrame{kPathLimit}); },
       std::nullopt},
      // 4.3: a PATH_STATUS with a sequence number not above the last one is ignored.
      {"path_status_stale_sequence", Offer::kBoth, Via::kPiggyback,
       [] {
         return Frames()
             .add(PathStatusFrame{true, 0, 5})
             .add(PathStatusFrame{false, 0, 3})   // older
             .add(PathStatusFrame{false, 0, 5});  // equal
       },
       std::nullopt, Path1::kUnused,
       [](const Connection& s) {
         EXPECT_EQ(s.stats().path_status_stale, 2u);
         const auto v = paths_of(s);
         ASSERT_NE(info(v, 0), nullptr);
         EXPECT_FALSE(info(v, 0)->peer_backup) << "a stale PATH_STATUS_BACKUP was applied";
       }},
      // 4, 3.4: PATH_ACK of an abandoned path ID is silently ignored (here acknowledging a
      // packet number never sent there, which would otherwise be a violation).
      {"path_ack_of_abandoned_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().path_ack(1, kNeverSent, kNeverSent); }, std::nullopt,
       Path1::kAbandoned},
      {"path_ack_of_dropped_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().path_ack(1, kNeverSent, kNeverSent); }, std::nullopt, Path1::kDropped},
      // 4: the other frames naming a path ID that was abandoned are ignored as well, while the
      // server keeps the path's state and once it forgot it.
      {"path_status_of_abandoned_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathStatusFrame{false, 1, 7}); }, std::nullopt, Path1::kAbandoned},
      {"path_status_of_dropped_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathStatusFrame{false, 1, 7}); }, std::nullopt, Path1::kDropped},
      {"path_abandon_of_abandoned_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathAbandonFrame{1, 0}); }, std::nullopt, Path1::kAbandoned},
      {"path_abandon_of_dropped_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathAbandonFrame{1, 0}); }, std::nullopt, Path1::kDropped},
      {"path_new_connection_id_of_abandoned_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(path_new_cid(1)); }, std::nullopt, Path1::kAbandoned},
      {"path_new_connection_id_of_dropped_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(path_new_cid(1)); }, std::nullopt, Path1::kDropped},
      {"path_retire_connection_id_of_abandoned_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(path_retire_cid(1)); }, std::nullopt, Path1::kAbandoned},
      {"path_retire_connection_id_of_dropped_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(path_retire_cid(1)); }, std::nullopt, Path1::kDropped},
      // Next Sequence Number 1: the server issued at least sequence 0 of path 1 (the client
      // opened path 1 with it), so this is no violation even by the issued-sequence rule.
      // 3.4: a PATH_ABANDON of the only open path: the server closes with NO_VIABLE_PATH and
      // its CONNECTION_CLOSE reaches the client (on that path, which it does not abandon).
      {"path_abandon_of_the_only_open_path", Offer::kBoth, Via::kNewPacket,
       [] { return Frames().add(PathAbandonFrame{0, 0}); },
       static_cast<uint64_t>(TransportError::NO_VIABLE_PATH)},
      {"path_cids_blocked_of_abandoned_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathCidsBlockedFrame{1, 1}); }, std::nullopt, Path1::kAbandoned},
      // Once the path's CID state is gone the issued-sequence check has nothing to compare
      // with: the closed path ID must be ignored first (draft-21 4; this once closed with
      // PROTOCOL_VIOLATION).
      {"path_cids_blocked_of_dropped_path", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathCidsBlockedFrame{1, 1}); }, std::nullopt, Path1::kDropped},
      // 3.4: PATH_ABANDON of a path ID within the limit but never used is accepted.
      {"path_abandon_unused_allowed_id", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathAbandonFrame{kPathLimit, 0}); }, std::nullopt,
       Path1::kUnused,
       [](const Connection& s) {
         EXPECT_EQ(paths_of(s).size(), 1u);
         EXPECT_EQ(info(paths_of(s), kPathLimit), nullptr);
       }},
      // A valid PATH_CIDS_BLOCKED (the server issued sequence 0 of path 0 at least): the same
      // injection path as the violations, accepted.
      {"path_cids_blocked_valid", Offer::kBoth, Via::kPiggyback,
       [] { return Frames().add(PathCidsBlockedFrame{0, 1}); }, std::nullopt},

      // 2 / RFC 9000 12.4: not negotiated, the frame types are unknown: FRAME_ENCODING_ERROR.
      {"not_negotiated_max_path_id", Offer::kNeither, Via::kNewPacket,
       [] { return Frames().add(MaxPathIdFrame{kPathLimit}); }, kEnc},
      {"not_negotiated_server_only_path_ack", Offer::kServerOnly, Via::kNewPacket,
       [] { return Frames().path_ack(0, 0, 0); }, kEnc},
      {"not_negotiated_client_only_path_abandon", Offer::kClientOnly, Via::kNewPacket,
       [] { return Frames().add(PathAbandonFrame{0, 0}); }, kEnc},
  };
  return all;
}

HarnessOptions server_options(bool offers_multipath) {
  HarnessOptions o;
  if (offers_multipath) {
    o.server_cfg = [](QuicEndpointConfig& c) {
      c.conn.local_tp.initial_max_path_id = kPathLimit;
    };
  }
  return o;
}

const Connection* server_of(Harness& h) { return h.server_conn(); }

// The endpoints free a connection once it is closed: look it up each time, and ask the app for
// the close of one already gone.
Connection* client_of(Harness& h) {
  Connection* out = nullptr;
  h.client->for_each_connection([&](Connection& c) { out = &c; });
  return out;
}

CloseInfo server_close(Harness& h) {
  const Connection* s = server_of(h);
  return s ? s->close_info() : h.server_app.last_close;
}

CloseInfo client_close(Harness& h) {
  const Connection* c = client_of(h);
  return c ? c->close_info() : h.client_app.close;
}

// Opens path 1 from a second client address, waits until it is validated, then the client
// abandons it and the server answers (3.4); `dropped`: until the server forgot it. False (with
// the failure reported) when any step does not happen.
bool open_and_abandon_path_1(Harness& h, bool dropped) {
  Connection* c = client_of(h);
  if (!c) return false;
  const Address cli2 = Address::v4(198, 18, 0, 3, 40000);
  add_client_address(h, cli2, 10 * kMillisecond, 100'000'000, 1000);
  uint32_t id = 0;
  const Connection::OpenPathResult r = c->open_path(tuple_from(cli2, h.srv_addr), h.sim.now(), &id);
  EXPECT_EQ(r, Connection::OpenPathResult::kOk);
  EXPECT_EQ(id, 1u);
  if (r != Connection::OpenPathResult::kOk || id != 1) return false;
  const bool validated = h.sim.run_until([&] {
    c = client_of(h);
    if (!c) return true;
    const auto v = paths_of(*c);
    return info(v, 1) && info(v, 1)->validated;
  }, 2 * kSecond);
  EXPECT_TRUE(validated) << "path 1 not validated";
  if (!validated || !c || !c->abandon_path(1, 0, h.sim.now())) return false;
  const bool done = h.sim.run_until([&] {
    const Connection* s = server_of(h);
    if (!s) return false;
    const auto v = paths_of(*s);
    return dropped ? !info(v, 1) : info(v, 1) && info(v, 1)->abandoned;
  }, 2 * kSecond);
  EXPECT_TRUE(done) << "the server did not " << (dropped ? "forget" : "abandon") << " path 1";
  return done;
}

void run_case(const Case& k) {
  const bool server_offers = k.offer == Offer::kBoth || k.offer == Offer::kServerOnly;
  const bool client_offers = k.offer == Offer::kBoth || k.offer == Offer::kClientOnly;
  Harness h(50000, server_options(server_offers));
  FrameInjector inj(h);
  h.client_proxy.poll_ns = kMillisecond;  // a request made between client calls goes out
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  if (client_offers) cc.local_tp.initial_max_path_id = kPathLimit;
  const std::vector<uint8_t> payload = k.frames().bytes;
  ASSERT_FALSE(payload.empty());

  if (k.via == Via::kHandshakePacket) inj.send_handshake(payload);
  ASSERT_NE(h.connect(cc), nullptr);
  if (k.via != Via::kHandshakePacket) {
    ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
    ASSERT_NE(client_of(h), nullptr);
    ASSERT_NE(server_of(h), nullptr);
    EXPECT_EQ(client_of(h)->multipath(), server_offers && client_offers);
    EXPECT_EQ(server_of(h)->multipath(), server_offers && client_offers);
    if (k.path1 != Path1::kUnused && !open_and_abandon_path_1(h, k.path1 == Path1::kDropped)) {
      return;
    }
  }

  if (k.error) {
    if (k.via == Via::kNewPacket) inj.send(payload);
    ASSERT_TRUE(h.sim.run_until([&] { return server_close(h).closed; }, 2 * kSecond))
        << "the server did not close";
    EXPECT_EQ(inj.sent() + inj.handshake_sent(), 1u);
    const CloseInfo s = server_close(h);
    EXPECT_FALSE(s.by_peer);
    EXPECT_FALSE(s.application);
    EXPECT_EQ(s.error_code, *k.error) << "server closed: \"" << s.reason << "\"";
    // The client learns the same code from the server's CONNECTION_CLOSE.
    ASSERT_TRUE(h.sim.run_until([&] { return client_close(h).closed; }, 2 * kSecond));
    const CloseInfo cl = client_close(h);
    EXPECT_TRUE(cl.by_peer) << "client closed itself: \"" << cl.reason << "\" code "
                            << cl.error_code;
    EXPECT_EQ(cl.error_code, *k.error);
    return;
  }

  // Ignored: the frames ride on the client's next packet (the request for more data), and the
  // connection carries that whole transfer.
  const Connection* s = server_of(h);
  const uint64_t drops_before = s->stats().drop_decrypt;
  inj.piggyback(payload);
  h.client_app.request(*client_of(h), 300000);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin || client_close(h).closed; },
                              5 * kSecond));
  EXPECT_EQ(inj.piggybacked(), 1u);
  const CloseInfo cl = client_close(h);
  EXPECT_FALSE(cl.closed) << "client: \"" << cl.reason << "\" code " << cl.error_code;
  EXPECT_FALSE(server_close(h).closed) << "server: \"" << server_close(h).reason << "\" code "
                                       << server_close(h).error_code;
  EXPECT_TRUE(h.client_app.fin);
  EXPECT_EQ(h.client_app.received, 300000u);
  EXPECT_EQ(h.client_app.corrupt, 0u);
  s = server_of(h);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->stats().drop_decrypt, drops_before);
  EXPECT_TRUE(s->established());
  if (k.check) k.check(*s);
}

TEST(QuicConnMultipathViolations, MustViolationsGiveTheRightErrors) {
  for (const Case& k : cases()) {
    SCOPED_TRACE(k.name);
    run_case(k);
  }
}

// The injector itself: a fresh packet with only a PING reaches the server and changes nothing
// there, so a violation case that passes is the frame's doing, not a broken packet.
TEST(QuicConnMultipathViolations, InjectedPacketIsAcceptedByTheServer) {
  Harness h(50000, server_options(true));
  FrameInjector inj(h);
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  cc.local_tp.initial_max_path_id = kPathLimit;
  Connection* c = h.connect(cc);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(h.sim.run_until([&] { return h.client_app.fin; }, 5 * kSecond));
  const Connection* s = server_of(h);
  ASSERT_NE(s, nullptr);
  // Nothing but the injected packet may reach the server from here on (and the server's ACK
  // of a number the client never sent must not reach the client).
  h.sim.run_for(200 * kMillisecond);
  h.sim.cut_link(h.path.ab);
  h.sim.cut_link(h.path.ba);
  const uint64_t decrypted = s->stats().packets_decrypted;
  inj.send(Frames().add(PingFrame{}).bytes);
  h.sim.run_for(5 * kMillisecond);
  EXPECT_EQ(inj.sent(), 1u);
  EXPECT_EQ(s->stats().packets_decrypted, decrypted + 1);
  EXPECT_EQ(s->stats().drop_decrypt, 0u);
  EXPECT_FALSE(s->close_info().closed);
}

}  // namespace
}  // namespace camp::quic
