#include "dataplane/quic/token/token_codec.h"

#include <cstring>

namespace camp::quic {
namespace {

void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}
void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

bool family_ok(const IpAddr& a) { return a.family == 4 || a.family == 6; }

// Lifetime check shared by both kinds: valid while 0 <= now - issued <= lifetime.
TokenCheck check_age(TimeNs issued, TimeNs now, DurationNs lifetime, TokenCheck valid) {
  if (issued > now) return TokenCheck::kFromFuture;
  if (now - issued > lifetime) return TokenCheck::kExpired;
  return valid;
}

}  // namespace

const char* to_string(TokenCheck c) {
  switch (c) {
    case TokenCheck::kValidRetry: return "valid_retry";
    case TokenCheck::kValidNewToken: return "valid_new_token";
    case TokenCheck::kMalformed: return "malformed";
    case TokenCheck::kBadTag: return "bad_tag";
    case TokenCheck::kWrongAddress: return "wrong_address";
    case TokenCheck::kWrongPort: return "wrong_port";
    case TokenCheck::kExpired: return "expired";
    case TokenCheck::kFromFuture: return "from_future";
    case TokenCheck::kNotReady: return "not_ready";
  }
  return "unknown";
}

TokenAction token_action(TokenCheck c, TokenKind kind) {
  if (is_valid(c)) return TokenAction::kValidated;
  // kNotReady is our own failure, not the client's: never punish the client for it.
  if (kind == TokenKind::kRetry && c != TokenCheck::kNotReady) {
    return TokenAction::kCloseInvalidToken;
  }
  return TokenAction::kProceedUnvalidated;
}

TokenKind peek_token_kind(ByteView token) {
  if (token.empty()) return TokenKind::kUnknown;
  if (token[0] == kRetryTokenType) return TokenKind::kRetry;
  if (token[0] == kNewTokenTokenType) return TokenKind::kNewToken;
  return TokenKind::kUnknown;
}

CryptoStatus TokenCodec::init(std::span<const uint8_t, kTokenKeyLen> key, uint32_t issuer_id,
                              uint64_t first_counter, TokenLifetimes lifetimes) {
  // The per-packet IV is unused: every call passes its own nonce.
  const std::array<uint8_t, kAeadIvLen> unused_iv{};
  const CryptoStatus s = aead_.init(mgr_, Suite::aes_128_gcm_sha256, key, unused_iv);
  if (s != CryptoStatus::ok) return s;
  issuer_id_ = issuer_id;
  next_counter_ = first_counter;
  minted_ = 0;
  lifetimes_ = lifetimes;
  return CryptoStatus::ok;
}

bool TokenCodec::next_header(uint8_t type, uint8_t* out) {
  // After 2^64 - 1 tokens the counter would come back to a used value: stop minting instead.
  if (minted_ == UINT64_MAX) return false;
  out[0] = type;
  out[1] = static_cast<uint8_t>(issuer_id_ >> 24);
  out[2] = static_cast<uint8_t>(issuer_id_ >> 16);
  out[3] = static_cast<uint8_t>(issuer_id_ >> 8);
  out[4] = static_cast<uint8_t>(issuer_id_);
  put_u64(out + 5, next_counter_);
  ++next_counter_;  // wraps modulo 2^64, distinct for 2^64 tokens whatever the start
  ++minted_;
  return true;
}

size_t TokenCodec::seal(uint8_t* token, size_t plain_len) {
  std::span<const uint8_t, kAeadIvLen> nonce(token + 1, kAeadIvLen);
  std::span<uint8_t> payload(token + kTokenHeaderLen, plain_len);
  std::span<uint8_t, kAeadTagLen> tag(token + kTokenHeaderLen + plain_len, kAeadTagLen);
  const std::span<const uint8_t> aad(token, kTokenHeaderLen);
  if (aead_.seal_with_nonce(mgr_, nonce, aad, payload, tag) != CryptoStatus::ok) return 0;
  return kTokenOverhead + plain_len;
}

size_t TokenCodec::make_retry_token(uint8_t* out, size_t cap, const IpAddr& addr, uint16_t port,
                                    ByteView odcid, ByteView retry_scid, TimeNs now) {
  if (!ready() || !family_ok(addr) || odcid.size > kMaxCidLength ||
      retry_scid.size > kMaxCidLength) {
    return 0;
  }
  const size_t plain_len = 8 + 2 + 1 + addr.size() + 1 + odcid.size + 1 + retry_scid.size;
  if (out == nullptr || cap < kTokenOverhead + plain_len) return 0;
  // Build in a local buffer so a failure leaves out untouched and the nonce is not spent on it.
  std::array<uint8_t, kMaxRetryTokenLen> t;
  uint8_t* p = t.data() + kTokenHeaderLen;
  put_u64(p, now);
  p += 8;
  put_u16(p, port);
  p += 2;
  *p++ = addr.family;
  std::memcpy(p, addr.bytes, addr.size());
  p += addr.size();
  *p++ = static_cast<uint8_t>(odcid.size);
  if (odcid.size) std::memcpy(p, odcid.data, odcid.size);
  p += odcid.size;
  *p++ = static_cast<uint8_t>(retry_scid.size);
  if (retry_scid.size) std::memcpy(p, retry_scid.data, retry_scid.size);
  if (!next_header(kRetryTokenType, t.data())) return 0;
  const size_t n = seal(t.data(), plain_len);
  if (n) std::memcpy(out, t.data(), n);
  return n;
}

size_t TokenCodec::make_new_token(uint8_t* out, size_t cap, const IpAddr& addr, TimeNs now) {
  return make_new_token(out, cap, std::span<const IpAddr>(&addr, 1), now);
}

size_t TokenCodec::make_new_token(uint8_t* out, size_t cap, std::span<const IpAddr> addrs,
                                  TimeNs now) {
  if (!ready() || addrs.empty() || addrs.size() > kMaxTokenAddresses || out == nullptr ||
      cap < new_token_len(addrs.size())) {
    return 0;
  }
  for (const IpAddr& a : addrs) {
    if (!family_ok(a)) return 0;
  }
  std::array<uint8_t, kMaxNewTokenLen> t{};  // zero padding after an IPv4 address
  uint8_t* p = t.data() + kTokenHeaderLen;
  put_u64(p, now);
  p += 8;
  for (const IpAddr& a : addrs) {
    p[0] = a.family;
    std::memcpy(p + 1, a.bytes, a.size());
    p += kTokenAddressLen;
  }
  if (!next_header(kNewTokenTokenType, t.data())) return 0;
  const size_t n = seal(t.data(), 8 + addrs.size() * kTokenAddressLen);
  if (n) std::memcpy(out, t.data(), n);
  return n;
}

TokenCheck TokenCodec::validate(ByteView token, const IpAddr& addr, uint16_t port, TimeNs now,
                                ValidatedToken* out) const {
  const TokenKind kind = peek_token_kind(token);
  if (out) *out = ValidatedToken{.kind = kind};
  if (!ready()) return TokenCheck::kNotReady;
  // Lengths first: nothing below reads past token.size, and the AEAD runs on at most
  // kMaxTokenLen - kTokenOverhead bytes.
  if (kind == TokenKind::kRetry) {
    if (token.size < kMinRetryTokenLen || token.size > kMaxRetryTokenLen) {
      return TokenCheck::kMalformed;
    }
  } else if (kind == TokenKind::kNewToken) {
    if (token.size < kNewTokenLen || token.size > kMaxNewTokenLen ||
        (token.size - new_token_len(0)) % kTokenAddressLen != 0) {
      return TokenCheck::kMalformed;
    }
  } else {
    return TokenCheck::kMalformed;
  }

  const size_t plain_len = token.size - kTokenOverhead;
  std::array<uint8_t, kMaxTokenLen - kTokenOverhead> plain;  // the token is const: decrypt a copy
  std::memcpy(plain.data(), token.data + kTokenHeaderLen, plain_len);
  std::span<const uint8_t, kAeadIvLen> nonce(token.data + 1, kAeadIvLen);
  std::span<const uint8_t, kAeadTagLen> tag(token.data + kTokenHeaderLen + plain_len,
                                            kAeadTagLen);
  const CryptoStatus s = aead_.open_with_nonce(mgr_, nonce, {token.data, kTokenHeaderLen},
                                               {plain.data(), plain_len}, tag);
  if (s == CryptoStatus::auth_failed) return TokenCheck::kBadTag;
  if (s != CryptoStatus::ok) return TokenCheck::kNotReady;

  // Authentic from here on: the checks below only catch our own format changes or bugs.
  const uint8_t* p = plain.data();
  const TimeNs issued = get_u64(p);
  if (out) out->issued = issued;

  if (kind == TokenKind::kNewToken) {
    bool match = false;
    for (const uint8_t* a = p + 8; a < p + plain_len; a += kTokenAddressLen) {
      const uint8_t family = a[0];
      if (family != 4 && family != 6) return TokenCheck::kMalformed;
      // Port deliberately ignored: a later connection almost never reuses it (8.1.3).
      match |= family == addr.family && std::memcmp(a + 1, addr.bytes, addr.size()) == 0;
    }
    if (!match) return TokenCheck::kWrongAddress;
    return check_age(issued, now, lifetimes_.new_token, TokenCheck::kValidNewToken);
  }

  // Retry: walk the variable part with explicit bounds against plain_len.
  const uint8_t* const end = p + plain_len;
  const uint16_t token_port = get_u16(p + 8);
  const uint8_t family = p[10];
  p += 11;
  const size_t addr_len = family == 4 ? 4 : family == 6 ? 16 : 0;
  if (addr_len == 0 || static_cast<size_t>(end - p) < addr_len + 1) return TokenCheck::kMalformed;
  const uint8_t* token_addr = p;
  p += addr_len;
  const size_t odcid_len = *p++;
  if (odcid_len > kMaxCidLength || static_cast<size_t>(end - p) < odcid_len + 1) {
    return TokenCheck::kMalformed;
  }
  const uint8_t* odcid = p;
  p += odcid_len;
  const size_t rscid_len = *p++;
  if (rscid_len > kMaxCidLength || static_cast<size_t>(end - p) != rscid_len) {
    return TokenCheck::kMalformed;
  }
  const uint8_t* rscid = p;

  if (family != addr.family || std::memcmp(token_addr, addr.bytes, addr_len) != 0) {
    return TokenCheck::kWrongAddress;
  }
  if (token_port != port) return TokenCheck::kWrongPort;
  const TokenCheck c = check_age(issued, now, lifetimes_.retry, TokenCheck::kValidRetry);
  if (c == TokenCheck::kValidRetry && out) {
    out->odcid = ConnectionId(ByteView(odcid, odcid_len));
    out->retry_scid = ConnectionId(ByteView(rscid, rscid_len));
  }
  return c;
}

}  // namespace camp::quic
