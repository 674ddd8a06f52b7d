// HKDF-Expand-Label and the key update chain, checked against HKDF written out with plain HMAC.
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/quic/crypto/key_schedule.h"
#include "tests/quic_crypto/hex.h"

namespace camp::quic {
namespace {

using test::hex;
using test::unhex;

// RFC 5869 2.3 and RFC 8446 7.1 by hand: T(i) = HMAC(PRK, T(i-1) || info || i).
std::vector<uint8_t> expand_label_by_hand(HashAlg h, const std::vector<uint8_t>& secret,
                                          const std::string& label, size_t len) {
  const gnutls_mac_algorithm_t mac = h == HashAlg::sha384 ? GNUTLS_MAC_SHA384 : GNUTLS_MAC_SHA256;
  const std::string full = "tls13 " + label;
  std::vector<uint8_t> info = {static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len),
                               static_cast<uint8_t>(full.size())};
  info.insert(info.end(), full.begin(), full.end());
  info.push_back(0);
  std::vector<uint8_t> out, t;
  for (uint8_t i = 1; out.size() < len; ++i) {
    std::vector<uint8_t> msg = t;
    msg.insert(msg.end(), info.begin(), info.end());
    msg.push_back(i);
    t.assign(hash_len(h), 0);
    EXPECT_EQ(gnutls_hmac_fast(mac, secret.data(), secret.size(), msg.data(), msg.size(),
                               t.data()),
              0);
    out.insert(out.end(), t.begin(), t.end());
  }
  out.resize(len);
  return out;
}

Secret make_secret(const std::vector<uint8_t>& b) {
  Secret s;
  std::copy(b.begin(), b.end(), s.bytes.begin());
  s.size = static_cast<uint8_t>(b.size());
  return s;
}

TEST(HkdfExpandLabel, Rfc9001A1LabelsAsHkdfInfo) {
  // A.1 lists the HkdfLabel bytes; an expand with that info by hand must match our output.
  const auto secret = unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
  std::array<uint8_t, 16> key;
  ASSERT_EQ(hkdf_expand_label(HashAlg::sha256, secret, "quic key", key), CryptoStatus::ok);
  EXPECT_EQ(hex(key), hex(expand_label_by_hand(HashAlg::sha256, secret, "quic key", 16)));
  EXPECT_EQ(hex(key), "1f369613dd76d5467730efcbe3b1a22d");
}

TEST(HkdfExpandLabel, LongOutputsAndBothHashes) {
  const auto secret = unhex(std::string(96, 'a'));  // 48 bytes of 0xaa
  for (HashAlg h : {HashAlg::sha256, HashAlg::sha384}) {
    for (size_t len : {size_t{1}, size_t{12}, size_t{32}, size_t{48}, size_t{100}, size_t{255}}) {
      std::vector<uint8_t> out(len);
      ASSERT_EQ(hkdf_expand_label(h, std::span(secret).first(hash_len(h)), "quic test", out),
                CryptoStatus::ok);
      EXPECT_EQ(hex(out), hex(expand_label_by_hand(
                              h, {secret.begin(), secret.begin() + hash_len(h)}, "quic test",
                              len)));
    }
  }
}

TEST(HkdfExpandLabel, RejectsBadLengths) {
  const std::vector<uint8_t> secret(32, 1);
  std::array<uint8_t, 16> out;
  EXPECT_EQ(hkdf_expand_label(HashAlg::sha256, secret, std::string(250, 'x'), out),
            CryptoStatus::bad_length);
  EXPECT_EQ(hkdf_expand_label(HashAlg::sha256, secret, std::string(249, 'x'), out),
            CryptoStatus::ok);
  EXPECT_EQ(hkdf_expand_label(HashAlg::sha256, secret, "quic key", std::span<uint8_t>()),
            CryptoStatus::bad_length);
  EXPECT_EQ(hkdf_expand_label(HashAlg::sha384, secret, "quic key", out), CryptoStatus::bad_length);
  std::array<uint8_t, 20> prk_wrong;
  EXPECT_EQ(hkdf_extract(HashAlg::sha256, kInitialSaltV1, secret, prk_wrong),
            CryptoStatus::bad_length);
}

TEST(InitialSecrets, ConnectionIdLengths) {
  InitialSecrets zero, max, other;
  EXPECT_EQ(derive_initial_secrets({}, zero), CryptoStatus::ok);  // after a zero-length SCID Retry
  const std::vector<uint8_t> cid20(20, 7), cid21(21, 7);
  EXPECT_EQ(derive_initial_secrets(cid20, max), CryptoStatus::ok);
  EXPECT_NE(hex(zero.client.view()), hex(max.client.view()));
  EXPECT_NE(hex(max.client.view()), hex(max.server.view()));
  EXPECT_EQ(derive_initial_secrets(cid21, other), CryptoStatus::bad_length);
}

TEST(KeyUpdate, NextSecretPerSuite) {
  for (Suite s : {Suite::aes_128_gcm_sha256, Suite::aes_256_gcm_sha384,
                  Suite::chacha20_poly1305_sha256}) {
    std::vector<uint8_t> raw(secret_len(s));
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 13 + 1);
    Secret secret = make_secret(raw);
    Secret next;
    ASSERT_EQ(next_secret(s, secret, next), CryptoStatus::ok);
    ASSERT_EQ(next.size, secret_len(s));
    EXPECT_EQ(hex(next.view()), hex(expand_label_by_hand(hash_of(s), raw, "quic ku", raw.size())));

    // Three generations: each derived from the last, keys change, hp stays.
    PacketKeys keys;
    ASSERT_EQ(derive_packet_keys(s, secret, keys), CryptoStatus::ok);
    Secret cur = secret;
    for (int gen = 0; gen < 3; ++gen) {
      Secret nxt;
      PacketKeys next_keys;
      ASSERT_EQ(update_packet_keys(keys, cur, nxt, next_keys), CryptoStatus::ok);
      EXPECT_EQ(hex(nxt.view()), hex(expand_label_by_hand(
                                     hash_of(s), {cur.bytes.begin(), cur.bytes.begin() + cur.size},
                                     "quic ku", cur.size)));
      EXPECT_EQ(hex(next_keys.key_view()),
                hex(expand_label_by_hand(hash_of(s),
                                         {nxt.bytes.begin(), nxt.bytes.begin() + nxt.size},
                                         "quic key", key_len(s))));
      EXPECT_NE(hex(next_keys.key_view()), hex(keys.key_view()));
      EXPECT_NE(hex(next_keys.iv), hex(keys.iv));
      EXPECT_EQ(hex(next_keys.hp_view()), hex(keys.hp_view()));
      keys = next_keys;
      cur = nxt;
    }
    // In place works too.
    Secret in_place = secret;
    ASSERT_EQ(next_secret(s, in_place, in_place), CryptoStatus::ok);
    EXPECT_EQ(hex(in_place.view()), hex(next.view()));
  }
}

TEST(KeyUpdate, WrongSecretSizeRejected) {
  Secret s = make_secret(std::vector<uint8_t>(32, 3));
  Secret out;
  PacketKeys keys;
  EXPECT_EQ(next_secret(Suite::aes_256_gcm_sha384, s, out), CryptoStatus::bad_length);
  EXPECT_EQ(derive_packet_keys(Suite::aes_256_gcm_sha384, s, keys), CryptoStatus::bad_length);
  EXPECT_EQ(derive_packet_keys(Suite::aes_128_gcm_sha256, s, keys), CryptoStatus::ok);
  EXPECT_EQ(keys.key_view().size(), 16u);
  Secret s48 = make_secret(std::vector<uint8_t>(48, 3));
  EXPECT_EQ(derive_packet_keys(Suite::aes_256_gcm_sha384, s48, keys), CryptoStatus::ok);
  EXPECT_EQ(hex(keys.key_view()),
            hex(expand_label_by_hand(HashAlg::sha384, std::vector<uint8_t>(48, 3), "quic key",
                                     32)));
  EXPECT_EQ(hex(keys.hp_view()),
            hex(expand_label_by_hand(HashAlg::sha384, std::vector<uint8_t>(48, 3), "quic hp",
                                     32)));
}

}  // namespace
}  // namespace camp::quic
