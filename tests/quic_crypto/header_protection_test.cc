// Header protection: masks checked against GnuTLS's AES and ChaCha20, round trips over long and
// short headers and every packet number length, and short packets rejected.
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "dataplane/quic/crypto/chacha20.h"
#include "dataplane/quic/crypto/header_protection.h"
#include "dataplane/quic/crypto/packet_protection.h"
#include "tests/quic_crypto/hex.h"

namespace camp::quic {
namespace {

using test::hex;

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// AES-ECB of one block = AES-CBC with a zero IV; ChaCha20 with the sample as counter || nonce is
// GnuTLS's CHACHA20_32 with a 16-byte IV.
std::vector<uint8_t> gnutls_mask(Suite s, std::vector<uint8_t> key, std::vector<uint8_t> sample) {
  gnutls_cipher_algorithm_t alg = s == Suite::aes_128_gcm_sha256   ? GNUTLS_CIPHER_AES_128_CBC
                                  : s == Suite::aes_256_gcm_sha384 ? GNUTLS_CIPHER_AES_256_CBC
                                                                   : GNUTLS_CIPHER_CHACHA20_32;
  std::vector<uint8_t> iv(16, 0);
  std::vector<uint8_t> data(16, 0);
  if (s == Suite::chacha20_poly1305_sha256) {
    iv = sample;
  } else {
    data = sample;
  }
  gnutls_datum_t k = {key.data(), static_cast<unsigned>(key.size())};
  gnutls_datum_t v = {iv.data(), static_cast<unsigned>(iv.size())};
  gnutls_cipher_hd_t h;
  EXPECT_EQ(gnutls_cipher_init(&h, alg, &k, &v), 0);
  EXPECT_EQ(gnutls_cipher_encrypt(h, data.data(), data.size()), 0);
  gnutls_cipher_deinit(h);
  data.resize(kHpMaskLen);
  return data;
}

class HpSuite : public ::testing::TestWithParam<Suite> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mgr_.ok());
    std::mt19937 rng(static_cast<unsigned>(GetParam()) * 31 + 1);
    key_ = random_bytes(rng, key_len(GetParam()));
    ASSERT_EQ(hp_.init(mgr_, GetParam(), key_), CryptoStatus::ok);
  }
  ImbManager mgr_;
  std::vector<uint8_t> key_;
  HeaderProtection hp_;
};

TEST_P(HpSuite, MaskMatchesGnuTls) {
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    const auto sample = random_bytes(rng, kHpSampleLen);
    std::array<uint8_t, kHpMaskLen> m;
    ASSERT_EQ(hp_.mask(mgr_, std::span<const uint8_t, 16>(sample.data(), 16), m),
              CryptoStatus::ok);
    ASSERT_EQ(hex(m), hex(gnutls_mask(GetParam(), key_, sample))) << i;
  }
}

TEST_P(HpSuite, RoundTripLongAndShortEveryPnLength) {
  std::mt19937 rng(7);
  for (bool long_header : {true, false}) {
    for (size_t pn_len = 1; pn_len <= 4; ++pn_len) {
      for (int trial = 0; trial < 50; ++trial) {
        const size_t pn_offset = long_header ? 18 + trial % 30 : 1 + trial % 21;
        auto packet = random_bytes(rng, pn_offset + 4 + 16 + trial);
        packet[0] = static_cast<uint8_t>((long_header ? 0xc0 : 0x40) | (rng() & 0x3c) |
                                         (pn_len - 1));
        const auto plain = packet;
        ASSERT_EQ(hp_.apply(mgr_, packet, pn_offset), CryptoStatus::ok);
        // Only the protected bits and the packet number bytes may change.
        EXPECT_EQ(packet[0] & (long_header ? 0xf0 : 0xe0), plain[0] & (long_header ? 0xf0 : 0xe0));
        for (size_t i = 1; i < packet.size(); ++i) {
          if (i < pn_offset || i >= pn_offset + pn_len) {
            ASSERT_EQ(packet[i], plain[i]) << i;
          }
        }
        UnprotectedPacketNumber pn;
        ASSERT_EQ(hp_.remove(mgr_, packet, pn_offset, pn), CryptoStatus::ok);
        ASSERT_EQ(packet, plain);
        ASSERT_EQ(pn.length, pn_len);
        uint32_t expect = 0;
        for (size_t i = 0; i < pn_len; ++i) expect = expect << 8 | plain[pn_offset + i];
        ASSERT_EQ(pn.truncated, expect);
      }
    }
  }
}

TEST_P(HpSuite, MasksTheRightBits) {
  // With a known mask, check the long/short rule of RFC 9001 5.4.1 directly.
  std::vector<uint8_t> packet(1 + 4 + 16, 0);
  std::array<uint8_t, kHpMaskLen> m;
  ASSERT_EQ(hp_.mask(mgr_, std::span(packet).subspan(5).first<16>(), m), CryptoStatus::ok);
  auto short_pkt = packet;
  short_pkt[0] = 0x43;  // 4-byte packet number
  ASSERT_EQ(hp_.apply(mgr_, short_pkt, 1), CryptoStatus::ok);
  EXPECT_EQ(short_pkt[0], 0x43 ^ (m[0] & 0x1f));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(short_pkt[1 + i], m[1 + i]);
  auto long_pkt = packet;
  long_pkt[0] = 0xc0;  // 1-byte packet number
  ASSERT_EQ(hp_.apply(mgr_, long_pkt, 1), CryptoStatus::ok);
  EXPECT_EQ(long_pkt[0], 0xc0 ^ (m[0] & 0x0f));
  EXPECT_EQ(long_pkt[1], m[1]);
  EXPECT_EQ(long_pkt[2], 0);  // beyond the 1-byte packet number: untouched
}

TEST_P(HpSuite, ShortPacketsRejected) {
  std::vector<uint8_t> packet(1 + 4 + 15, 0x40);
  const auto before = packet;
  UnprotectedPacketNumber pn;
  EXPECT_EQ(hp_.apply(mgr_, packet, 1), CryptoStatus::packet_too_short);
  EXPECT_EQ(hp_.remove(mgr_, packet, 1, pn), CryptoStatus::packet_too_short);
  EXPECT_EQ(hp_.remove(mgr_, packet, 100, pn), CryptoStatus::packet_too_short);
  EXPECT_EQ(hp_.remove(mgr_, packet, 0, pn), CryptoStatus::bad_header);
  EXPECT_EQ(packet, before);
  packet.push_back(0);
  EXPECT_EQ(hp_.remove(mgr_, packet, 1, pn), CryptoStatus::ok);
}

TEST_P(HpSuite, WholePacketRoundTripAndTamper) {
  std::mt19937 rng(3);
  PacketAead aead;
  const auto key = random_bytes(rng, key_len(GetParam()));
  const auto iv = random_bytes(rng, 12);
  ASSERT_EQ(aead.init(mgr_, GetParam(), key, std::span<const uint8_t, 12>(iv.data(), 12)),
            CryptoStatus::ok);
  for (size_t payload = 3; payload < 1400; payload += 97) {
    const size_t pn_offset = 9;  // short header, 8-byte DCID
    auto packet = random_bytes(rng, pn_offset + 2 + payload + kAeadTagLen);
    packet[0] = 0x41;
    const uint64_t pn = 0x12345 + payload;
    packet[pn_offset] = static_cast<uint8_t>(pn >> 8);
    packet[pn_offset + 1] = static_cast<uint8_t>(pn);
    const auto plain = packet;
    ASSERT_EQ(protect_packet(mgr_, aead, hp_, packet, pn_offset, pn, 2), CryptoStatus::ok);
    const auto wire = packet;

    auto bad = wire;
    bad[rng() % bad.size()] ^= 0x20;
    OpenedPacket out;
    EXPECT_NE(unprotect_packet(mgr_, aead, hp_, bad, pn_offset, pn - 5, out, 2), CryptoStatus::ok);
    // A failed unprotect leaves every byte as received, header included.
    auto before = wire;
    EXPECT_EQ(unprotect_packet(mgr_, aead, hp_, before, pn_offset, pn - 5, out, 3),
              CryptoStatus::auth_failed);
    EXPECT_EQ(before, wire);

    ASSERT_EQ(unprotect_packet(mgr_, aead, hp_, packet, pn_offset, pn - 5, out, 2),
              CryptoStatus::ok);
    EXPECT_EQ(out.packet_number, pn);
    EXPECT_EQ(out.header_len, pn_offset + 2);
    EXPECT_EQ(out.payload_len, payload);
    EXPECT_TRUE(std::equal(plain.begin(), plain.end() - kAeadTagLen, packet.begin()));
  }
}

INSTANTIATE_TEST_SUITE_P(Suites, HpSuite,
                         ::testing::Values(Suite::aes_128_gcm_sha256, Suite::aes_256_gcm_sha384,
                                           Suite::chacha20_poly1305_sha256),
                         [](const auto& info) {
                           switch (info.param) {
                             case Suite::aes_128_gcm_sha256: return std::string("Aes128");
                             case Suite::aes_256_gcm_sha384: return std::string("Aes256");
                             default: return std::string("ChaCha20");
                           }
                         });

TEST(ChaCha20Block, MatchesGnuTlsKeystream) {
  std::mt19937 rng(11);
  for (int i = 0; i < 50; ++i) {
    const auto key = random_bytes(rng, 32);
    const auto nonce = random_bytes(rng, 12);
    const uint32_t counter = i == 0 ? 0xffffffffu : static_cast<uint32_t>(rng());
    std::array<uint8_t, 64> block;
    chacha20_block(std::span<const uint8_t, 32>(key.data(), 32), counter,
                   std::span<const uint8_t, 12>(nonce.data(), 12), block);
    std::vector<uint8_t> iv = {static_cast<uint8_t>(counter), static_cast<uint8_t>(counter >> 8),
                               static_cast<uint8_t>(counter >> 16),
                               static_cast<uint8_t>(counter >> 24)};
    iv.insert(iv.end(), nonce.begin(), nonce.end());
    std::vector<uint8_t> ks(64, 0);
    gnutls_datum_t k = {const_cast<uint8_t*>(key.data()), 32};
    gnutls_datum_t v = {iv.data(), 16};
    gnutls_cipher_hd_t h;
    ASSERT_EQ(gnutls_cipher_init(&h, GNUTLS_CIPHER_CHACHA20_32, &k, &v), 0);
    ASSERT_EQ(gnutls_cipher_encrypt(h, ks.data(), ks.size()), 0);
    gnutls_cipher_deinit(h);
    EXPECT_EQ(hex(block), hex(ks)) << i;
  }
}

TEST(LongHeader, ParseRejectsMalformed) {
  LongHeaderLayout l;
  // Handshake: no token field.
  std::vector<uint8_t> hs = {0xe0, 0, 0, 0, 1, 2, 0xaa, 0xbb, 1, 0xcc, 0x40, 0x05, 1, 2, 3, 4, 5};
  ASSERT_EQ(parse_long_header(hs, l), CryptoStatus::ok);
  EXPECT_EQ(l.packet_type, 2);
  EXPECT_EQ(l.pn_offset, 12u);
  EXPECT_EQ(l.packet_len, 17u);
  // Every truncation is rejected, never read past the end.
  for (size_t n = 0; n < hs.size(); ++n) {
    EXPECT_EQ(parse_long_header(std::span(hs).first(n), l), CryptoStatus::bad_header) << n;
  }
  auto bad = hs;
  bad[0] = 0x40;  // short header
  EXPECT_EQ(parse_long_header(bad, l), CryptoStatus::bad_header);
  bad = hs;
  bad[4] = 2;  // version 2: not ours
  EXPECT_EQ(parse_long_header(bad, l), CryptoStatus::bad_header);
  bad = hs;
  bad[0] = 0xf0;  // Retry
  EXPECT_EQ(parse_long_header(bad, l), CryptoStatus::bad_header);
  std::vector<uint8_t> long_cid = {0xe0, 0, 0, 0, 1, 21};
  long_cid.resize(60, 0);
  EXPECT_EQ(parse_long_header(long_cid, l), CryptoStatus::bad_header);
  // Initial whose token length points past the datagram.
  std::vector<uint8_t> init = {0xc0, 0, 0, 0, 1, 0, 0, 0x44, 0x00, 1, 2};
  EXPECT_EQ(parse_long_header(init, l), CryptoStatus::bad_header);
}

}  // namespace
}  // namespace camp::quic
