#include "dataplane/quic/cid/cid_manager.h"

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/quic/cid/cid_issuer.h"

namespace camp::quic {
namespace {

struct PeerFrame {
  ConnectionId cid;
  StatelessResetToken token{};
  NewConnectionIdFrame frame;
};

// A NEW_CONNECTION_ID whose CID and token are derived from (path, seq, salt).
PeerFrame peer_frame(uint64_t seq, uint64_t rpt, uint64_t path = 0, bool mp = false,
                     uint8_t salt = 0) {
  PeerFrame p;
  p.cid.length = 8;
  p.cid.bytes[0] = static_cast<uint8_t>(seq);
  p.cid.bytes[1] = static_cast<uint8_t>(path);
  p.cid.bytes[2] = salt;
  p.token.fill(static_cast<uint8_t>(seq * 3 + path + salt));
  p.frame.has_path_id = mp;
  p.frame.path_id = path;
  p.frame.sequence_number = seq;
  p.frame.retire_prior_to = rpt;
  return p;
}

NewCidOutcome deliver(CidManager& m, PeerFrame& p) {
  p.frame.connection_id = p.cid.view();
  p.frame.stateless_reset_token = ByteView(p.token.data(), p.token.size());
  return m.on_new_connection_id(p.frame);
}

ConnectionId cid_of(uint8_t b) {
  ConnectionId c;
  c.length = 4;
  c.bytes[0] = b;
  return c;
}

CidManager with_limit(uint64_t limit) {
  CidManagerConfig c;
  c.local_active_cid_limit = limit;
  return CidManager(c);
}

TEST(CidManager, ConfigValidity) {
  EXPECT_FALSE(with_limit(1).valid());
  EXPECT_FALSE(with_limit(kMaxActiveCids + 1).valid());
  EXPECT_TRUE(with_limit(2).valid());
}

TEST(CidManager, LocalIssuanceRespectsPeerLimit) {
  CidManager m = with_limit(4);
  m.set_peer_active_cid_limit(3);
  EXPECT_EQ(m.local_cids_wanted(0), 3u);
  for (uint64_t s = 0; s < 3; ++s) EXPECT_EQ(m.add_local_cid(0, cid_of(s + 1), {}), s);
  EXPECT_EQ(m.local_cids_wanted(0), 0u);
  EXPECT_FALSE(m.add_local_cid(0, cid_of(9), {}).has_value());
  // Retire Prior To 2: seqs 0 and 1 no longer count, so two more may be issued (RFC 9000 5.1.1).
  EXPECT_FALSE(m.set_local_retire_prior_to(0, 4));  // beyond what we issued
  ASSERT_TRUE(m.set_local_retire_prior_to(0, 2));
  EXPECT_FALSE(m.set_local_retire_prior_to(0, 1));  // never decreases
  EXPECT_EQ(m.local_cids_wanted(0), 2u);
  EXPECT_EQ(m.add_local_cid(0, cid_of(4), {}), 3u);
  auto f = m.new_connection_id_frame(0, 3, false);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->retire_prior_to, 2u);
  EXPECT_EQ(f->connection_id, cid_of(4).view());
  EXPECT_FALSE(f->has_path_id);
  // Path 1 is above the peer's maximum path ID until it raises it.
  EXPECT_EQ(m.local_cids_wanted(1), 0u);
  EXPECT_FALSE(m.add_local_cid(1, cid_of(5), {}).has_value());
  EXPECT_FALSE(m.new_connection_id_frame(1, 0, true).has_value());
  m.set_peer_max_path_id(1);
  EXPECT_EQ(m.add_local_cid(1, cid_of(5), {}), 0u);  // per-path sequence numbers
  EXPECT_TRUE(m.new_connection_id_frame(1, 0, true)->has_path_id);
  EXPECT_FALSE(m.new_connection_id_frame(1, 0, false).has_value());
}

TEST(CidManager, RetireConnectionIdFromPeer) {
  CidManager m = with_limit(2);
  m.set_peer_active_cid_limit(4);
  for (uint8_t s = 0; s < 3; ++s) m.add_local_cid(0, cid_of(s + 1), {});
  RetireConnectionIdFrame f;
  f.sequence_number = 1;
  RetireOutcome r = m.on_retire_connection_id(f, 0);
  EXPECT_EQ(r.error, TransportError::NO_ERROR);
  EXPECT_TRUE(r.retired);
  EXPECT_EQ(r.cid, cid_of(2));
  EXPECT_EQ(m.local_count(0), 2u);
  // A repeat is harmless.
  r = m.on_retire_connection_id(f, 0);
  EXPECT_EQ(r.error, TransportError::NO_ERROR);
  EXPECT_FALSE(r.retired);
  // A sequence number never sent.
  f.sequence_number = 3;
  EXPECT_EQ(m.on_retire_connection_id(f, 0).error, TransportError::PROTOCOL_VIOLATION);
  // The CID the packet arrived on.
  f.sequence_number = 2;
  EXPECT_EQ(m.on_retire_connection_id(f, 2).error, TransportError::PROTOCOL_VIOLATION);
  EXPECT_NE(m.find_local(0, 2), nullptr);
  // A path ID above our maximum.
  f.has_path_id = true;
  f.path_id = 1;
  EXPECT_EQ(m.on_retire_connection_id(f, 0).error, TransportError::PROTOCOL_VIOLATION);
  // Allowed, but no CID of ours was ever issued for path 1: every sequence number is one never
  // sent (RFC 9000 19.16, per path in multipath-21 4.5).
  m.set_local_max_path_id(3);
  EXPECT_EQ(m.on_retire_connection_id(f, 0).error, TransportError::PROTOCOL_VIOLATION);
  // Issued, then the path abandoned and its CIDs forgotten: a late frame is ignored.
  m.set_peer_max_path_id(1);
  ASSERT_EQ(m.add_local_cid(1, cid_of(7), {}), 0u);
  m.abandon_path(1, [](const LocalCid&) {});
  f.sequence_number = 0;
  r = m.on_retire_connection_id(f, 0);
  EXPECT_EQ(r.error, TransportError::NO_ERROR);
  EXPECT_FALSE(r.retired);
  // Path 2 is above every path ID issued for: never issued, still a violation.
  f.path_id = 2;
  EXPECT_EQ(m.on_retire_connection_id(f, 0).error, TransportError::PROTOCOL_VIOLATION);
}

TEST(CidManager, PeerCidsBoundedByOurLimit) {
  CidManager m = with_limit(3);
  m.set_initial_peer_cid(cid_of(0xaa), nullptr);
  auto f1 = peer_frame(1, 0), f2 = peer_frame(2, 0), f3 = peer_frame(3, 0);
  EXPECT_EQ(deliver(m, f1).error, TransportError::NO_ERROR);
  EXPECT_EQ(deliver(m, f2).error, TransportError::NO_ERROR);
  EXPECT_EQ(m.peer_count(0), 3u);
  EXPECT_EQ(deliver(m, f3).error, TransportError::CONNECTION_ID_LIMIT_ERROR);
  // The same frame with Retire Prior To 1 retires seq 0 first and then fits.
  auto f3b = peer_frame(3, 1);
  const NewCidOutcome o = deliver(m, f3b);
  EXPECT_EQ(o.error, TransportError::NO_ERROR);
  EXPECT_TRUE(o.in_use_cid_retired);  // seq 0 was the handshake CID in use
  EXPECT_EQ(m.peer_count(0), 3u);
  EXPECT_EQ(m.find_peer(0, 0), nullptr);
  auto r = m.next_retire_to_send(false);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->sequence_number, 0u);
  EXPECT_FALSE(m.next_retire_to_send(false).has_value());
}

TEST(CidManager, DuplicatesAndInconsistentReuse) {
  CidManager m = with_limit(4);
  auto f1 = peer_frame(1, 0);
  EXPECT_EQ(deliver(m, f1).error, TransportError::NO_ERROR);
  EXPECT_EQ(deliver(m, f1).error, TransportError::NO_ERROR);  // retransmission
  EXPECT_EQ(m.peer_count(0), 1u);
  auto other_cid = peer_frame(1, 0, 0, false, 9);
  EXPECT_EQ(deliver(m, other_cid).error, TransportError::PROTOCOL_VIOLATION);
  auto other_token = peer_frame(1, 0);
  other_token.token[5] ^= 1;
  EXPECT_EQ(deliver(m, other_token).error, TransportError::PROTOCOL_VIOLATION);
  auto same_cid_new_seq = peer_frame(2, 0);
  same_cid_new_seq.cid = f1.cid;
  EXPECT_EQ(deliver(m, same_cid_new_seq).error, TransportError::PROTOCOL_VIOLATION);
}

TEST(CidManager, FrameEncodingAndProtocolErrors) {
  CidManager m = with_limit(4);
  auto bad_rpt = peer_frame(1, 2);
  EXPECT_EQ(deliver(m, bad_rpt).error, TransportError::FRAME_ENCODING_ERROR);
  auto f = peer_frame(1, 0);
  f.frame.connection_id = ByteView();
  f.frame.stateless_reset_token = ByteView(f.token.data(), f.token.size());
  EXPECT_EQ(m.on_new_connection_id(f.frame).error, TransportError::FRAME_ENCODING_ERROR);
  f.frame.connection_id = f.cid.view();
  f.frame.stateless_reset_token = ByteView(f.token.data(), 15);
  EXPECT_EQ(m.on_new_connection_id(f.frame).error, TransportError::FRAME_ENCODING_ERROR);
  auto mp = peer_frame(0, 0, 2, true);
  EXPECT_EQ(deliver(m, mp).error, TransportError::PROTOCOL_VIOLATION);  // above max path ID
  CidManagerConfig zc;
  zc.local_active_cid_limit = 2;
  zc.peer_cid_zero_length = true;
  CidManager z(zc);
  auto g = peer_frame(1, 0);
  EXPECT_EQ(deliver(z, g).error, TransportError::PROTOCOL_VIOLATION);
}

TEST(CidManager, RetirePriorToRules) {
  CidManager m = with_limit(4);
  for (uint64_t s : {0, 2}) {  // 1 is still in flight
    auto f = peer_frame(s, 0);
    ASSERT_EQ(deliver(m, f).error, TransportError::NO_ERROR);
  }
  auto f5 = peer_frame(5, 2);
  ASSERT_EQ(deliver(m, f5).error, TransportError::NO_ERROR);
  EXPECT_EQ(m.peer_count(0), 2u);  // 2 and 5
  EXPECT_EQ(m.pending_retires(), 1u);
  // A smaller Retire Prior To is ignored.
  auto f6 = peer_frame(6, 1);
  ASSERT_EQ(deliver(m, f6).error, TransportError::NO_ERROR);
  EXPECT_NE(m.find_peer(0, 2), nullptr);
  // A late CID below the Retire Prior To is retired at once, never stored.
  auto late = peer_frame(1, 0, 0, false, 4);
  ASSERT_EQ(deliver(m, late).error, TransportError::NO_ERROR);
  EXPECT_EQ(m.find_peer(0, 1), nullptr);
  EXPECT_EQ(m.pending_retires(), 2u);
  // A retransmission of one already retired is not stored again.
  auto again = peer_frame(0, 0);
  ASSERT_EQ(deliver(m, again).error, TransportError::NO_ERROR);
  EXPECT_EQ(m.find_peer(0, 0), nullptr);
  EXPECT_EQ(m.pending_retires(), 2u);
  // Reordered but new (3 arrives after 5 and 6): stored.
  auto f3 = peer_frame(3, 0);
  ASSERT_EQ(deliver(m, f3).error, TransportError::NO_ERROR);
  EXPECT_NE(m.find_peer(0, 3), nullptr);
  // Sending, loss and acknowledgement of RETIRE_CONNECTION_ID.
  auto r1 = m.next_retire_to_send(false);
  ASSERT_TRUE(r1.has_value());
  m.on_retire_lost(0, r1->sequence_number);
  auto r1b = m.next_retire_to_send(false);
  ASSERT_TRUE(r1b.has_value());
  EXPECT_EQ(r1b->sequence_number, r1->sequence_number);
  m.on_retire_acked(0, r1->sequence_number);
  EXPECT_EQ(m.pending_retires(), 1u);
}

TEST(CidManager, TooManyPendingRetiresIsLimitError) {
  CidManager m = with_limit(2);
  // Every CID arrives below the Retire Prior To, so each one is owed a retirement; none acked.
  auto high = peer_frame(100, 100);
  ASSERT_EQ(deliver(m, high).error, TransportError::NO_ERROR);
  TransportError e = TransportError::NO_ERROR;
  for (uint64_t s = 0; s < 100 && e == TransportError::NO_ERROR; ++s) {
    auto f = peer_frame(s, 0, 0, false, 1);
    e = deliver(m, f).error;
  }
  EXPECT_EQ(e, TransportError::CONNECTION_ID_LIMIT_ERROR);
  EXPECT_EQ(m.pending_retires(), kMaxPendingRetires);
}

TEST(CidManager, PickFreshAndRetirePeerCid) {
  CidManager m = with_limit(4);
  const StatelessResetToken t0{1, 2, 3};
  m.set_initial_peer_cid(cid_of(0xaa), &t0);
  auto f2 = peer_frame(2, 0), f1 = peer_frame(1, 0);
  deliver(m, f2);
  deliver(m, f1);
  const PeerCid* a = m.pick_fresh_peer_cid(0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->sequence, 1u);  // lowest unused
  const PeerCid* b = m.pick_fresh_peer_cid(0);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->sequence, 2u);
  EXPECT_EQ(m.pick_fresh_peer_cid(0), nullptr);
  EXPECT_EQ(m.pick_fresh_peer_cid(1), nullptr);
  // Stateless reset: only tokens of CIDs in use match.
  EXPECT_TRUE(m.is_stateless_reset(t0.data()));
  EXPECT_TRUE(m.is_stateless_reset(f1.token.data()));
  auto f3 = peer_frame(3, 0);
  deliver(m, f3);
  EXPECT_FALSE(m.is_stateless_reset(f3.token.data()));
  EXPECT_EQ(m.retire_peer_cid(0, 0), TransportError::NO_ERROR);
  EXPECT_FALSE(m.is_stateless_reset(t0.data()));
  EXPECT_EQ(m.retire_peer_cid(0, 0), TransportError::INTERNAL_ERROR);
  EXPECT_EQ(m.pending_retires(), 1u);
}

TEST(CidManager, MultipathPerPathSpaces) {
  CidManager m = with_limit(2);
  m.set_local_max_path_id(2);
  auto a = peer_frame(0, 0, 1, true), b = peer_frame(1, 0, 1, true);
  auto c = peer_frame(0, 0, 2, true), d = peer_frame(2, 0, 1, true);
  EXPECT_EQ(deliver(m, a).error, TransportError::NO_ERROR);
  EXPECT_EQ(deliver(m, b).error, TransportError::NO_ERROR);
  EXPECT_EQ(deliver(m, c).error, TransportError::NO_ERROR);  // same seq, other path: fine
  EXPECT_EQ(deliver(m, d).error, TransportError::CONNECTION_ID_LIMIT_ERROR);  // limit per path
  // Retire Prior To on path 2 leaves path 1 alone.
  auto e = peer_frame(1, 1, 2, true);
  EXPECT_EQ(deliver(m, e).error, TransportError::NO_ERROR);
  EXPECT_EQ(m.peer_count(1), 2u);
  EXPECT_EQ(m.peer_count(2), 1u);
  auto r = m.next_retire_to_send(true);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->has_path_id);
  EXPECT_EQ(r->path_id, 2u);
  EXPECT_EQ(r->sequence_number, 0u);
  // A CID may not be reused under another path ID.
  auto reuse = peer_frame(5, 0, 2, true);
  reuse.cid = a.cid;
  EXPECT_EQ(deliver(m, reuse).error, TransportError::PROTOCOL_VIOLATION);
  // Abandoning a path drops its state and reports our CIDs on it.
  m.set_peer_max_path_id(2);
  m.add_local_cid(1, cid_of(7), {});
  int seen = 0;
  m.abandon_path(1, [&](const LocalCid& l) { seen += l.cid == cid_of(7); });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(m.peer_count(1), 0u);
}

TEST(CidManager, PathSlotsBounded) {
  CidManager m = with_limit(2);
  m.set_local_max_path_id(100);
  TransportError e = TransportError::NO_ERROR;
  uint64_t path = 0;
  for (; path <= kMaxCidPaths && e == TransportError::NO_ERROR; ++path) {
    auto f = peer_frame(0, 0, path, true);
    e = deliver(m, f).error;
  }
  EXPECT_EQ(e, TransportError::CONNECTION_ID_LIMIT_ERROR);
  EXPECT_EQ(path, kMaxCidPaths + 1);
}

TEST(CidManager, IssuerRegistersInTableAndManager) {
  CidConfig cc;
  cc.server_id_len = 2;
  cc.server_id[0] = 0x12;
  cc.server_id[1] = 0x34;
  cc.nonce_len = 6;
  cc.worker_count = 4;
  CidCodec codec(cc);
  std::array<uint8_t, 32> key{};
  StatelessResetKey rk(key);
  CidTable table(3, 5);
  SeededRandom rnd(11);
  CidIssuer issuer{codec, rk, table, rnd, 3};
  CidManager m = with_limit(2);
  m.set_peer_active_cid_limit(4);
  for (uint64_t s = 0; s < 3; ++s) EXPECT_EQ(issuer.issue(m, 0, 77), s);
  EXPECT_FALSE(issuer.issue(m, 0, 77).has_value());  // table full: nothing half-registered
  EXPECT_EQ(m.local_count(0), 3u);
  EXPECT_EQ(table.size(), 3u);
  const LocalCid* l = m.find_local(0, 1);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(table.find(l->cid.view()), 77u);
  EXPECT_EQ(codec.route(l->cid.view()).worker, 3);
  StatelessResetToken t;
  ASSERT_TRUE(rk.token(l->cid.view(), t));
  EXPECT_EQ(t, l->token);
}

// A manager with multipath on: IDs 0..7 allowed both ways, room for 4 CIDs per path each way.
CidManager multipath_manager() {
  CidManager m = with_limit(4);
  m.set_peer_active_cid_limit(4);
  m.set_local_max_path_id(7);
  m.set_peer_max_path_id(7);
  return m;
}

// multipath-21 3.4: sending PATH_ABANDON retires the peer's CIDs of the path at once, without
// PATH_RETIRE_CONNECTION_ID frames; ours stay registered until the retention ends.
TEST(CidManager, AbandonRetiresPeerKeepsLocal) {
  CidManager m = multipath_manager();
  m.set_initial_peer_cid(cid_of(0xaa), nullptr);
  ASSERT_EQ(m.add_local_cid(1, cid_of(0x11), {}), 0u);
  ASSERT_EQ(m.add_local_cid(1, cid_of(0x12), {}), 1u);
  ASSERT_EQ(m.add_local_cid(0, cid_of(0x01), {}), 0u);
  auto p0 = peer_frame(0, 0, 1, true), p1 = peer_frame(1, 0, 1, true),
       p2 = peer_frame(2, 0, 1, true), z = peer_frame(1, 0, 0, true);
  for (PeerFrame* f : {&p0, &p1, &p2, &z}) {
    const NewCidOutcome o = deliver(m, *f);
    ASSERT_EQ(o.error, TransportError::NO_ERROR);
    EXPECT_FALSE(o.ignored);
    EXPECT_EQ(o.path_id, f->frame.path_id);
  }
  // Path 1 in use on peer seq 0; seq 2 is retired by us, so a retirement is owed on path 1.
  const PeerCid* used = m.pick_fresh_peer_cid(1);
  ASSERT_NE(used, nullptr);
  ASSERT_EQ(used->sequence, 0u);
  ASSERT_EQ(m.retire_peer_cid(1, 2), TransportError::NO_ERROR);
  ASSERT_EQ(m.pending_retires(), 1u);
  ASSERT_TRUE(m.has_retire_to_send());
  ASSERT_NE(m.pick_fresh_peer_cid(0), nullptr);  // path 0's second CID, for the reset check
  EXPECT_TRUE(m.is_stateless_reset(p0.token.data()));
  EXPECT_FALSE(m.path_closed(1));

  EXPECT_EQ(m.retire_peer_path(1), 2u);  // seqs 0 and 1 were left
  EXPECT_FALSE(m.has_retire_to_send());  // the queued one went with the path
  EXPECT_EQ(m.count_unsent_retires(), 0u);
  EXPECT_TRUE(m.path_closed(1));
  EXPECT_FALSE(m.path_closed(0));
  // Peer side: gone, no RETIRE owed (not even the one queued before), tokens no longer match.
  EXPECT_EQ(m.peer_count(1), 0u);
  EXPECT_EQ(m.find_peer(1, 0), nullptr);
  EXPECT_EQ(m.pick_fresh_peer_cid(1), nullptr);
  EXPECT_EQ(m.pending_retires(), 0u);
  EXPECT_FALSE(m.has_retire_to_send());
  EXPECT_FALSE(m.next_retire_to_send(true).has_value());
  EXPECT_FALSE(m.is_stateless_reset(p0.token.data()));
  EXPECT_TRUE(m.is_stateless_reset(z.token.data()));  // path 0 untouched
  EXPECT_EQ(m.peer_count(0), 2u);
  // Our side: kept, still findable, but nothing new is issued on the path.
  EXPECT_EQ(m.local_count(1), 2u);
  ASSERT_NE(m.find_local(1, 1), nullptr);
  EXPECT_EQ(m.find_local(1, 1)->cid, cid_of(0x12));
  EXPECT_EQ(m.local_cids_wanted(1), 0u);
  EXPECT_FALSE(m.add_local_cid(1, cid_of(0x13), {}).has_value());
  EXPECT_EQ(m.local_next_sequence(1), 2u);
  // Late frames for the path are ignored (multipath-21 4): a new CID is not taken, a retirement
  // does not remove a CID the peer may still send to.
  auto late = peer_frame(3, 0, 1, true);
  const NewCidOutcome o = deliver(m, late);
  EXPECT_EQ(o.error, TransportError::NO_ERROR);
  EXPECT_TRUE(o.ignored);
  EXPECT_EQ(o.path_id, 1u);
  EXPECT_EQ(m.peer_count(1), 0u);
  RetireConnectionIdFrame r;
  r.has_path_id = true;
  r.path_id = 1;
  r.sequence_number = 0;
  const RetireOutcome ro = m.on_retire_connection_id(r, 99);
  EXPECT_EQ(ro.error, TransportError::NO_ERROR);
  EXPECT_FALSE(ro.retired);
  EXPECT_EQ(m.local_count(1), 2u);
  // Above the maximum is still a violation, abandoned or not.
  auto high = peer_frame(0, 0, 8, true);
  EXPECT_EQ(deliver(m, high).error, TransportError::PROTOCOL_VIOLATION);

  // End of retention: our CIDs are handed out for the CidTable, then gone.
  std::vector<ConnectionId> dropped;
  EXPECT_EQ(m.forget_local_path(1, [&](const LocalCid& l) { dropped.push_back(l.cid); }), 2u);
  ASSERT_EQ(dropped.size(), 2u);
  EXPECT_TRUE((dropped[0] == cid_of(0x11) && dropped[1] == cid_of(0x12)) ||
              (dropped[0] == cid_of(0x12) && dropped[1] == cid_of(0x11)));
  EXPECT_EQ(m.local_count(1), 0u);
  EXPECT_TRUE(m.path_closed(1));
  // Path 0 is untouched throughout.
  EXPECT_EQ(m.local_count(0), 1u);
  EXPECT_EQ(m.local_cids_wanted(0), 3u);
}

// multipath-21 3.4: an abandoned path ID MUST NOT be reused (it is part of the nonce).
TEST(CidManager, ClosedPathIdNotReopened) {
  CidManager m = multipath_manager();
  ASSERT_TRUE(m.add_local_cid(2, cid_of(0x21), {}).has_value());
  m.retire_peer_path(2);
  EXPECT_EQ(m.forget_local_path(2, [](const LocalCid&) {}), 1u);
  // Neither side may bring path ID 2 back, though its slot is free again.
  EXPECT_TRUE(m.path_closed(2));
  EXPECT_EQ(m.local_cids_wanted(2), 0u);
  EXPECT_FALSE(m.add_local_cid(2, cid_of(0x22), {}).has_value());
  auto f = peer_frame(0, 0, 2, true);
  const NewCidOutcome o = deliver(m, f);
  EXPECT_EQ(o.error, TransportError::NO_ERROR);
  EXPECT_TRUE(o.ignored);
  EXPECT_EQ(m.peer_count(2), 0u);
  EXPECT_EQ(m.local_next_sequence(2), 0u);

  // Abandoning an ID with no state closes it at once; abandon_path closes too.
  EXPECT_EQ(m.retire_peer_path(5), 0u);
  EXPECT_TRUE(m.path_closed(5));
  EXPECT_FALSE(m.add_local_cid(5, cid_of(0x51), {}).has_value());
  ASSERT_TRUE(m.add_local_cid(3, cid_of(0x31), {}).has_value());
  m.abandon_path(3, [](const LocalCid&) {});
  EXPECT_TRUE(m.path_closed(3));
  EXPECT_FALSE(m.add_local_cid(3, cid_of(0x32), {}).has_value());
  // Closing out of order and in a run below: 0 and 1 close, the floor passes 0..3.
  m.set_initial_peer_cid(cid_of(0xaa), nullptr);
  m.retire_peer_path(0);
  m.forget_local_path(0, [](const LocalCid&) {});
  m.forget_local_path(1, [](const LocalCid&) {});
  for (uint64_t id : {0u, 1u, 2u, 3u, 5u}) EXPECT_TRUE(m.path_closed(id)) << id;
  m.set_initial_peer_cid(cid_of(0xab), nullptr);  // path 0 is gone for good
  EXPECT_EQ(m.peer_count(0), 0u);
  // IDs never abandoned stay usable.
  for (uint64_t id : {4u, 6u, 7u}) {
    EXPECT_FALSE(m.path_closed(id)) << id;
    EXPECT_TRUE(m.add_local_cid(id, cid_of(static_cast<uint8_t>(0x40 + id)), {}).has_value());
  }
}

// The record of closed IDs is fixed-size: a close far above the lowest open ID moves its window.
// A Path still holding state below it stays usable; unused IDs passed over are refused.
TEST(CidManager, ClosedPathWindowSlides) {
  CidManager m = multipath_manager();
  m.set_local_max_path_id(1000);
  m.set_peer_max_path_id(1000);
  ASSERT_TRUE(m.add_local_cid(10, cid_of(0x10), {}).has_value());
  m.forget_local_path(200, [](const LocalCid&) {});
  EXPECT_TRUE(m.path_closed(200));
  EXPECT_FALSE(m.path_closed(10));  // holds state: unaffected
  EXPECT_TRUE(m.add_local_cid(10, cid_of(0x11), {}).has_value());
  EXPECT_TRUE(m.path_closed(20));   // unused and passed over
  EXPECT_FALSE(m.path_closed(137)); // inside the window, never closed
  EXPECT_FALSE(m.path_closed(201));
  EXPECT_TRUE(m.add_local_cid(137, cid_of(0x37), {}).has_value());
  m.forget_local_path(10, [](const LocalCid&) {});
  EXPECT_TRUE(m.path_closed(10));
  EXPECT_FALSE(m.add_local_cid(10, cid_of(0x12), {}).has_value());
}

// multipath-21 4.7: PATH_CIDS_BLOCKED's Next Sequence Number may not exceed the next sequence
// number we would issue on that path.
TEST(CidManager, NextSequenceForCidsBlocked) {
  CidManager m = multipath_manager();
  EXPECT_EQ(m.local_next_sequence(0), 0u);
  EXPECT_EQ(m.local_next_sequence(3), 0u);
  for (uint8_t i = 0; i < 3; ++i) ASSERT_EQ(m.add_local_cid(0, cid_of(i + 1), {}), i);
  ASSERT_EQ(m.add_local_cid(3, cid_of(0x31), {}), 0u);
  EXPECT_EQ(m.local_next_sequence(0), 3u);
  EXPECT_EQ(m.local_next_sequence(3), 1u);  // per-path sequence spaces
  // Retirement frees room but never lowers the next sequence number.
  RetireConnectionIdFrame r;
  r.sequence_number = 1;
  ASSERT_TRUE(m.on_retire_connection_id(r, 0).retired);
  EXPECT_EQ(m.local_next_sequence(0), 3u);
  ASSERT_EQ(m.add_local_cid(0, cid_of(9), {}), 3u);
  EXPECT_EQ(m.local_next_sequence(0), 4u);
  // Refused issues do not advance it.
  m.set_peer_active_cid_limit(1);
  EXPECT_FALSE(m.add_local_cid(3, cid_of(0x32), {}).has_value());
  EXPECT_EQ(m.local_next_sequence(3), 1u);
}


std::vector<StatelessResetToken> reset_tokens_of(const CidManager& m) {
  std::vector<StatelessResetToken> v(kMaxPeerResetTokens);
  v.resize(m.peer_reset_tokens(v));
  return v;
}

// The endpoint's reset-token index re-reads a connection's tokens only when the generation
// moved: every change to the tokens peer_reset_tokens() lists (exactly those is_stateless_reset
// accepts) must move it. Random operations on two paths, the list compared after each.
TEST(CidManager, ResetTokenGenerationMovesWithEveryChange) {
  CidManager m = with_limit(4);
  m.set_peer_max_path_id(1);
  StatelessResetToken t0;
  t0.fill(0xa5);
  m.set_initial_peer_cid(cid_of(1), nullptr);
  uint64_t seq[2] = {1, 0};
  uint32_t rng = 12345;
  auto next = [&] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  std::vector<StatelessResetToken> before = reset_tokens_of(m);
  uint64_t gen = m.peer_reset_tokens_gen();
  size_t changes = 0;
  for (int step = 0; step < 3000; ++step) {
    const uint64_t path = next() & 1;
    switch (next() % 6) {
      case 0: {
        PeerFrame f = peer_frame(seq[path], 0, path, true, static_cast<uint8_t>(step));
        if (deliver(m, f).error == TransportError::NO_ERROR) ++seq[path];
        break;
      }
      case 1: m.pick_fresh_peer_cid(path); break;
      case 2:
        if (const PeerCid* p = m.find_peer(path, seq[path] ? seq[path] - 1 : 0)) {
          m.retire_peer_cid(path, p->sequence);
        }
        break;
      case 3: m.set_initial_peer_reset_token(t0); break;
      case 4: {
        PeerFrame f = peer_frame(seq[path], seq[path], path, true, static_cast<uint8_t>(step));
        if (deliver(m, f).error == TransportError::NO_ERROR) ++seq[path];
        break;
      }
      default:
        while (m.next_retire_to_send(true)) {}
        break;
    }
    const std::vector<StatelessResetToken> after = reset_tokens_of(m);
    if (after != before) {
      ++changes;
      ASSERT_NE(m.peer_reset_tokens_gen(), gen) << "step " << step;
    }
    for (const StatelessResetToken& t : after) EXPECT_TRUE(m.is_stateless_reset(t.data()));
    before = after;
    gen = m.peer_reset_tokens_gen();
  }
  EXPECT_GT(changes, 10u);  // 15 with this seed: the operations did reach the tokens
  // Abandoning a path drops its tokens, and moves the generation.
  m.retire_peer_path(1);
  const std::vector<StatelessResetToken> after = reset_tokens_of(m);
  for (const StatelessResetToken& t : after) EXPECT_TRUE(m.is_stateless_reset(t.data()));
  if (after != before) {
    EXPECT_NE(m.peer_reset_tokens_gen(), gen);
  }
}

}  // namespace
// has_retire_to_send() reads a count kept as retirements are queued, sent, lost, acknowledged
// and dropped with their path; it must agree with a scan after every one of them.
TEST(CidManager, UnsentRetireCountFollowsEveryChange) {
  CidManager m = with_limit(4);
  m.set_peer_max_path_id(1);
  m.set_initial_peer_cid(cid_of(1), nullptr);
  uint64_t seq[2] = {1, 0};
  std::vector<RetireConnectionIdFrame> sent;
  uint32_t rng = 777;
  auto next = [&] { return rng = rng * 1103515245u + 12345u, (rng >> 16) & 0x7fff; };
  size_t queued = 0, acked = 0, lost = 0;
  for (int step = 0; step < 4000; ++step) {
    const uint64_t path = next() & 1;
    switch (next() % 6) {
      case 0: {
        // Retire Prior To now and then, so the peer's frames queue retirements too.
        const uint64_t prior = next() % 3 == 0 ? seq[path] : 0;
        PeerFrame f = peer_frame(seq[path], prior, path, true, static_cast<uint8_t>(step));
        if (deliver(m, f).error == TransportError::NO_ERROR) ++seq[path];
        break;
      }
      case 1:
        if (const PeerCid* p = m.find_peer(path, seq[path] ? seq[path] - 1 : 0)) {
          m.retire_peer_cid(path, p->sequence);
          ++queued;
        }
        break;
      case 2:
        if (auto f = m.next_retire_to_send(true)) sent.push_back(*f);
        break;
      case 3:
      case 4:
        if (!sent.empty()) {
          const size_t i = next() % sent.size();
          const RetireConnectionIdFrame f = sent[i];
          sent.erase(sent.begin() + static_cast<std::ptrdiff_t>(i));
          if (next() & 1) {
            m.on_retire_acked(f.path_id, f.sequence_number);
            ++acked;
          } else {
            m.on_retire_lost(f.path_id, f.sequence_number);
            ++lost;
          }
        }
        break;
      default:
        break;
    }
    ASSERT_EQ(m.has_retire_to_send(), m.count_unsent_retires() > 0) << "step " << step;
  }
  EXPECT_GT(queued, 100u);
  EXPECT_GT(acked, 100u);
  EXPECT_GT(lost, 100u);
  while (m.next_retire_to_send(true)) {}
  EXPECT_FALSE(m.has_retire_to_send());
  EXPECT_EQ(m.count_unsent_retires(), 0u);
}

}  // namespace camp::quic
