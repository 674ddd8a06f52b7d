#include "dataplane/quic/cid/cid_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace camp::quic {
namespace {

std::vector<uint8_t> hex(const char* s) {
  std::vector<uint8_t> out;
  for (; s[0] && s[1]; s += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(s, 2), nullptr, 16)));
  return out;
}

// Hands out fixed bytes, so a generated CID can be compared with a test vector.
class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(std::vector<uint8_t> b) : bytes_(std::move(b)) {}
  bool fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = bytes_[(pos_++) % bytes_.size()];
    return true;
  }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

class FailingRandom final : public RandomSource {
 public:
  bool fill(uint8_t*, size_t) override { return false; }
};

CidConfig make_config(uint8_t sid_len, uint8_t nonce_len, uint8_t worker_len, uint32_t workers) {
  CidConfig c;
  c.config_id = 2;
  c.server_id_len = sid_len;
  for (uint8_t i = 0; i < sid_len; ++i) c.server_id[i] = static_cast<uint8_t>(0xa0 + i * 7);
  c.nonce_len = nonce_len;
  c.worker_len = worker_len;
  c.worker_count = workers;
  return c;
}

TEST(CidCodec, DraftPlaintextVector) {
  // draft-ietf-quic-load-balancers "Unencrypted CIDs", first row: cr_bits 0, sid c4605e, nonce
  // 4504cc4f, cid 07c4605e4504cc4f (length self-described). Our worker number ends the Server ID:
  // server octets c460, worker 0x5e.
  CidConfig c;
  c.config_id = 0;
  c.server_id_len = 2;
  c.server_id[0] = 0xc4;
  c.server_id[1] = 0x60;
  c.worker_len = 1;
  c.nonce_len = 4;
  c.worker_count = 256;
  CidCodec codec(c);
  ASSERT_TRUE(codec.valid());
  const auto want = hex("07c4605e4504cc4f");
  FixedRandom rnd({0x00, 0x45, 0x04, 0xcc, 0x4f});  // first-octet draw (unused: length encoded), nonce
  ConnectionId cid;
  ASSERT_TRUE(codec.generate(0x5e, rnd, cid));
  EXPECT_EQ(cid.view(), ByteView(want.data(), want.size()));
  const DecodedCid d = codec.route(ByteView(want.data(), want.size()));
  EXPECT_EQ(d.status, CidStatus::kOk);
  EXPECT_EQ(d.config_id, 0);
  EXPECT_EQ(d.worker, 0x5e);
  EXPECT_EQ(d.server_id, ByteView(want.data() + 1, 3));
  // The draft's second plaintext row (sid 350d28b420, nonce "3487d970b", cid
  // 20a350d28b4203487d970b) is malformed in this copy: the nonce has an odd number of hex digits
  // and first octet 0x20 claims length 0 for a 10-octet remainder. We check that we reject it as
  // self-inconsistent rather than pretend it decodes.
  CidConfig c2;
  c2.config_id = 1;
  c2.server_id_len = 4;
  const auto sid2 = hex("350d28b4");
  std::copy(sid2.begin(), sid2.end(), c2.server_id.begin());
  c2.nonce_len = 5;
  c2.worker_count = 256;
  CidCodec codec2(c2);
  ASSERT_TRUE(codec2.valid());
  const auto bad = hex("20a350d28b4203487d970b");
  EXPECT_EQ(codec2.decode(ByteView(bad.data(), bad.size())).status, CidStatus::kLengthMismatch);
}

TEST(CidCodec, RoundTripAllLengths) {
  SeededRandom rnd(42);
  int configs = 0;
  for (uint8_t sid = 1; sid <= kMaxServerIdLength; ++sid) {
    for (uint8_t wl = 1; wl <= 2; ++wl) {
      if (sid + wl > kMaxServerIdLength) {
        EXPECT_EQ(CidCodec(make_config(sid, 4, wl, 4)).error(), CidConfigError::kBadServerIdLength);
        continue;
      }
      for (uint8_t nonce = 4; sid + wl + nonce <= 19; ++nonce) {
        const uint32_t workers = wl == 1 ? 256 : 65536;
        CidConfig c = make_config(sid, nonce, wl, workers);
        CidCodec codec(c);
        ASSERT_TRUE(codec.valid()) << int(sid) << " " << int(nonce);
        ++configs;
        for (uint32_t w : {0u, 1u, 7u, workers / 2 + 3, workers - 1}) {
          ConnectionId cid;
          ASSERT_TRUE(codec.generate(static_cast<uint16_t>(w), rnd, cid));
          ASSERT_EQ(cid.length, 1 + sid + wl + nonce);
          EXPECT_EQ(cid.bytes[0] >> 5, 2);
          EXPECT_EQ(cid.bytes[0] & 0x1f, sid + wl + nonce);
          const DecodedCid d = codec.route(cid.view());
          ASSERT_EQ(d.status, CidStatus::kOk);
          EXPECT_EQ(d.worker, w);
          // The Server ID on the wire: the server's octets, then the worker number big-endian.
          ASSERT_EQ(d.server_id.size, size_t{sid} + wl);
          EXPECT_EQ(ByteView(d.server_id.data, sid), ByteView(c.server_id.data(), sid));
          EXPECT_EQ(d.server_id[sid + wl - 1], static_cast<uint8_t>(w));
          if (wl == 2) {
            EXPECT_EQ(d.server_id[sid], static_cast<uint8_t>(w >> 8));
          }
        }
      }
    }
  }
  EXPECT_GT(configs, 100);
}

TEST(CidCodec, NonceHasNoFixedOctet) {
  // "Server Actions": without a key the Nonce must have no observable relationship to earlier
  // CIDs. Every nonce octet of one worker's CIDs varies (the worker lives in the Server ID).
  for (uint8_t wl = 1; wl <= 2; ++wl) {
    const CidConfig c = make_config(2, 4, wl, wl == 1 ? 256 : 300);
    CidCodec codec(c);
    ASSERT_TRUE(codec.valid());
    SeededRandom rnd(17);
    const size_t at = 1 + c.wire_server_id_len();
    std::vector<std::vector<bool>> seen(c.nonce_len, std::vector<bool>(256));
    for (int i = 0; i < 64; ++i) {
      ConnectionId cid;
      ASSERT_TRUE(codec.generate(wl == 1 ? 5 : 260, rnd, cid));
      for (size_t k = 0; k < c.nonce_len; ++k) seen[k][cid.bytes[at + k]] = true;
    }
    for (size_t k = 0; k < c.nonce_len; ++k) {
      EXPECT_GT(std::count(seen[k].begin(), seen[k].end(), true), 16) << "nonce octet " << k;
    }
  }
}

TEST(CidCodec, WithoutConfigurationCidsAreUnroutableYetSteerable) {
  // "Configuration Failover": no QUIC-LB configuration (the default) means config rotation
  // 0b111 and a self-described length. A load balancer routes none of them (decode); our own
  // steering still finds the worker (route).
  CidConfig c;
  c.server_id_len = 1;
  c.nonce_len = 7;
  c.worker_count = 4;
  ASSERT_EQ(c.config_id, kUnroutableConfigId);
  CidCodec codec(c);
  ASSERT_TRUE(codec.valid());
  SeededRandom rnd(23);
  ConnectionId cid;
  ASSERT_TRUE(codec.generate(3, rnd, cid));
  ASSERT_EQ(cid.length, 10);
  EXPECT_EQ(cid.bytes[0], 0xe0 | 9);
  EXPECT_EQ(codec.decode(cid.view()).status, CidStatus::kUnroutable);
  const DecodedCid d = codec.route(cid.view());
  EXPECT_EQ(d.status, CidStatus::kOk);
  EXPECT_EQ(d.worker, 3);
  ConnectionId other = cid;
  other.bytes[0] = 0x20 | 9;  // another server's configuration
  EXPECT_EQ(codec.route(other.view()).status, CidStatus::kOtherConfig);
  c.encode_length = false;  // 0b111 CIDs must self-describe their length
  EXPECT_EQ(CidCodec(c).error(), CidConfigError::kBadConfigId);
}

TEST(CidCodec, NonceIsRandomAndLengthBitsRandomWhenNotEncoded) {
  CidConfig c = make_config(2, 8, 1, 4);
  c.encode_length = false;
  CidCodec codec(c);
  SeededRandom rnd(7);
  ConnectionId a, b;
  int low_bits_differ = 0;
  for (int i = 0; i < 32; ++i) {
    ASSERT_TRUE(codec.generate(3, rnd, a));
    ASSERT_TRUE(codec.generate(3, rnd, b));
    EXPECT_FALSE(a == b);
    low_bits_differ += (a.bytes[0] & 0x1f) != (b.bytes[0] & 0x1f);
    EXPECT_EQ(codec.route(a.view()).worker, 3);
  }
  EXPECT_GT(low_bits_differ, 16);
}

TEST(CidCodec, SeededIsDeterministic) {
  CidCodec codec(make_config(3, 6, 2, 300));
  SeededRandom r1(99), r2(99);
  ConnectionId a, b;
  ASSERT_TRUE(codec.generate(299, r1, a));
  ASSERT_TRUE(codec.generate(299, r2, b));
  EXPECT_EQ(a, b);
}

TEST(CidCodec, RejectsBadConfigs) {
  CidConfig c = make_config(3, 6, 1, 4);
  c.config_id = 8;
  EXPECT_EQ(CidCodec(c).error(), CidConfigError::kBadConfigId);
  EXPECT_EQ(CidCodec(make_config(14, 4, 2, 4)).error(), CidConfigError::kBadServerIdLength);
  EXPECT_EQ(CidCodec(make_config(0, 6, 1, 4)).error(), CidConfigError::kBadServerIdLength);
  EXPECT_EQ(CidCodec(make_config(3, 3, 1, 4)).error(), CidConfigError::kBadNonceLength);
  EXPECT_EQ(CidCodec(make_config(10, 10, 1, 4)).error(), CidConfigError::kBadNonceLength);
  EXPECT_EQ(CidCodec(make_config(3, 6, 3, 4)).error(), CidConfigError::kBadWorkerLength);
  EXPECT_EQ(CidCodec(make_config(3, 6, 1, 257)).error(), CidConfigError::kBadWorkerCount);
  EXPECT_EQ(CidCodec(make_config(3, 6, 1, 0)).error(), CidConfigError::kBadWorkerCount);
  EXPECT_STRNE(to_string(CidConfigError::kBadNonceLength), "unknown");
}

TEST(CidCodec, GenerateFailures) {
  CidCodec codec(make_config(3, 6, 1, 4));
  SeededRandom rnd(1);
  FailingRandom fail;
  ConnectionId cid;
  EXPECT_FALSE(codec.generate(4, rnd, cid));  // worker out of range
  EXPECT_FALSE(codec.generate(0, fail, cid));
  CidCodec invalid(make_config(0, 6, 1, 4));
  EXPECT_FALSE(invalid.generate(0, rnd, cid));
}

TEST(CidCodec, ForeignAndShortCidsRejected) {
  const CidConfig c = make_config(3, 6, 1, 4);
  CidCodec codec(c);
  SeededRandom rnd(5);
  ConnectionId ours;
  ASSERT_TRUE(codec.generate(2, rnd, ours));
  const size_t n = codec.cid_length();

  // Every shorter and longer length is refused without reading past the given size: the copies
  // live in exactly-sized heap buffers so ASan would catch an over-read.
  for (size_t len = 0; len <= kMaxCidLength; ++len) {
    if (len == n) continue;
    std::vector<uint8_t> buf(ours.bytes.begin(), ours.bytes.begin() + std::min(len, n));
    buf.resize(len, 0x11);
    EXPECT_EQ(codec.route(ByteView(buf.data(), buf.size())).status, CidStatus::kWrongLength);
  }
  EXPECT_EQ(codec.route(ByteView()).status, CidStatus::kWrongLength);

  auto mutated = [&](auto f) {
    std::vector<uint8_t> buf(ours.bytes.begin(), ours.bytes.begin() + n);
    f(buf);
    return codec.route(ByteView(buf.data(), buf.size())).status;
  };
  EXPECT_EQ(mutated([](auto& b) { b[0] = static_cast<uint8_t>(0xe0 | (b[0] & 0x1f)); }),
            CidStatus::kUnroutable);
  EXPECT_EQ(mutated([](auto& b) { b[0] = static_cast<uint8_t>(0x20 | (b[0] & 0x1f)); }),
            CidStatus::kOtherConfig);
  EXPECT_EQ(mutated([](auto& b) { b[0] ^= 0x01; }), CidStatus::kLengthMismatch);
  EXPECT_EQ(mutated([](auto& b) { b[2] ^= 0x80; }), CidStatus::kForeignServer);
  EXPECT_EQ(mutated([](auto& b) { b[4] = 4; }), CidStatus::kBadWorker);
  EXPECT_EQ(mutated([](auto&) {}), CidStatus::kOk);

  // decode() is the server-agnostic view: a foreign server ID still parses.
  std::vector<uint8_t> foreign(ours.bytes.begin(), ours.bytes.begin() + n);
  foreign[1] ^= 0xff;
  const DecodedCid d = codec.decode(ByteView(foreign.data(), foreign.size()));
  EXPECT_EQ(d.status, CidStatus::kOk);
  EXPECT_EQ(d.server_id[0], foreign[1]);
  EXPECT_EQ(d.worker, 2);
}

TEST(CidCodec, ShortHeaderSteering) {
  CidCodec codec(make_config(2, 5, 1, 8));
  SeededRandom rnd(3);
  ConnectionId cid;
  ASSERT_TRUE(codec.generate(6, rnd, cid));
  std::vector<uint8_t> pkt{0x40};
  pkt.insert(pkt.end(), cid.bytes.begin(), cid.bytes.begin() + cid.length);
  // Exactly first octet + DCID: enough.
  EXPECT_EQ(codec.route_short_header(ByteView(pkt.data(), pkt.size())).worker, 6);
  pkt.push_back(0x99);
  EXPECT_EQ(codec.route_short_header(ByteView(pkt.data(), pkt.size())).status, CidStatus::kOk);
  std::vector<uint8_t> trunc(pkt.begin(), pkt.begin() + cid.length);  // one short
  EXPECT_EQ(codec.route_short_header(ByteView(trunc.data(), trunc.size())).status,
            CidStatus::kWrongLength);
}

}  // namespace
}  // namespace camp::quic
