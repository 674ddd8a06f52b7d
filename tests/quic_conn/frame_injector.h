// Impersonates the client of a Harness towards its server: frames chosen by a test reach the
// server's frame handlers in packets protected with the client's real keys, which random bytes
// never do (they do not decrypt).
//
// FrameInjector sits between the Harness's server proxy and the server endpoint and can
//  - send():       deliver a new 1-RTT packet on path 0 (the server's CID the client uses now,
//                  the client's 1-RTT write keys, packet number far above any the client used in
//                  that path's number space; the multipath nonce of path 0 is the RFC 9001 one).
//                  The server acknowledges that number and the client, which never sent it,
//                  closes with PROTOCOL_VIOLATION on that ACK (RFC 9000 13.1): fit for frames
//                  the server must reject, which it does before it acknowledges anything.
//  - piggyback():  append frames to the next real client 1-RTT packet of path 0 (decrypted,
//                  extended, sealed again under the same packet number): the client's own frames
//                  still arrive and the server's ACK names a packet the client sent, so the
//                  connection can live on. Fit for frames the server must accept or ignore.
//  - send_handshake(): put a Handshake packet with the client's Handshake keys in front of the
//                  client's first datagram that arrives once it has those keys (the server
//                  cannot have finished its handshake then, so it still reads Handshake packets).
// Frames builds payloads with the frame writer.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <vector>

#include "dataplane/quic/crypto/packet_protection.h"
#include "dataplane/quic/wire/frame_writer.h"
#include "dataplane/quic/wire/packet_header.h"
#include "tests/quic_conn/conn_harness.h"

namespace camp::quic::test_conn {

// A frame payload, built from typed frames. A frame the writer refuses fails the test.
struct Frames {
  Frames& add(const Frame& f) {
    uint8_t buf[256];
    const size_t n = write_frame(buf, sizeof buf, f);
    EXPECT_NE(n, 0u) << "frame writer refused frame type 0x" << std::hex << frame_type_of(f);
    bytes.insert(bytes.end(), buf, buf + n);
    return *this;
  }
  // ACK (path_id null) or PATH_ACK of packets [smallest, largest]; ecn picks type 0x3f.
  Frames& ack(const uint64_t* path_id, uint64_t smallest, uint64_t largest, bool ecn = false) {
    uint8_t buf[64];
    const AckRange r{smallest, largest};
    EcnCounts counts{};
    const size_t n = write_ack(buf, sizeof buf, {&r, 1}, 0, ecn ? &counts : nullptr, path_id);
    EXPECT_NE(n, 0u) << "ACK writer refused the frame";
    bytes.insert(bytes.end(), buf, buf + n);
    return *this;
  }
  // Bytes as they are, for what the writer refuses to write.
  Frames& raw(std::initializer_list<uint8_t> b) {
    bytes.insert(bytes.end(), b.begin(), b.end());
    return *this;
  }
  Frames& path_ack(uint64_t path_id, uint64_t smallest, uint64_t largest, bool ecn = false) {
    return ack(&path_id, smallest, largest, ecn);
  }
  std::vector<uint8_t> bytes;
};

class FrameInjector final : public Endpoint {
 public:
  // Packet numbers of send() start this far above anything the client can have used.
  static constexpr uint64_t kPnGap = 1 << 16;

  // Takes the server proxy's place in front of the server, and makes the proxy run at least
  // every millisecond so a packet queued with send() goes in promptly.
  explicit FrameInjector(Harness& h) : h_(h) {
    h_.server_proxy.inner = this;
    h_.server_proxy.poll_ns = kMillisecond;
  }
  ~FrameInjector() override {
    if (h_.server_proxy.inner == this) h_.server_proxy.inner = h_.server.get();
  }
  FrameInjector(const FrameInjector&) = delete;
  FrameInjector& operator=(const FrameInjector&) = delete;

  void send(std::vector<uint8_t> payload) { fresh_.push_back(std::move(payload)); }
  void piggyback(std::vector<uint8_t> frames) {
    piggy_ = std::move(frames);
    piggy_pending_ = true;
  }
  void send_handshake(std::vector<uint8_t> payload) {
    hs_ = std::move(payload);
    hs_pending_ = true;
  }

  // What went in so far.
  size_t sent() const { return sent_; }
  size_t piggybacked() const { return piggybacked_; }
  size_t handshake_sent() const { return handshake_sent_; }
  // The packet numbers used (for messages).
  uint64_t last_pn() const { return last_pn_; }

  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch& tx,
                    WorkerStats& stats) override {
    store_.clear();
    std::vector<RxDatagram> out;
    out.reserve(n + fresh_.size() + 1);
    for (size_t i = 0; i < n; ++i) {
      RxDatagram d = rx[i];
      const bool long_header = d.len > 0 && (d.data[0] & 0x80) != 0;
      if (hs_pending_ && long_header) {
        const std::vector<uint8_t>* p = build_handshake();
        if (p) out.push_back(datagram_of(*p, d.tuple));
      }
      if (d.len > 0 && !long_header) {
        if (const std::vector<uint8_t>* p = observe_short(d)) d = datagram_of(*p, d.tuple);
      }
      out.push_back(d);
    }
    append_fresh(out);
    if (h_.server) h_.server->on_datagrams(out.data(), out.size(), now, tx, stats);
  }

  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats& stats) override {
    if (!h_.server) return kNever;
    if (!fresh_.empty()) {
      store_.clear();
      std::vector<RxDatagram> out;
      append_fresh(out);
      if (!out.empty()) h_.server->on_datagrams(out.data(), out.size(), now, tx, stats);
    }
    return h_.server->on_timer(now, tx, stats);
  }

 private:
  Connection* client() {
    Connection* out = nullptr;
    h_.client->for_each_connection([&](Connection& c) { out = &c; });
    return out;
  }

  // The client's 1-RTT write keys, once it has them. Tests run without key updates: a client in
  // another key phase would need the next generation's keys, so that fails the test instead.
  bool app_keys(Connection& c) {
    if (app_ready_) return true;
    const DirectionKeys& k = c.tls()->keys(EncryptionLevel::application).write;
    if (!k.installed) return false;
    ImbManager& imb = h_.client->imb();
    app_ready_ = app_aead_.init(imb, k.keys) == CryptoStatus::ok &&
                 app_hp_.init(imb, k.keys) == CryptoStatus::ok;
    EXPECT_TRUE(app_ready_) << "client 1-RTT keys";
    return app_ready_;
  }

  RxDatagram datagram_of(const std::vector<uint8_t>& p, const Tuple& tuple) const {
    RxDatagram d;
    d.data = p.data();
    d.len = static_cast<uint16_t>(p.size());
    d.tuple = tuple;
    return d;  // room 0, no buffer id: the server may not answer in our buffer
  }

  // A client 1-RTT datagram: learns its packet number (decrypting a copy) so later numbers
  // decode, and returns the rewritten datagram when frames are to ride on it.
  const std::vector<uint8_t>* observe_short(const RxDatagram& d) {
    Connection* c = client();
    if (!c || !app_keys(*c)) return nullptr;
    const ConnectionId& dcid = c->peer_cid();
    const size_t pn_offset = 1 + dcid.length;
    if (d.len <= pn_offset || !(ByteView(d.data + 1, dcid.length) == dcid.view())) {
      return nullptr;  // another path's CID
    }
    std::vector<uint8_t> pkt(d.data, d.data + d.len);
    OpenedPacket op;
    if (unprotect_packet(h_.client->imb(), app_aead_, app_hp_, pkt, pn_offset, largest_, op, 0) !=
        CryptoStatus::ok) {
      ADD_FAILURE() << "a client 1-RTT packet of path 0 did not open with the client's keys";
      return nullptr;
    }
    largest_ = std::max(largest_, static_cast<int64_t>(op.packet_number));
    if (!piggy_pending_) return nullptr;
    if (op.header_len + op.payload_len + piggy_.size() + kAeadTagLen > 1472) return nullptr;
    // pkt now holds the unprotected header and the plaintext: add our frames, seal again.
    pkt.resize(op.header_len + op.payload_len);
    pkt.insert(pkt.end(), piggy_.begin(), piggy_.end());
    pkt.resize(pkt.size() + kAeadTagLen);
    if (protect_packet(h_.client->imb(), app_aead_, app_hp_, pkt, pn_offset, op.packet_number,
                       0) != CryptoStatus::ok) {
      ADD_FAILURE() << "protect_packet";
      return nullptr;
    }
    piggy_pending_ = false;
    ++piggybacked_;
    last_pn_ = op.packet_number;
    store_.push_back(std::move(pkt));
    return &store_.back();
  }

  void append_fresh(std::vector<RxDatagram>& out) {
    Connection* c = client();
    if (fresh_.empty() || !c || !app_keys(*c)) return;
    EXPECT_EQ(c->key_generation(), 0u) << "the injector follows no key update";
    for (const std::vector<uint8_t>& payload : fresh_) {
      const uint64_t pn = std::max({next_pn_, c->stats().packets_sent + kPnGap,
                                    static_cast<uint64_t>(largest_ + 1) + kPnGap});
      next_pn_ = pn + 1;
      std::vector<uint8_t> pkt(1 + kMaxConnectionIdLen + 4 + payload.size() + kAeadTagLen);
      const size_t hdr =
          write_short_header(pkt.data(), pkt.size(), c->peer_cid().view(), pn, 4, false, false);
      if (hdr == 0) {
        ADD_FAILURE() << "short header";
        continue;
      }
      std::memcpy(pkt.data() + hdr, payload.data(), payload.size());
      pkt.resize(hdr + payload.size() + kAeadTagLen);
      if (protect_packet(h_.client->imb(), app_aead_, app_hp_, pkt, hdr - 4, pn, 0) !=
          CryptoStatus::ok) {
        ADD_FAILURE() << "protect_packet";
        continue;
      }
      store_.push_back(std::move(pkt));
      out.push_back(datagram_of(store_.back(), tuple_from(h_.srv_addr, h_.cli_addr)));
      ++sent_;
      last_pn_ = pn;
    }
    fresh_.clear();
  }

  const std::vector<uint8_t>* build_handshake() {
    Connection* c = client();
    Connection* s = h_.server_conn();
    if (!c || !s || s->handshake_complete() || !c->tls()) return nullptr;
    const DirectionKeys& k = c->tls()->keys(EncryptionLevel::handshake).write;
    if (!k.installed) return nullptr;
    ImbManager& imb = h_.client->imb();
    PacketAead aead;
    HeaderProtection hp;
    if (aead.init(imb, k.keys) != CryptoStatus::ok || hp.init(imb, k.keys) != CryptoStatus::ok) {
      ADD_FAILURE() << "client Handshake keys";
      return nullptr;
    }
    LongHeaderFields f;
    f.type = PacketType::kHandshake;
    f.dcid = c->peer_cid().view();
    f.scid = c->local_cid().view();
    f.packet_number = kPnGap;
    f.pn_length = 4;
    f.payload_length = hs_.size() + kAeadTagLen;
    std::vector<uint8_t> pkt(64 + hs_.size() + kAeadTagLen);
    const size_t hdr = write_long_header(pkt.data(), pkt.size(), f);
    if (hdr == 0) {
      ADD_FAILURE() << "long header";
      return nullptr;
    }
    std::memcpy(pkt.data() + hdr, hs_.data(), hs_.size());
    pkt.resize(hdr + hs_.size() + kAeadTagLen);
    if (protect_packet(imb, aead, hp, pkt, hdr - 4, kPnGap, 0) != CryptoStatus::ok) {
      ADD_FAILURE() << "protect_packet (Handshake)";
      return nullptr;
    }
    hs_pending_ = false;
    ++handshake_sent_;
    last_pn_ = kPnGap;
    store_.push_back(std::move(pkt));
    return &store_.back();
  }

  Harness& h_;
  std::deque<std::vector<uint8_t>> store_;  // datagrams handed to the server in this call
  std::vector<std::vector<uint8_t>> fresh_;
  std::vector<uint8_t> piggy_, hs_;
  bool piggy_pending_ = false;
  bool hs_pending_ = false;
  bool app_ready_ = false;
  PacketAead app_aead_;
  HeaderProtection app_hp_;
  int64_t largest_ = -1;  // the client's largest packet number seen on path 0
  uint64_t next_pn_ = 0;
  uint64_t last_pn_ = 0;
  size_t sent_ = 0, piggybacked_ = 0, handshake_sent_ = 0;
};

}  // namespace camp::quic::test_conn
