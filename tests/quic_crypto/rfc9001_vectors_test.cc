// RFC 9001 Appendix A byte for byte, and the multipath nonce example
// (draft-ietf-quic-multipath-21, "Nonce Calculation after Handshake Completion").
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <vector>

#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/header_protection.h"
#include "dataplane/quic/crypto/key_schedule.h"
#include "dataplane/quic/crypto/packet_protection.h"
#include "dataplane/quic/crypto/retry.h"
#include "tests/quic_crypto/hex.h"
#include "tests/quic_crypto/rfc9001_packets.h"

namespace camp::quic {
namespace {

using test::hex;
using test::unhex;
namespace tv = test_vectors;

const std::vector<uint8_t> kDcid = unhex("8394c8f03e515708");

TEST(Rfc9001A1, InitialSecretAndKeys) {
  std::array<uint8_t, 32> initial_secret;
  ASSERT_EQ(hkdf_extract(HashAlg::sha256, kInitialSaltV1, kDcid, initial_secret),
            CryptoStatus::ok);
  EXPECT_EQ(hex(initial_secret),
            "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");

  InitialSecrets s;
  ASSERT_EQ(derive_initial_secrets(kDcid, s), CryptoStatus::ok);
  EXPECT_EQ(hex(s.client.view()),
            "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
  EXPECT_EQ(hex(s.server.view()),
            "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");

  PacketKeys client, server;
  ASSERT_EQ(derive_initial_keys(kDcid, client, server), CryptoStatus::ok);
  EXPECT_EQ(hex(client.key_view()), "1f369613dd76d5467730efcbe3b1a22d");
  EXPECT_EQ(hex(client.iv), "fa044b2f42a3fd3b46fb255c");
  EXPECT_EQ(hex(client.hp_view()), "9f50449e04a0e810283a1e9933adedd2");
  EXPECT_EQ(hex(server.key_view()), "cf3a5331653c364c88f0f379b6067e37");
  EXPECT_EQ(hex(server.iv), "0ac1493ca1905853b0bba03e");
  EXPECT_EQ(hex(server.hp_view()), "c206b8d9b9f0f37644430b490eeaa314");
}

class Rfc9001Packets : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mgr_.ok());
    ASSERT_EQ(derive_initial_keys(kDcid, client_keys_, server_keys_), CryptoStatus::ok);
    ASSERT_EQ(client_aead_.init(mgr_, client_keys_), CryptoStatus::ok);
    ASSERT_EQ(client_hp_.init(mgr_, client_keys_), CryptoStatus::ok);
    ASSERT_EQ(server_aead_.init(mgr_, server_keys_), CryptoStatus::ok);
    ASSERT_EQ(server_hp_.init(mgr_, server_keys_), CryptoStatus::ok);
  }

  ImbManager mgr_;
  PacketKeys client_keys_, server_keys_;
  PacketAead client_aead_, server_aead_;
  HeaderProtection client_hp_, server_hp_;
};

// A.2: header, then the CRYPTO frame padded to 1162 bytes, then room for the tag.
std::vector<uint8_t> client_initial_plain() {
  std::vector<uint8_t> p = unhex("c300000001088394c8f03e5157080000449e00000002");
  const std::vector<uint8_t> crypto = unhex(tv::kClientInitialCryptoFrame);
  p.insert(p.end(), crypto.begin(), crypto.end());
  p.resize(22 + 1162 + kAeadTagLen, 0);  // PADDING frames are zero bytes
  return p;
}

TEST_F(Rfc9001Packets, A2ClientInitialProtect) {
  std::vector<uint8_t> packet = client_initial_plain();
  ASSERT_EQ(packet.size(), 1200u);
  LongHeaderLayout layout;
  ASSERT_EQ(parse_long_header(packet, layout), CryptoStatus::ok);
  EXPECT_EQ(layout.packet_type, 0);
  EXPECT_EQ(layout.pn_offset, 18u);
  EXPECT_EQ(layout.packet_len, 1200u);

  // The intermediate values: the sample and the mask.
  std::vector<uint8_t> sealed = packet;
  ASSERT_EQ(seal_payload(mgr_, client_aead_, sealed, 22, 2), CryptoStatus::ok);
  EXPECT_EQ(hex(std::span(sealed).subspan(22, 16)), "d1b1c98dd7689fb8ec11d242b123dc9b");
  std::array<uint8_t, kHpMaskLen> mask;
  ASSERT_EQ(client_hp_.mask(mgr_, std::span(sealed).subspan(22).first<16>(), mask),
            CryptoStatus::ok);
  EXPECT_EQ(hex(mask), "437b9aec36");

  ASSERT_EQ(protect_packet(mgr_, client_aead_, client_hp_, packet, layout.pn_offset, 2),
            CryptoStatus::ok);
  EXPECT_EQ(hex(std::span(packet).first(22)), "c000000001088394c8f03e5157080000449e7b9aec34");
  EXPECT_EQ(hex(packet), tv::kClientInitialProtected);
}

TEST_F(Rfc9001Packets, A2ClientInitialUnprotect) {
  std::vector<uint8_t> packet = unhex(tv::kClientInitialProtected);
  LongHeaderLayout layout;
  ASSERT_EQ(parse_long_header(packet, layout), CryptoStatus::ok);
  OpenedPacket opened;
  ASSERT_EQ(unprotect_packet(mgr_, client_aead_, client_hp_, packet, layout.pn_offset, -1, opened),
            CryptoStatus::ok);
  EXPECT_EQ(opened.packet_number, 2u);
  EXPECT_EQ(opened.header_len, 22u);
  EXPECT_EQ(opened.payload_len, 1162u);
  const std::vector<uint8_t> plain = client_initial_plain();
  EXPECT_TRUE(std::equal(plain.begin(), plain.end() - kAeadTagLen, packet.begin()));
}

TEST_F(Rfc9001Packets, A3ServerInitial) {
  std::vector<uint8_t> packet = unhex("c1000000010008f067a5502a4262b50040750001");
  const std::vector<uint8_t> payload = unhex(tv::kServerInitialPayload);
  packet.insert(packet.end(), payload.begin(), payload.end());
  packet.resize(packet.size() + kAeadTagLen);
  LongHeaderLayout layout;
  ASSERT_EQ(parse_long_header(packet, layout), CryptoStatus::ok);
  ASSERT_EQ(layout.pn_offset, 18u);
  ASSERT_EQ(layout.packet_len, packet.size());

  std::vector<uint8_t> sealed = packet;
  ASSERT_EQ(seal_payload(mgr_, server_aead_, sealed, 20, 1), CryptoStatus::ok);
  EXPECT_EQ(hex(std::span(sealed).subspan(22, 16)), "2cd0991cd25b0aac406a5816b6394100");

  ASSERT_EQ(protect_packet(mgr_, server_aead_, server_hp_, packet, 18, 1), CryptoStatus::ok);
  EXPECT_EQ(hex(std::span(packet).first(20)), "cf000000010008f067a5502a4262b5004075c0d9");
  EXPECT_EQ(hex(packet), tv::kServerInitialProtected);

  // And back, with the client's view of the server's packet number space (nothing seen yet).
  OpenedPacket opened;
  ASSERT_EQ(unprotect_packet(mgr_, server_aead_, server_hp_, packet, 18, -1, opened),
            CryptoStatus::ok);
  EXPECT_EQ(opened.packet_number, 1u);
  EXPECT_EQ(hex(std::span(packet).subspan(20, payload.size())), tv::kServerInitialPayload);
}

TEST_F(Rfc9001Packets, A4Retry) {
  RetryIntegrity retry;
  ASSERT_EQ(retry.init(mgr_), CryptoStatus::ok);
  const std::vector<uint8_t> packet = unhex(tv::kRetryPacket);
  std::array<uint8_t, kAeadTagLen> tag;
  ASSERT_EQ(retry.compute_tag(mgr_, kDcid, std::span(packet).first(packet.size() - 16), tag),
            CryptoStatus::ok);
  EXPECT_EQ(hex(tag), hex(std::span(packet).last(16)));
  EXPECT_EQ(retry.verify(mgr_, kDcid, packet), CryptoStatus::ok);

  // The ODCID is bound in: another one fails.
  std::vector<uint8_t> other_dcid = kDcid;
  other_dcid[7] ^= 1;
  EXPECT_EQ(retry.verify(mgr_, other_dcid, packet), CryptoStatus::auth_failed);
  // So is every byte of the packet and of the tag.
  for (size_t i = 0; i < packet.size(); ++i) {
    std::vector<uint8_t> bad = packet;
    bad[i] ^= 0x01;
    const CryptoStatus st = retry.verify(mgr_, kDcid, bad);
    EXPECT_NE(st, CryptoStatus::ok) << "byte " << i;
  }
  // Not a Retry, or too short to hold a tag.
  std::vector<uint8_t> initial = packet;
  initial[0] = 0xc0;
  EXPECT_EQ(retry.verify(mgr_, kDcid, initial), CryptoStatus::bad_header);
  EXPECT_EQ(retry.verify(mgr_, kDcid, std::span(packet).first(20)), CryptoStatus::bad_header);
  std::vector<uint8_t> long_dcid(21, 0);
  EXPECT_EQ(retry.verify(mgr_, long_dcid, packet), CryptoStatus::bad_length);
}

TEST(Rfc9001A5, ChaCha20ShortHeader) {
  ImbManager mgr;
  ASSERT_TRUE(mgr.ok());
  Secret secret;
  secret.size = 32;
  const auto sb = unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b");
  std::copy(sb.begin(), sb.end(), secret.bytes.begin());

  PacketKeys keys;
  ASSERT_EQ(derive_packet_keys(Suite::chacha20_poly1305_sha256, secret, keys), CryptoStatus::ok);
  EXPECT_EQ(hex(keys.key_view()),
            "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8");
  EXPECT_EQ(hex(keys.iv), "e0459b3474bdd0e44a41c144");
  EXPECT_EQ(hex(keys.hp_view()),
            "25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4");
  Secret ku;
  ASSERT_EQ(next_secret(Suite::chacha20_poly1305_sha256, secret, ku), CryptoStatus::ok);
  EXPECT_EQ(hex(ku.view()), "1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9");

  const uint64_t pn = 654360564;
  EXPECT_EQ(hex(make_nonce(keys.iv, pn)), "e0459b3474bdd0e46d417eb0");

  PacketAead aead;
  HeaderProtection hp;
  ASSERT_EQ(aead.init(mgr, keys), CryptoStatus::ok);
  ASSERT_EQ(hp.init(mgr, keys), CryptoStatus::ok);
  std::vector<uint8_t> packet = unhex("4200bff4" "01");
  packet.resize(packet.size() + kAeadTagLen);
  ASSERT_EQ(seal_payload(mgr, aead, packet, 4, pn), CryptoStatus::ok);
  EXPECT_EQ(hex(std::span(packet).subspan(4)), "655e5cd55c41f69080575d7999c25a5bfb");
  std::array<uint8_t, kHpMaskLen> mask;
  ASSERT_EQ(hp.mask(mgr, std::span(packet).subspan(5).first<16>(), mask), CryptoStatus::ok);
  EXPECT_EQ(hex(mask), "aefefe7d03");
  ASSERT_EQ(hp.apply(mgr, packet, 1), CryptoStatus::ok);
  EXPECT_EQ(hex(packet), "4cfe4189655e5cd55c41f69080575d7999c25a5bfb");

  // Receive: the 3-byte truncated packet number 0xbff4 against a nearby largest_pn.
  OpenedPacket opened;
  ASSERT_EQ(unprotect_packet(mgr, aead, hp, packet, 1, 654360560, opened), CryptoStatus::ok);
  EXPECT_EQ(opened.packet_number, pn);
  EXPECT_EQ(opened.payload_len, 1u);
  EXPECT_EQ(packet[4], 0x01);  // PING
  EXPECT_EQ(hex(std::span(packet).first(4)), "4200bff4");
}

TEST(MultipathNonce, DraftExample) {
  const auto iv = unhex("6b26114b9cba2b63a9e8dd4f");
  const auto nonce = make_nonce(std::span<const uint8_t, 12>(iv.data(), 12), 54321, 3);
  EXPECT_EQ(hex(nonce), "6b2611489cba2b63a9e8097e");
  // Path ID 0 is the RFC 9001 nonce.
  const auto single = make_nonce(std::span<const uint8_t, 12>(iv.data(), 12), 54321, 0);
  EXPECT_EQ(hex(single), "6b26114b9cba2b63a9e8097e");
  // The largest packet number and path ID reach every byte.
  const auto top = make_nonce(std::span<const uint8_t, 12>(iv.data(), 12), kMaxPacketNumber,
                              0xffffffffu);
  EXPECT_EQ(hex(top), "94d9eeb4a345d49c561722b0");
}

TEST(PacketNumber, Rfc9000A3Example) {
  EXPECT_EQ(decode_packet_number(0xa82f30ea, 0x9b32, 16), 0xa82f9b32u);
  EXPECT_EQ(decode_packet_number(-1, 0, 8), 0u);
  EXPECT_EQ(decode_packet_number(-1, 2, 32), 2u);
  // Wraps forwards and backwards around the window.
  EXPECT_EQ(decode_packet_number(0xff, 0x01, 8), 0x101u);
  EXPECT_EQ(decode_packet_number(0x101, 0xff, 8), 0xffu);
}

}  // namespace
}  // namespace camp::quic
