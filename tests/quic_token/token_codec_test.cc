// Address validation tokens (RFC 9000 8.1): round trips of both kinds over IPv4 and IPv6, address,
// port and lifetime checks, tampering and truncation of every kind, other keys, nonce uniqueness,
// and the layout checked independently with GnuTLS's AES-128-GCM (which also lets the tests forge
// authentic tokens with impossible fields).
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dataplane/quic/token/token_codec.h"

namespace camp::quic {
namespace {

constexpr std::array<uint8_t, kTokenKeyLen> kKey = {0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87,
                                                    0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe, 0x0f};
constexpr TimeNs kNow = 5'000 * kSecond;
constexpr uint16_t kPort = 44321;

IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t x[4] = {a, b, c, d};
  return IpAddr::v4(x);
}
IpAddr v6(uint8_t last) {
  const uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0x00, last};
  return IpAddr::v6(x);
}

std::vector<uint8_t> bytes_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + 31 * i);
  return v;
}

// AES-128-GCM by GnuTLS: an implementation independent of the one under test.
std::vector<uint8_t> gnutls_seal(std::span<const uint8_t> key, const uint8_t* nonce,
                                 std::span<const uint8_t> aad, std::span<const uint8_t> plain) {
  gnutls_aead_cipher_hd_t h;
  gnutls_datum_t k = {const_cast<uint8_t*>(key.data()), static_cast<unsigned>(key.size())};
  EXPECT_EQ(gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &k), 0);
  std::vector<uint8_t> out(plain.size() + kAeadTagLen);
  size_t out_len = out.size();
  EXPECT_EQ(gnutls_aead_cipher_encrypt(h, nonce, kAeadIvLen, aad.data(), aad.size(), kAeadTagLen,
                                       plain.data(), plain.size(), out.data(), &out_len),
            0);
  gnutls_aead_cipher_deinit(h);
  out.resize(out_len);
  return out;
}

bool gnutls_open(std::span<const uint8_t> key, std::span<const uint8_t> token,
                 std::vector<uint8_t>* plain) {
  gnutls_aead_cipher_hd_t h;
  gnutls_datum_t k = {const_cast<uint8_t*>(key.data()), static_cast<unsigned>(key.size())};
  EXPECT_EQ(gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_128_GCM, &k), 0);
  plain->assign(token.size() - kTokenOverhead, 0);
  size_t len = plain->size();
  const int r = gnutls_aead_cipher_decrypt(
      h, token.data() + 1, kAeadIvLen, token.data(), kTokenHeaderLen, kAeadTagLen,
      token.data() + kTokenHeaderLen, token.size() - kTokenHeaderLen, plain->data(), &len);
  gnutls_aead_cipher_deinit(h);
  return r == 0 && len == plain->size();
}

// A token with an arbitrary plaintext, sealed with the right key: authentic, possibly absurd.
std::vector<uint8_t> forge(uint8_t type, uint64_t counter, const std::vector<uint8_t>& plain) {
  std::vector<uint8_t> t(kTokenHeaderLen);
  t[0] = type;
  for (int i = 0; i < 8; ++i) t[5 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
  const auto ct = gnutls_seal(kKey, t.data() + 1, {t.data(), kTokenHeaderLen}, plain);
  t.insert(t.end(), ct.begin(), ct.end());
  return t;
}

void put_be(std::vector<uint8_t>& v, uint64_t x, int n) {
  for (int i = n - 1; i >= 0; --i) v.push_back(static_cast<uint8_t>(x >> (8 * i)));
}

class TokenCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mgr_.ok());
    ASSERT_EQ(codec_.init(kKey, 7, 1000), CryptoStatus::ok);
  }

  // The token in a heap buffer of exactly its size, so ASan sees any read past it.
  std::vector<uint8_t> retry(const IpAddr& a, uint16_t port, ByteView odcid, ByteView rscid,
                             TimeNs now = kNow) {
    std::array<uint8_t, 128> buf;
    const size_t n = codec_.make_retry_token(buf.data(), buf.size(), a, port, odcid, rscid, now);
    EXPECT_GT(n, 0u);
    return {buf.begin(), buf.begin() + n};
  }
  std::vector<uint8_t> new_token(const IpAddr& a, TimeNs now = kNow) {
    std::array<uint8_t, 128> buf;
    const size_t n = codec_.make_new_token(buf.data(), buf.size(), a, now);
    EXPECT_EQ(n, kNewTokenLen);
    return {buf.begin(), buf.begin() + n};
  }
  TokenCheck check(const std::vector<uint8_t>& t, const IpAddr& a, uint16_t port,
                   TimeNs now = kNow, ValidatedToken* out = nullptr) {
    return codec_.validate(ByteView(t.data(), t.size()), a, port, now, out);
  }

  ImbManager mgr_;
  TokenCodec codec_{mgr_};
  std::vector<uint8_t> odcid_ = bytes_of(8, 0x11);
  std::vector<uint8_t> rscid_ = bytes_of(16, 0x77);
};

TEST_F(TokenCodecTest, RetryRoundTripV4AndV6) {
  for (const IpAddr& a : {v4(192, 0, 2, 1), v6(9)}) {
    const auto t = retry(a, kPort, {odcid_.data(), odcid_.size()}, {rscid_.data(), rscid_.size()});
    EXPECT_EQ(t.size(), kTokenOverhead + 8 + 2 + 1 + a.size() + 1 + 8 + 1 + 16);
    EXPECT_LT(t.size(), 100u);
    EXPECT_EQ(t[0], kRetryTokenType);
    EXPECT_EQ(peek_token_kind({t.data(), t.size()}), TokenKind::kRetry);
    ValidatedToken v;
    ASSERT_EQ(check(t, a, kPort, kNow, &v), TokenCheck::kValidRetry);
    EXPECT_EQ(v.kind, TokenKind::kRetry);
    EXPECT_EQ(v.issued, kNow);
    EXPECT_EQ(v.odcid.view(), ByteView(odcid_.data(), odcid_.size()));
    EXPECT_EQ(v.retry_scid.view(), ByteView(rscid_.data(), rscid_.size()));
  }
}

TEST_F(TokenCodecTest, NewTokenRoundTripV4AndV6SameLength) {
  for (const IpAddr& a : {v4(198, 51, 100, 7), v6(1)}) {
    const auto t = new_token(a);
    EXPECT_EQ(t.size(), kNewTokenLen);  // equal for both families: nothing to link on
    EXPECT_EQ(t[0], kNewTokenTokenType);
    ValidatedToken v;
    ASSERT_EQ(check(t, a, kPort, kNow, &v), TokenCheck::kValidNewToken);
    EXPECT_EQ(v.kind, TokenKind::kNewToken);
    EXPECT_EQ(v.issued, kNow);
    EXPECT_EQ(v.odcid.length, 0);
    EXPECT_EQ(v.retry_scid.length, 0);
  }
}

TEST_F(TokenCodecTest, EveryCidLengthPair) {
  const auto big_o = bytes_of(20, 0x40);
  const auto big_r = bytes_of(20, 0x90);
  for (size_t ol = 0; ol <= kMaxCidLength; ++ol) {
    for (size_t rl = 0; rl <= kMaxCidLength; ++rl) {
      const IpAddr a = (ol + rl) % 2 ? v6(static_cast<uint8_t>(ol)) : v4(10, 0, 0, 1);
      const auto t = retry(a, kPort, {big_o.data(), ol}, {big_r.data(), rl});
      ASSERT_LE(t.size(), kMaxRetryTokenLen);
      ValidatedToken v;
      ASSERT_EQ(check(t, a, kPort, kNow, &v), TokenCheck::kValidRetry) << ol << " " << rl;
      EXPECT_EQ(v.odcid.view(), ByteView(big_o.data(), ol));
      EXPECT_EQ(v.retry_scid.view(), ByteView(big_r.data(), rl));
    }
  }
  // The largest token: IPv6 and two 20-byte CIDs.
  EXPECT_EQ(retry(v6(3), kPort, {big_o.data(), 20}, {big_r.data(), 20}).size(), 98u);
}

TEST_F(TokenCodecTest, RetryRejectsOtherAddressFamilyOrPort) {
  const ByteView o(odcid_.data(), odcid_.size()), r(rscid_.data(), rscid_.size());
  const auto t4 = retry(v4(192, 0, 2, 1), kPort, o, r);
  EXPECT_EQ(check(t4, v4(192, 0, 2, 2), kPort), TokenCheck::kWrongAddress);
  EXPECT_EQ(check(t4, v4(193, 0, 2, 1), kPort), TokenCheck::kWrongAddress);
  // The same first four bytes as an IPv6 address is still another address.
  const uint8_t mapped[16] = {192, 0, 2, 1};
  EXPECT_EQ(check(t4, IpAddr::v6(mapped), kPort), TokenCheck::kWrongAddress);
  EXPECT_EQ(check(t4, IpAddr{}, kPort), TokenCheck::kWrongAddress);
  EXPECT_EQ(check(t4, v4(192, 0, 2, 1), kPort + 1), TokenCheck::kWrongPort);
  EXPECT_EQ(check(t4, v4(192, 0, 2, 1), 0), TokenCheck::kWrongPort);

  const auto t6 = retry(v6(5), kPort, o, r);
  EXPECT_EQ(check(t6, v6(6), kPort), TokenCheck::kWrongAddress);
  EXPECT_EQ(check(t6, v4(0x20, 0x01, 0x0d, 0xb8), kPort), TokenCheck::kWrongAddress);
  EXPECT_EQ(check(t6, v6(5), kPort - 1), TokenCheck::kWrongPort);
  ValidatedToken v;
  EXPECT_EQ(check(t6, v6(5), kPort, kNow, &v), TokenCheck::kValidRetry);
}

TEST_F(TokenCodecTest, NewTokenChecksAddressButNotPort) {
  const auto t4 = new_token(v4(203, 0, 113, 9));
  EXPECT_EQ(check(t4, v4(203, 0, 113, 9), 1), TokenCheck::kValidNewToken);
  EXPECT_EQ(check(t4, v4(203, 0, 113, 9), 65535), TokenCheck::kValidNewToken);
  EXPECT_EQ(check(t4, v4(203, 0, 113, 8), kPort), TokenCheck::kWrongAddress);
  const uint8_t mapped[16] = {203, 0, 113, 9};  // zero padding must not make v4 == v6
  EXPECT_EQ(check(t4, IpAddr::v6(mapped), kPort), TokenCheck::kWrongAddress);

  const auto t6 = new_token(v6(200));
  EXPECT_EQ(check(t6, v6(200), 9), TokenCheck::kValidNewToken);
  EXPECT_EQ(check(t6, v6(201), 9), TokenCheck::kWrongAddress);
}

TEST_F(TokenCodecTest, LifetimeBoundaries) {
  const ByteView o(odcid_.data(), odcid_.size()), r(rscid_.data(), rscid_.size());
  const IpAddr a = v4(192, 0, 2, 1);
  const auto rt = retry(a, kPort, o, r);
  EXPECT_EQ(check(rt, a, kPort, kNow), TokenCheck::kValidRetry);
  EXPECT_EQ(check(rt, a, kPort, kNow + 10 * kSecond), TokenCheck::kValidRetry);
  EXPECT_EQ(check(rt, a, kPort, kNow + 10 * kSecond + 1), TokenCheck::kExpired);
  EXPECT_EQ(check(rt, a, kPort, UINT64_MAX), TokenCheck::kExpired);
  EXPECT_EQ(check(rt, a, kPort, kNow - 1), TokenCheck::kFromFuture);
  EXPECT_EQ(check(rt, a, kPort, 0), TokenCheck::kFromFuture);

  const auto nt = new_token(a);
  const DurationNs day = 24 * 3600 * kSecond;
  EXPECT_EQ(check(nt, a, 1, kNow + day), TokenCheck::kValidNewToken);
  EXPECT_EQ(check(nt, a, 1, kNow + day + 1), TokenCheck::kExpired);
  EXPECT_EQ(check(nt, a, 1, kNow - 1), TokenCheck::kFromFuture);

  // Issued at time 0 and at the largest time: no wrap in the age arithmetic.
  const auto t0 = new_token(a, 0);
  EXPECT_EQ(check(t0, a, 1, 0), TokenCheck::kValidNewToken);
  EXPECT_EQ(check(t0, a, 1, UINT64_MAX), TokenCheck::kExpired);
  const auto tmax = retry(a, kPort, o, r, UINT64_MAX);
  EXPECT_EQ(check(tmax, a, kPort, UINT64_MAX), TokenCheck::kValidRetry);
  EXPECT_EQ(check(tmax, a, kPort, UINT64_MAX - 1), TokenCheck::kFromFuture);
}

TEST_F(TokenCodecTest, ConfigurableLifetimes) {
  TokenCodec c(mgr_);
  ASSERT_EQ(c.init(kKey, 1, 0, {.retry = 3 * kMillisecond, .new_token = 0}), CryptoStatus::ok);
  const IpAddr a = v6(77);
  std::array<uint8_t, kMaxTokenLen> buf;
  size_t n = c.make_retry_token(buf.data(), buf.size(), a, 7, {}, {}, 100);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(c.validate({buf.data(), n}, a, 7, 100 + 3 * kMillisecond, nullptr),
            TokenCheck::kValidRetry);
  EXPECT_EQ(c.validate({buf.data(), n}, a, 7, 100 + 3 * kMillisecond + 1, nullptr),
            TokenCheck::kExpired);
  n = c.make_new_token(buf.data(), buf.size(), a, 100);
  EXPECT_EQ(c.validate({buf.data(), n}, a, 7, 100, nullptr), TokenCheck::kValidNewToken);
  EXPECT_EQ(c.validate({buf.data(), n}, a, 7, 101, nullptr), TokenCheck::kExpired);
}

TEST_F(TokenCodecTest, EverySingleBitFlipIsRejected) {
  const ByteView o(odcid_.data(), odcid_.size()), r(rscid_.data(), rscid_.size());
  const IpAddr a = v6(42);
  for (const auto& good : {retry(a, kPort, o, r), new_token(a), retry(a, kPort, {}, {})}) {
    ASSERT_TRUE(is_valid(check(good, a, kPort)));
    for (size_t bit = 0; bit < good.size() * 8; ++bit) {
      auto t = good;
      t[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      ValidatedToken v;
      const TokenCheck c = check(t, a, kPort, kNow, &v);
      // The type byte is outside the ciphertext: a flip there makes it an unknown kind.
      const TokenCheck want = bit < 8 ? TokenCheck::kMalformed : TokenCheck::kBadTag;
      ASSERT_EQ(c, want) << "bit " << bit << " of " << good.size() << " bytes";
      EXPECT_EQ(v.odcid.length, 0);
    }
  }
}

TEST_F(TokenCodecTest, EveryTruncationAndExtensionIsRejected) {
  const auto big = bytes_of(20, 3);
  const IpAddr a = v4(10, 1, 2, 3);
  for (const auto& good : {retry(a, kPort, {big.data(), 20}, {big.data(), 20}), new_token(a),
                           retry(a, kPort, {}, {})}) {
    for (size_t n = 0; n < good.size(); ++n) {
      // Exactly n bytes on the heap: a read past them is an ASan error.
      std::vector<uint8_t> t(good.begin(), good.begin() + n);
      const TokenCheck c =
          codec_.validate(ByteView(n ? t.data() : nullptr, n), a, kPort, kNow, nullptr);
      ASSERT_TRUE(c == TokenCheck::kMalformed || c == TokenCheck::kBadTag)
          << n << ": " << to_string(c);
    }
    for (int extra : {0x00, 0xff}) {
      auto t = good;
      t.push_back(static_cast<uint8_t>(extra));
      const TokenCheck c = check(t, a, kPort);
      ASSERT_TRUE(c == TokenCheck::kMalformed || c == TokenCheck::kBadTag) << to_string(c);
    }
  }
}

TEST_F(TokenCodecTest, RandomGarbageNeverValidates) {
  std::mt19937 rng(99);
  const IpAddr a = v4(1, 2, 3, 4);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> t(rng() % 120);
    for (auto& b : t) b = static_cast<uint8_t>(rng());
    if (!t.empty() && i % 2) t[0] = (i % 4 == 1) ? kRetryTokenType : kNewTokenTokenType;
    if (i % 8 == 1) t.resize(kNewTokenLen, 0);
    ValidatedToken v;
    const TokenCheck c = codec_.validate({t.data(), t.size()}, a, 1, kNow, &v);
    ASSERT_TRUE(c == TokenCheck::kMalformed || c == TokenCheck::kBadTag) << to_string(c);
  }
}

TEST_F(TokenCodecTest, OtherKeyRejectedSharedKeyAccepted) {
  const IpAddr a = v4(192, 0, 2, 77);
  const auto rt = retry(a, kPort, {odcid_.data(), 8}, {rscid_.data(), 8});
  const auto nt = new_token(a);

  auto other_key = kKey;
  other_key[15] ^= 1;
  TokenCodec other(mgr_);
  ASSERT_EQ(other.init(other_key, 7, 1000), CryptoStatus::ok);
  EXPECT_EQ(other.validate({rt.data(), rt.size()}, a, kPort, kNow, nullptr), TokenCheck::kBadTag);
  EXPECT_EQ(other.validate({nt.data(), nt.size()}, a, kPort, kNow, nullptr), TokenCheck::kBadTag);

  // Another worker with the same key (another issuer ID) accepts them: any worker may receive a
  // client's Initial carrying a NEW_TOKEN token.
  TokenCodec sibling(mgr_);
  ASSERT_EQ(sibling.init(kKey, 8, 0), CryptoStatus::ok);
  EXPECT_EQ(sibling.validate({rt.data(), rt.size()}, a, kPort, kNow, nullptr),
            TokenCheck::kValidRetry);
  EXPECT_EQ(sibling.validate({nt.data(), nt.size()}, a, kPort, kNow, nullptr),
            TokenCheck::kValidNewToken);
}

TEST_F(TokenCodecTest, NoncesAndTokensNeverRepeat) {
  std::set<std::array<uint8_t, kAeadIvLen>> nonces;
  std::set<std::string> tokens;  // (a set of vectors trips a GCC 12 false warning)
  TokenCodec sibling(mgr_);
  // Same counter start, other issuer ID; and a counter that wraps through 2^64.
  ASSERT_EQ(sibling.init(kKey, 8, 1000), CryptoStatus::ok);
  TokenCodec wrapping(mgr_);
  ASSERT_EQ(wrapping.init(kKey, 9, UINT64_MAX - 100), CryptoStatus::ok);
  const IpAddr a = v4(10, 0, 0, 1);  // same client, same time: only the nonce differs
  constexpr int kPerCodec = 30000;
  for (TokenCodec* c : {&codec_, &sibling, &wrapping}) {
    for (int i = 0; i < kPerCodec; ++i) {
      std::array<uint8_t, kMaxTokenLen> buf;
      const size_t n = i % 3 ? c->make_new_token(buf.data(), buf.size(), a, kNow)
                             : c->make_retry_token(buf.data(), buf.size(), a, 1, {}, {}, kNow);
      ASSERT_GT(n, 0u);
      std::array<uint8_t, kAeadIvLen> nonce;
      std::copy(buf.begin() + 1, buf.begin() + 1 + kAeadIvLen, nonce.begin());
      nonces.insert(nonce);
      tokens.emplace(reinterpret_cast<const char*>(buf.data()), n);
    }
  }
  EXPECT_EQ(nonces.size(), 3u * kPerCodec);
  EXPECT_EQ(tokens.size(), 3u * kPerCodec);
  EXPECT_EQ(codec_.minted(), uint64_t{kPerCodec});
}

TEST_F(TokenCodecTest, LayoutMatchesGnuTls) {
  const IpAddr a = v4(192, 0, 2, 1);
  const auto t = retry(a, 0x1234, {odcid_.data(), odcid_.size()}, {rscid_.data(), 16});
  // Header: type, issuer 7, counter 1000 (the first token of this codec).
  const std::vector<uint8_t> head = {kRetryTokenType, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0x03, 0xe8};
  EXPECT_EQ(std::vector<uint8_t>(t.begin(), t.begin() + kTokenHeaderLen), head);
  std::vector<uint8_t> plain;
  ASSERT_TRUE(gnutls_open(kKey, t, &plain));
  std::vector<uint8_t> want;
  put_be(want, kNow, 8);
  put_be(want, 0x1234, 2);
  want.insert(want.end(), {4, 192, 0, 2, 1, 8});
  want.insert(want.end(), odcid_.begin(), odcid_.end());
  want.push_back(16);
  want.insert(want.end(), rscid_.begin(), rscid_.end());
  EXPECT_EQ(plain, want);

  const auto nt = new_token(v6(0xab));
  ASSERT_TRUE(gnutls_open(kKey, nt, &plain));
  want.clear();
  put_be(want, kNow, 8);
  want.push_back(6);
  const IpAddr b = v6(0xab);
  want.insert(want.end(), b.bytes, b.bytes + 16);
  EXPECT_EQ(plain, want);
  EXPECT_EQ(nt[12], 0xe9);  // counter 1001

  // And a token GnuTLS seals is accepted by the codec.
  const auto forged = forge(kNewTokenTokenType, 5, want);
  EXPECT_EQ(check(forged, b, 1), TokenCheck::kValidNewToken);
}

TEST_F(TokenCodecTest, AuthenticButImpossibleFieldsAreMalformed) {
  const IpAddr a = v4(10, 0, 0, 9);
  auto retry_plain = [&](uint8_t family, size_t addr_len, uint8_t ol, size_t o_bytes, uint8_t rl,
                         size_t r_bytes) {
    std::vector<uint8_t> p;
    put_be(p, kNow, 8);
    put_be(p, kPort, 2);
    p.push_back(family);
    p.insert(p.end(), a.bytes, a.bytes + addr_len);
    p.push_back(ol);
    p.insert(p.end(), o_bytes, 0xaa);
    p.push_back(rl);
    p.insert(p.end(), r_bytes, 0xbb);
    return p;
  };
  // The well-formed one passes, so the rejections below are about the fields.
  EXPECT_EQ(check(forge(kRetryTokenType, 1, retry_plain(4, 4, 2, 2, 3, 3)), a, kPort),
            TokenCheck::kValidRetry);
  const std::vector<std::vector<uint8_t>> bad = {
      retry_plain(5, 4, 2, 2, 3, 3),     // unknown family
      retry_plain(0, 4, 2, 2, 3, 3),
      retry_plain(4, 4, 21, 21, 0, 0),   // ODCID over 20 bytes
      retry_plain(4, 4, 0, 0, 21, 21),   // SCID over 20 bytes
      retry_plain(4, 4, 5, 2, 3, 3),     // ODCID length runs into the rest
      retry_plain(4, 4, 2, 2, 3, 4),     // a byte left over
      retry_plain(4, 4, 2, 2, 200, 3),   // SCID length past the end
      retry_plain(6, 4, 0, 0, 0, 0),     // IPv6 claimed, too short for its address
      retry_plain(4, 4, 20, 20, 20, 20), // well formed: the base of the too-long case below
  };
  for (size_t i = 0; i + 1 < bad.size(); ++i) {
    const auto t = forge(kRetryTokenType, 2, bad[i]);
    if (t.size() < kMinRetryTokenLen) continue;  // already caught by length
    EXPECT_EQ(check(t, a, kPort), TokenCheck::kMalformed) << i;
  }
  // Plaintext over the maximum: rejected on length before any decryption.
  auto longer = bad.back();
  longer.insert(longer.end(), 20, 0);
  EXPECT_EQ(check(forge(kRetryTokenType, 3, longer), a, kPort), TokenCheck::kMalformed);

  std::vector<uint8_t> np;
  put_be(np, kNow, 8);
  np.push_back(7);  // NEW_TOKEN with an unknown family
  np.insert(np.end(), 16, 0);
  EXPECT_EQ(check(forge(kNewTokenTokenType, 4, np), a, kPort), TokenCheck::kMalformed);
}

// Multipath 3.1.3: one token for every address validated so far, each of them accepted.
TEST_F(TokenCodecTest, NewTokenForSeveralAddresses) {
  const IpAddr addrs[kMaxTokenAddresses] = {v4(198, 51, 100, 7), v6(2), v4(203, 0, 113, 9),
                                            v6(3)};
  std::array<uint8_t, kMaxTokenLen> buf;
  for (size_t k = 1; k <= kMaxTokenAddresses; ++k) {
    const size_t n =
        codec_.make_new_token(buf.data(), buf.size(), std::span<const IpAddr>(addrs, k), kNow);
    ASSERT_EQ(n, new_token_len(k));
    const std::vector<uint8_t> t(buf.begin(), buf.begin() + n);
    for (size_t i = 0; i < kMaxTokenAddresses; ++i) {
      EXPECT_EQ(check(t, addrs[i], static_cast<uint16_t>(1000 + i)),
                i < k ? TokenCheck::kValidNewToken : TokenCheck::kWrongAddress)
          << k << " addresses, address " << i;
    }
    // Same bytes, other family: an IPv4 address never matches the start of an IPv6 one.
    IpAddr lookalike = v4(0x20, 0x01, 0x0d, 0xb8);
    EXPECT_EQ(check(t, lookalike, kPort), TokenCheck::kWrongAddress);
    // Expiry and tampering apply to the whole token.
    EXPECT_EQ(check(t, addrs[0], kPort, kNow + kDefaultNewTokenLifetime + 1), TokenCheck::kExpired);
    std::vector<uint8_t> bad = t;
    bad[n - 20] ^= 1;
    EXPECT_EQ(check(bad, addrs[0], kPort), TokenCheck::kBadTag);
    // Layout, independently: issued, then family and 16 address bytes per address.
    std::vector<uint8_t> plain, want;
    ASSERT_TRUE(gnutls_open(kKey, t, &plain));
    put_be(want, kNow, 8);
    for (size_t i = 0; i < k; ++i) {
      want.push_back(addrs[i].family);
      want.insert(want.end(), addrs[i].bytes, addrs[i].bytes + addrs[i].size());
      want.insert(want.end(), 16 - addrs[i].size(), 0);
    }
    EXPECT_EQ(plain, want);
  }
  // Refused: none, one too many, a bad family among them, too little room.
  const IpAddr five[5] = {addrs[0], addrs[1], addrs[2], addrs[3], v4(10, 0, 0, 1)};
  EXPECT_EQ(codec_.make_new_token(buf.data(), buf.size(), std::span<const IpAddr>(), kNow), 0u);
  EXPECT_EQ(codec_.make_new_token(buf.data(), buf.size(), std::span<const IpAddr>(five, 5), kNow),
            0u);
  const IpAddr with_bad[2] = {addrs[0], IpAddr{}};
  EXPECT_EQ(codec_.make_new_token(buf.data(), buf.size(), std::span<const IpAddr>(with_bad, 2),
                                  kNow),
            0u);
  EXPECT_EQ(codec_.make_new_token(buf.data(), new_token_len(2) - 1,
                                  std::span<const IpAddr>(addrs, 2), kNow),
            0u);
  // Authentic but impossible: a length between whole addresses, a bad family in a later slot,
  // more addresses than any token holds.
  std::vector<uint8_t> np;
  put_be(np, kNow, 8);
  for (int i = 0; i < 2; ++i) {
    np.push_back(4);
    np.insert(np.end(), {198, 51, 100, 7});
    np.insert(np.end(), 12, 0);
  }
  EXPECT_EQ(check(forge(kNewTokenTokenType, 6, np), addrs[0], kPort), TokenCheck::kValidNewToken);
  auto ragged = np;
  ragged.push_back(4);
  EXPECT_EQ(check(forge(kNewTokenTokenType, 7, ragged), addrs[0], kPort), TokenCheck::kMalformed);
  auto bad_family = np;
  bad_family[8 + kTokenAddressLen] = 9;
  EXPECT_EQ(check(forge(kNewTokenTokenType, 8, bad_family), addrs[0], kPort),
            TokenCheck::kMalformed);
  auto too_many = np;
  for (size_t i = 2; i <= kMaxTokenAddresses; ++i) {
    too_many.insert(too_many.end(), np.begin() + 8, np.begin() + 8 + kTokenAddressLen);
  }
  EXPECT_EQ(check(forge(kNewTokenTokenType, 9, too_many), addrs[0], kPort),
            TokenCheck::kMalformed);
}

TEST_F(TokenCodecTest, MintingRefusesBadInput) {
  std::array<uint8_t, kMaxTokenLen> buf;
  buf.fill(0xee);
  const auto big = bytes_of(21, 1);
  const IpAddr a = v4(1, 1, 1, 1);
  EXPECT_EQ(codec_.make_retry_token(buf.data(), buf.size(), a, 1, {big.data(), 21}, {}, 0), 0u);
  EXPECT_EQ(codec_.make_retry_token(buf.data(), buf.size(), a, 1, {}, {big.data(), 21}, 0), 0u);
  EXPECT_EQ(codec_.make_retry_token(buf.data(), buf.size(), IpAddr{}, 1, {}, {}, 0), 0u);
  EXPECT_EQ(codec_.make_new_token(buf.data(), buf.size(), IpAddr{}, 0), 0u);
  // One byte short of room: nothing written.
  const size_t need = kTokenOverhead + 8 + 2 + 1 + 4 + 1 + 1;
  EXPECT_EQ(codec_.make_retry_token(buf.data(), need - 1, a, 1, {}, {}, 0), 0u);
  EXPECT_EQ(codec_.make_new_token(buf.data(), kNewTokenLen - 1, a, 0), 0u);
  EXPECT_EQ(codec_.make_new_token(nullptr, 100, a, 0), 0u);
  for (uint8_t b : buf) ASSERT_EQ(b, 0xee);
  EXPECT_EQ(codec_.minted(), 0u);  // failures spend no nonce
  EXPECT_EQ(codec_.make_retry_token(buf.data(), need, a, 1, {}, {}, 0), need);
}

TEST_F(TokenCodecTest, UninitialisedCodecDoesNothing) {
  TokenCodec c(mgr_);
  std::array<uint8_t, kMaxTokenLen> buf;
  const IpAddr a = v4(1, 1, 1, 1);
  EXPECT_EQ(c.make_new_token(buf.data(), buf.size(), a, 0), 0u);
  const auto t = new_token(a);
  ValidatedToken v;
  EXPECT_EQ(c.validate({t.data(), t.size()}, a, 1, kNow, &v), TokenCheck::kNotReady);
  EXPECT_EQ(v.kind, TokenKind::kNewToken);
  EXPECT_EQ(token_action(TokenCheck::kNotReady, TokenKind::kRetry),
            TokenAction::kProceedUnvalidated);
}

TEST(TokenActionTest, RetryFailuresCloseNewTokenFailuresAreIgnored) {
  EXPECT_EQ(token_action(TokenCheck::kValidRetry, TokenKind::kRetry), TokenAction::kValidated);
  EXPECT_EQ(token_action(TokenCheck::kValidNewToken, TokenKind::kNewToken),
            TokenAction::kValidated);
  for (TokenCheck c : {TokenCheck::kMalformed, TokenCheck::kBadTag, TokenCheck::kWrongAddress,
                       TokenCheck::kWrongPort, TokenCheck::kExpired, TokenCheck::kFromFuture}) {
    EXPECT_EQ(token_action(c, TokenKind::kRetry), TokenAction::kCloseInvalidToken) << to_string(c);
    EXPECT_EQ(token_action(c, TokenKind::kNewToken), TokenAction::kProceedUnvalidated);
    EXPECT_EQ(token_action(c, TokenKind::kUnknown), TokenAction::kProceedUnvalidated);
  }
  const uint8_t r[] = {kRetryTokenType}, n[] = {kNewTokenTokenType}, x[] = {0};
  EXPECT_EQ(peek_token_kind({r, 1}), TokenKind::kRetry);
  EXPECT_EQ(peek_token_kind({n, 1}), TokenKind::kNewToken);
  EXPECT_EQ(peek_token_kind({x, 1}), TokenKind::kUnknown);
  EXPECT_EQ(peek_token_kind({}), TokenKind::kUnknown);
}

}  // namespace
}  // namespace camp::quic
