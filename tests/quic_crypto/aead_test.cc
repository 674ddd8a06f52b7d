// Per-packet AEAD: round trips for every suite and payload size 0..1500, agreement with GnuTLS
// (an independent implementation), and rejection of any tampered byte.
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/packet_protection.h"
#include "tests/quic_crypto/hex.h"

namespace camp::quic {
namespace {

constexpr Suite kSuites[] = {Suite::aes_128_gcm_sha256, Suite::aes_256_gcm_sha384,
                             Suite::chacha20_poly1305_sha256};

gnutls_cipher_algorithm_t gnutls_of(Suite s) {
  switch (s) {
    case Suite::aes_128_gcm_sha256: return GNUTLS_CIPHER_AES_128_GCM;
    case Suite::aes_256_gcm_sha384: return GNUTLS_CIPHER_AES_256_GCM;
    case Suite::chacha20_poly1305_sha256: return GNUTLS_CIPHER_CHACHA20_POLY1305;
  }
  return GNUTLS_CIPHER_UNKNOWN;
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

class AeadSuite : public ::testing::TestWithParam<Suite> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mgr_.ok());
    std::mt19937 rng(static_cast<unsigned>(GetParam()) + 7);
    key_ = random_bytes(rng, key_len(GetParam()));
    const auto iv = random_bytes(rng, kAeadIvLen);
    std::copy(iv.begin(), iv.end(), iv_.begin());
    ASSERT_EQ(aead_.init(mgr_, GetParam(), key_, iv_), CryptoStatus::ok);
  }

  // What GnuTLS makes of the same inputs: ciphertext || tag.
  std::vector<uint8_t> reference(uint64_t pn, uint32_t path_id, const std::vector<uint8_t>& aad,
                                 const std::vector<uint8_t>& plain) {
    gnutls_aead_cipher_hd_t h;
    gnutls_datum_t k = {key_.data(), static_cast<unsigned>(key_.size())};
    EXPECT_EQ(gnutls_aead_cipher_init(&h, gnutls_of(GetParam()), &k), 0);
    const auto nonce = make_nonce(iv_, pn, path_id);
    std::vector<uint8_t> out(plain.size() + kAeadTagLen);
    size_t out_len = out.size();
    EXPECT_EQ(gnutls_aead_cipher_encrypt(h, nonce.data(), nonce.size(), aad.data(), aad.size(),
                                         kAeadTagLen, plain.data(), plain.size(), out.data(),
                                         &out_len),
              0);
    gnutls_aead_cipher_deinit(h);
    out.resize(out_len);
    return out;
  }

  ImbManager mgr_;
  std::vector<uint8_t> key_;
  std::array<uint8_t, kAeadIvLen> iv_{};
  PacketAead aead_;
};

TEST_P(AeadSuite, RoundTripEverySizeAndMatchesGnuTls) {
  std::mt19937 rng(1234);
  for (size_t n = 0; n <= 1500; ++n) {
    const uint64_t pn = rng() % 100000 + (n << 20);
    const uint32_t path_id = (n % 3 == 0) ? 0 : static_cast<uint32_t>(rng());
    const auto aad = random_bytes(rng, 1 + n % 60);
    const auto plain = random_bytes(rng, n);
    std::vector<uint8_t> buf = plain;
    std::array<uint8_t, kAeadTagLen> tag;
    ASSERT_EQ(aead_.seal(mgr_, pn, aad, buf, tag, path_id), CryptoStatus::ok) << n;

    std::vector<uint8_t> sealed = buf;
    sealed.insert(sealed.end(), tag.begin(), tag.end());
    ASSERT_EQ(test::hex(sealed), test::hex(reference(pn, path_id, aad, plain))) << "size " << n;

    ASSERT_EQ(aead_.open(mgr_, pn, aad, buf, tag, path_id), CryptoStatus::ok) << n;
    ASSERT_EQ(buf, plain) << n;
  }
}

TEST_P(AeadSuite, TamperedCiphertextTagHeaderNonceFail) {
  std::mt19937 rng(99);
  const auto aad = random_bytes(rng, 21);
  const auto plain = random_bytes(rng, 200);
  std::vector<uint8_t> ct = plain;
  std::array<uint8_t, kAeadTagLen> tag;
  ASSERT_EQ(aead_.seal(mgr_, 77, aad, ct, tag), CryptoStatus::ok);
  ASSERT_NE(ct, plain);

  for (size_t i = 0; i < ct.size(); i += 7) {  // ciphertext
    std::vector<uint8_t> bad = ct;
    bad[i] ^= 0x80;
    const std::vector<uint8_t> before = bad;
    EXPECT_EQ(aead_.open(mgr_, 77, aad, bad, tag), CryptoStatus::auth_failed) << i;
    EXPECT_EQ(bad, before) << "a failed open must leave the ciphertext as it was";
  }
  for (size_t i = 0; i < kAeadTagLen; ++i) {  // tag
    std::vector<uint8_t> buf = ct;
    auto bad_tag = tag;
    bad_tag[i] ^= 0x01;
    EXPECT_EQ(aead_.open(mgr_, 77, aad, buf, bad_tag), CryptoStatus::auth_failed) << i;
    EXPECT_EQ(buf, ct);
  }
  for (size_t i = 0; i < aad.size(); ++i) {  // header (associated data)
    std::vector<uint8_t> buf = ct;
    auto bad_aad = aad;
    bad_aad[i] ^= 0x04;
    EXPECT_EQ(aead_.open(mgr_, 77, bad_aad, buf, tag), CryptoStatus::auth_failed) << i;
  }
  {  // truncated header
    std::vector<uint8_t> buf = ct;
    EXPECT_EQ(aead_.open(mgr_, 77, std::span(aad).first(20), buf, tag), CryptoStatus::auth_failed);
  }
  {  // wrong packet number, wrong path
    std::vector<uint8_t> buf = ct;
    EXPECT_EQ(aead_.open(mgr_, 78, aad, buf, tag), CryptoStatus::auth_failed);
    EXPECT_EQ(aead_.open(mgr_, 77, aad, buf, tag, 1), CryptoStatus::auth_failed);
    EXPECT_EQ(aead_.open(mgr_, 77, aad, buf, tag), CryptoStatus::ok);
    EXPECT_EQ(buf, plain);
  }
}

TEST_P(AeadSuite, WholePacketSealOpenAndTamper) {
  std::mt19937 rng(5);
  for (size_t payload_len : {size_t{0}, size_t{1}, size_t{100}, size_t{1200}}) {
    std::vector<uint8_t> packet = random_bytes(rng, 11 + payload_len + kAeadTagLen);
    packet[0] = 0x41;  // short header, 2-byte packet number
    const auto plain = packet;
    ASSERT_EQ(seal_payload(mgr_, aead_, packet, 11, 513), CryptoStatus::ok);
    for (size_t i = 0; i < packet.size(); i += 3) {
      auto bad = packet;
      bad[i] ^= 0x10;
      EXPECT_EQ(open_payload(mgr_, aead_, bad, 11, 513), CryptoStatus::auth_failed) << i;
    }
    ASSERT_EQ(open_payload(mgr_, aead_, packet, 11, 513), CryptoStatus::ok);
    EXPECT_TRUE(std::equal(plain.begin(), plain.end() - kAeadTagLen, packet.begin()));
  }
  std::vector<uint8_t> tiny(20);
  EXPECT_EQ(seal_payload(mgr_, aead_, tiny, 5, 1), CryptoStatus::packet_too_short);
  EXPECT_EQ(open_payload(mgr_, aead_, tiny, 21, 1), CryptoStatus::packet_too_short);
}

// Sealing plaintext read from elsewhere (a stream's send ring) gives exactly the in-place seal, for
// every size, leaves the source as it was, and protect_packet() does the same for a whole packet.
TEST_P(AeadSuite, SealFromAnotherBufferMatchesSealInPlace) {
  std::mt19937 rng(77);
  for (size_t n = 0; n <= 1300; n += (n < 40 ? 1 : 37)) {
    const uint64_t pn = rng() % 5000;
    const uint32_t path_id = n % 2 ? 0 : 3;
    const auto aad = random_bytes(rng, 9);
    const auto plain = random_bytes(rng, n);
    std::vector<uint8_t> in_place = plain;
    std::array<uint8_t, kAeadTagLen> tag_a, tag_b;
    ASSERT_EQ(aead_.seal(mgr_, pn, aad, in_place, tag_a, path_id), CryptoStatus::ok);
    std::vector<uint8_t> out = random_bytes(rng, n);
    const std::vector<uint8_t> src = plain;
    ASSERT_EQ(aead_.seal(mgr_, pn, aad, out, tag_b, path_id, src.data()), CryptoStatus::ok);
    EXPECT_EQ(out, in_place) << n;
    EXPECT_EQ(tag_a, tag_b) << n;
    EXPECT_EQ(src, plain) << n;
  }
  HeaderProtection hp;
  ASSERT_EQ(hp.init(mgr_, GetParam(), std::span(key_).first(key_len(GetParam()))), CryptoStatus::ok);
  std::vector<uint8_t> a = random_bytes(rng, 9 + 1200 + kAeadTagLen);
  a[0] = 0x41;  // short header, 2-byte packet number at offset 7
  std::vector<uint8_t> b(a.size(), 0xee);
  std::copy(a.begin(), a.begin() + 9, b.begin());
  const std::vector<uint8_t> plain(a.begin() + 9, a.end() - kAeadTagLen);
  ASSERT_EQ(protect_packet(mgr_, aead_, hp, a, 7, 900), CryptoStatus::ok);
  ASSERT_EQ(protect_packet(mgr_, aead_, hp, b, 7, 900, 0, plain.data()), CryptoStatus::ok);
  EXPECT_EQ(test::hex(a), test::hex(b));
}

TEST_P(AeadSuite, RejectsBadInputs) {
  std::array<uint8_t, kAeadTagLen> tag{};
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(aead_.seal(mgr_, kMaxPacketNumber + 1, {}, buf, tag), CryptoStatus::bad_length);
  EXPECT_EQ(aead_.open(mgr_, kMaxPacketNumber + 1, {}, buf, tag), CryptoStatus::bad_length);
  PacketAead other;
  EXPECT_EQ(other.init(mgr_, GetParam(), std::span(key_).first(key_.size() - 1), iv_),
            CryptoStatus::bad_length);
  EXPECT_FALSE(other.ready());
  EXPECT_EQ(other.seal(mgr_, 1, {}, buf, tag), CryptoStatus::backend_failed);
}

TEST_P(AeadSuite, DifferentKeysDoNotOpen) {
  std::vector<uint8_t> other_key = key_;
  other_key[0] ^= 1;
  PacketAead other;
  ASSERT_EQ(other.init(mgr_, GetParam(), other_key, iv_), CryptoStatus::ok);
  std::vector<uint8_t> buf(64, 0x5a);
  std::array<uint8_t, kAeadTagLen> tag;
  ASSERT_EQ(aead_.seal(mgr_, 3, {}, buf, tag), CryptoStatus::ok);
  EXPECT_EQ(other.open(mgr_, 3, {}, buf, tag), CryptoStatus::auth_failed);
}

INSTANTIATE_TEST_SUITE_P(Suites, AeadSuite, ::testing::ValuesIn(kSuites),
                         [](const auto& info) {
                           switch (info.param) {
                             case Suite::aes_128_gcm_sha256: return std::string("Aes128Gcm");
                             case Suite::aes_256_gcm_sha384: return std::string("Aes256Gcm");
                             default: return std::string("ChaCha20Poly1305");
                           }
                         });

}  // namespace
}  // namespace camp::quic
