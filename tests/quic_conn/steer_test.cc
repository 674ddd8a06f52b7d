// QuicEndpoint::steer, the per-core steering decision: a datagram whose DCID (QUIC-LB plaintext
// layout) names another worker of this server goes to that worker; its own worker's CIDs, foreign,
// unroutable, malformed or client-chosen DCIDs stay (-1); the decision is a pure function of the
// DCID; and short input is never read past its end (every datagram here lives in a heap buffer of
// exactly its length, so ASan catches a read beyond it). Also: endpoints given one
// StatelessResetKey derive the same reset token.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/quic/conn/quic_endpoint.h"
#include "dataplane/quic/wire/packet_header.h"
#include "tests/quic_tls/test_pki.h"

namespace camp::quic {
namespace {

constexpr uint32_t kWorkers = 4;

QuicEndpointConfig config(uint16_t worker, uint64_t seed) {
  QuicEndpointConfig c;
  c.role = Role::kServer;
  c.max_connections = 4;
  c.cid.config_id = 0;  // a QUIC-LB configuration (the unconfigured default has its own test)
  c.cid.server_id[0] = 0x37;
  c.cid.worker_count = kWorkers;
  c.worker = worker;
  c.seed = seed;
  return c;
}

class SteerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const test::KeyPair ca = test::make_ca("steer test CA");
    const test::KeyPair leaf = test::make_server_cert(ca, "localhost");
    TlsServerConfig sc;
    sc.cert_pem = leaf.cert_pem;
    sc.key_pem = leaf.key_pem;
    sc.alpn = {"camp-test"};
    std::string err;
    tls_ = TlsContext::server(sc, &err).release();
    ASSERT_NE(tls_, nullptr) << err;
  }
  static void TearDownTestSuite() {
    delete tls_;
    tls_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(tls_, nullptr);
    for (uint16_t w = 0; w < kWorkers; ++w) {
      ep_.push_back(std::make_unique<QuicEndpoint>(config(w, 100 + w), *tls_, nullptr));
      ASSERT_TRUE(ep_.back()->ok()) << ep_.back()->error();
    }
  }

  // A CID of our layout for `worker`, made the way connections make theirs.
  ConnectionId cid_for(uint16_t worker) {
    CidCodec codec(config(0, 1).cid);
    ConnectionId c;
    EXPECT_TRUE(codec.generate(worker, rnd_, c));
    return c;
  }
  // A short-header packet: first octet, DCID, then `tail` octets of payload.
  static std::vector<uint8_t> short_header(ByteView dcid, size_t tail = 30) {
    std::vector<uint8_t> p = {0x41};
    p.insert(p.end(), dcid.data, dcid.data + dcid.size);
    p.resize(p.size() + tail, 0xab);
    return p;
  }
  // A long-header packet of version 1 (first octet picks the type), DCID then an empty SCID.
  static std::vector<uint8_t> long_header(uint8_t first, ByteView dcid, size_t tail = 30) {
    std::vector<uint8_t> p = {first, 0, 0, 0, 1, static_cast<uint8_t>(dcid.size)};
    p.insert(p.end(), dcid.data, dcid.data + dcid.size);
    p.push_back(0);
    p.resize(p.size() + tail, 0xcd);
    return p;
  }
  // steer() on exactly the bytes of p: a copy in a buffer of that size (nullptr when empty).
  int32_t steer(uint16_t worker, const std::vector<uint8_t>& p) const {
    return steer_on(*ep_[worker], p);
  }
  static int32_t steer_on(const QuicEndpoint& ep, const std::vector<uint8_t>& p) {
    std::unique_ptr<uint8_t[]> buf(p.empty() ? nullptr : new uint8_t[p.size()]);
    if (!p.empty()) std::memcpy(buf.get(), p.data(), p.size());
    RxDatagram d;
    d.data = buf.get();
    d.len = static_cast<uint16_t>(p.size());
    d.room = d.len;
    const int32_t r = ep.steer(d);
    if (!p.empty()) {
      EXPECT_EQ(std::memcmp(buf.get(), p.data(), p.size()), 0) << "steer wrote";
    }
    return r;
  }

  static inline TlsContext* tls_ = nullptr;
  SeededRandom rnd_{9};
  std::vector<std::unique_ptr<QuicEndpoint>> ep_;
};

TEST_F(SteerTest, AnotherWorkersCidGoesToThatWorker) {
  for (uint16_t owner = 0; owner < kWorkers; ++owner) {
    const ConnectionId c = cid_for(owner);
    for (uint16_t at = 0; at < kWorkers; ++at) {
      const int32_t want = owner == at ? -1 : owner;  // its own CIDs stay where they are
      EXPECT_EQ(steer(at, short_header(c.view())), want) << owner << " at " << at;
      // Long headers after the handshake started carry our CIDs too (Handshake, 0-RTT with a
      // Retry's CID, Initial after Retry): same decision.
      EXPECT_EQ(steer(at, long_header(0xe0, c.view())), want) << owner << " at " << at;
      EXPECT_EQ(steer(at, long_header(0xc0, c.view())), want) << owner << " at " << at;
    }
  }
}

TEST_F(SteerTest, ForeignUnroutableAndBadWorkerStayHere) {
  const ConnectionId good = cid_for(2);
  ASSERT_EQ(steer(0, short_header(good.view())), 2);
  auto mutated = [&](size_t i, uint8_t v) {
    ConnectionId c = good;
    c.bytes[i] = v;
    return short_header(c.view());
  };
  EXPECT_EQ(steer(0, mutated(1, 0x38)), -1);                          // another server ID
  EXPECT_EQ(steer(0, mutated(0, uint8_t(7 << 5 | 9))), -1);           // unroutable config 0b111
  EXPECT_EQ(steer(0, mutated(0, uint8_t(1 << 5 | 9))), -1);           // another config rotation
  EXPECT_EQ(steer(0, mutated(0, uint8_t(0 << 5 | 12))), -1);          // length self-description
  EXPECT_EQ(steer(0, mutated(2, uint8_t(kWorkers))), -1);             // no such worker
  EXPECT_EQ(steer(0, mutated(2, 0xff)), -1);
  // A long header whose DCID is not of our length (a client's own DCID) is not even decoded.
  EXPECT_EQ(steer(0, long_header(0xe0, ByteView(good.bytes.data(), 9))), -1);
  std::vector<uint8_t> longer(good.bytes.begin(), good.bytes.begin() + 11);
  EXPECT_EQ(steer(0, long_header(0xe0, ByteView(longer.data(), longer.size()))), -1);
}

TEST_F(SteerTest, WithoutQuicLbConfigurationCidsSay0b111AndStillSteer) {
  // draft-ietf-quic-load-balancers "Configuration Failover": no configuration (the default), so
  // config rotation 0b111 with the length self-described; the owner is still found from the CID.
  std::vector<std::unique_ptr<QuicEndpoint>> eps;
  for (uint16_t w = 0; w < kWorkers; ++w) {
    QuicEndpointConfig c = config(w, 300 + w);
    c.cid = QuicEndpointConfig{}.cid;
    c.cid.worker_count = kWorkers;
    eps.push_back(std::make_unique<QuicEndpoint>(c, *tls_, nullptr));
    ASSERT_TRUE(eps.back()->ok()) << eps.back()->error();
  }
  QuicEndpointConfig c = config(0, 1);
  c.cid = QuicEndpointConfig{}.cid;
  c.cid.worker_count = kWorkers;
  CidCodec codec(c.cid);
  for (uint16_t owner = 0; owner < kWorkers; ++owner) {
    ConnectionId cid;
    ASSERT_TRUE(codec.generate(owner, rnd_, cid));
    EXPECT_EQ(cid.bytes[0], 0xe0 | (cid.length - 1));
    const auto p = short_header(cid.view());
    for (uint16_t at = 0; at < kWorkers; ++at) {
      EXPECT_EQ(steer_on(*eps[at], p), owner == at ? -1 : owner) << owner << " at " << at;
    }
    // The same octets under a configuration's rotation bits are another server's.
    ConnectionId other = cid;
    other.bytes[0] = static_cast<uint8_t>(cid.length - 1);
    EXPECT_EQ(steer_on(*eps[(owner + 1) % kWorkers], short_header(other.view())), -1);
  }
}

TEST_F(SteerTest, ClientChosenInitialDcidsStayOrRouteAsAPureFunction) {
  // First Initials carry a DCID the client picked (8 random octets here, as most clients do).
  SeededRandom r(77);
  for (int i = 0; i < 200; ++i) {
    uint8_t dcid[8];
    r.fill(dcid, sizeof dcid);
    for (uint16_t at = 0; at < kWorkers; ++at)
      EXPECT_EQ(steer(at, long_header(0xc0, ByteView(dcid, sizeof dcid), 1200)), -1);
  }
  // A 10-octet random DCID may happen to look like ours. Either way every worker must agree on
  // who handles it (the worker it names, or whichever received it when it names none), so all
  // packets carrying it meet at one worker.
  int routed = 0;
  for (int i = 0; i < 4000; ++i) {
    uint8_t dcid[10];
    r.fill(dcid, sizeof dcid);
    if (i % 4 == 0) {  // our length, server ID and a worker number (4 is none): mostly ours
      dcid[0] = 9;
      dcid[1] = 0x37;
      dcid[2] = static_cast<uint8_t>(i % 5);
    }
    const auto p = long_header(0xc0, ByteView(dcid, sizeof dcid), 1200);
    int32_t named = -1;
    for (uint16_t at = 0; at < kWorkers; ++at) {
      const int32_t s = steer(at, p);
      if (s >= 0) {
        EXPECT_NE(s, at);
        if (named == -1) named = s;
        EXPECT_EQ(s, named) << "workers disagree on the owner";
      }
    }
    if (named >= 0) {
      ++routed;
      EXPECT_EQ(steer(static_cast<uint16_t>(named), p), -1) << "the named worker keeps it";
      // And it is the worker the codec names, at any of the others.
      for (uint16_t at = 0; at < kWorkers; ++at)
        if (at != named) {
          EXPECT_EQ(steer(at, p), named);
        }
    }
  }
  EXPECT_GT(routed, 100);  // the crafted ones route; otherwise this test checks nothing
}

TEST_F(SteerTest, ShortAndTruncatedInputIsNeverReadPastItsEnd) {
  EXPECT_EQ(steer(1, {}), -1);
  RxDatagram null_data;  // no bytes at all
  EXPECT_EQ(ep_[1]->steer(null_data), -1);
  const ConnectionId c = cid_for(3);
  const auto sh = short_header(c.view(), 0);
  const auto lh = long_header(0xe0, c.view(), 0);
  // Every prefix of a routable packet: short ones stay, and only the full DCID routes.
  for (size_t n = 0; n <= sh.size(); ++n) {
    const std::vector<uint8_t> p(sh.begin(), sh.begin() + n);
    EXPECT_EQ(steer(0, p), n == sh.size() ? 3 : -1) << "short header of " << n << " octets";
  }
  for (size_t n = 0; n <= lh.size(); ++n) {
    const std::vector<uint8_t> p(lh.begin(), lh.begin() + n);
    // The long header routes once its DCID is complete (the SCID length is not needed).
    EXPECT_EQ(steer(0, p), n >= 6u + c.length ? 3 : -1) << "long header of " << n << " octets";
  }
  // A DCID length octet claiming more than the datagram holds.
  std::vector<uint8_t> lie = {0xe0, 0, 0, 0, 1, 10, 1, 2, 3};
  EXPECT_EQ(steer(0, lie), -1);
  lie[5] = 255;
  EXPECT_EQ(steer(0, lie), -1);
}

TEST_F(SteerTest, SharedResetKeyGivesEveryWorkerTheSameToken) {
  std::array<uint8_t, StatelessResetKey::kKeyLength> key{};
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  auto token_from = [&](QuicEndpoint& ep, ByteView dcid) {
    auto p = short_header(dcid, 60);
    RxDatagram d;
    d.data = p.data();
    d.len = static_cast<uint16_t>(p.size());
    d.tuple.local = IpAddr::v4(std::array<uint8_t, 4>{10, 0, 0, 1}.data());
    d.tuple.remote = IpAddr::v4(std::array<uint8_t, 4>{10, 0, 0, 2}.data());
    uint8_t out[1500];
    TxSlot slot;
    slot.data = out;
    slot.cap = sizeof out;
    TxBatch tx(&slot, 1);
    WorkerStats st;
    ep.on_datagrams(&d, 1, 1000, tx, st);
    EXPECT_EQ(tx.used(), 1u) << "no Stateless Reset for an unknown connection";
    return std::vector<uint8_t>(out + slot.len - kStatelessResetTokenLength, out + slot.len);
  };
  const ConnectionId c = cid_for(1);
  QuicEndpointConfig a = config(0, 5), b = config(1, 6);
  a.reset_key = key;
  b.reset_key = key;
  QuicEndpoint ea(a, *tls_, nullptr), eb(b, *tls_, nullptr);
  ASSERT_TRUE(ea.ok() && eb.ok());
  EXPECT_EQ(token_from(ea, c.view()), token_from(eb, c.view()));
  StatelessResetToken want;
  ASSERT_TRUE(StatelessResetKey(key).token(c.view(), want));
  EXPECT_EQ(token_from(ea, c.view()), std::vector<uint8_t>(want.begin(), want.end()));
  // Without a shared key each endpoint draws its own.
  EXPECT_NE(token_from(*ep_[0], c.view()), token_from(*ep_[1], c.view()));
}

}  // namespace
}  // namespace camp::quic
