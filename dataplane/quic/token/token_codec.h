// Server-side address validation tokens (RFC 9000 8.1): Retry tokens (17.2.5) and NEW_TOKEN
// tokens (19.7), sealed with AES-128-GCM under a server-only key (8.1.4).
//
// Token layout (the header is the AEAD's associated data):
//   type (1) | nonce (12) = issuer_id (4, BE) || counter (8, BE) | ciphertext | tag (16)
// Retry plaintext:     issued (8) | port (2) | family (1) | address (4 or 16) |
//                      odcid_len (1) | odcid (0..20) | rscid_len (1) | rscid (0..20)
// NEW_TOKEN plaintext: issued (8) | 1 to kMaxTokenAddresses x (family (1) | address (16, IPv4
//                      zero-padded)); the count follows from the length
// The type byte is in the clear but authenticated: 8.1.1 lets anyone see which kind a token is,
// and the server must know the kind even when the token fails to validate (see TokenAction).
// A NEW_TOKEN token validates any of its addresses: under multipath the server issues one after
// each newly validated client address that covers the earlier ones too, so whichever token a
// client keeps works from any of them (draft-ietf-quic-multipath-21 3.1.3). Its length tells how
// many addresses it holds, never their families, so an observer cannot tell the issuing
// connection's address family; a Retry token is returned at once from the same address, so its
// length (which follows the family and the CID lengths, all visible in the packets) hides nothing.
//
// Nonces never repeat under one key: each codec sharing a key gets its own issuer_id (the worker
// number) and counts up from first_counter, refusing to mint once the counter would wrap.
// The counter is also what makes every NEW_TOKEN token unique across clients (8.1.3).
//
// No allocation, no lock, no system call; validate() reads only the token's bytes and does
// work bounded by kMaxTokenLen.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/endpoint.h"
#include "dataplane/quic/crypto/aead.h"
#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/suite.h"
#include "dataplane/quic/recovery/types.h"
#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

inline constexpr size_t kTokenKeyLen = 16;  // AES-128-GCM
inline constexpr uint8_t kRetryTokenType = 0x52;     // 'R'
inline constexpr uint8_t kNewTokenTokenType = 0x4e;  // 'N'

inline constexpr size_t kTokenHeaderLen = 1 + kAeadIvLen;
inline constexpr size_t kTokenOverhead = kTokenHeaderLen + kAeadTagLen;  // 29
inline constexpr size_t kMaxTokenAddresses = 4;
inline constexpr size_t kTokenAddressLen = 1 + 16;  // family, address
inline constexpr size_t new_token_len(size_t addresses) {
  return kTokenOverhead + 8 + addresses * kTokenAddressLen;
}
inline constexpr size_t kNewTokenLen = new_token_len(1);  // 54: one address
inline constexpr size_t kMaxNewTokenLen = new_token_len(kMaxTokenAddresses);  // 105
inline constexpr size_t kMinRetryPlainLen = 8 + 2 + 1 + 4 + 1 + 1;
inline constexpr size_t kMaxRetryPlainLen = 8 + 2 + 1 + 16 + 1 + kMaxCidLength + 1 + kMaxCidLength;
inline constexpr size_t kMinRetryTokenLen = kTokenOverhead + kMinRetryPlainLen;  // 46
inline constexpr size_t kMaxRetryTokenLen = kTokenOverhead + kMaxRetryPlainLen;  // 98
inline constexpr size_t kMaxTokenLen =
    kMaxRetryTokenLen > kMaxNewTokenLen ? kMaxRetryTokenLen : kMaxNewTokenLen;

inline constexpr DurationNs kDefaultRetryTokenLifetime = 10 * kSecond;
inline constexpr DurationNs kDefaultNewTokenLifetime = 24 * 3600 * kSecond;

enum class TokenKind : uint8_t {
  kUnknown,   // not one of ours (another server's, an old format, noise)
  kRetry,     // minted for a Retry packet (17.2.5)
  kNewToken,  // minted for a NEW_TOKEN frame (19.7)
};

enum class TokenCheck : uint8_t {
  kValidRetry,     // address and port match, within the Retry lifetime
  kValidNewToken,  // an IP address it holds matches (port not checked: 8.1.3), within the
                   // NEW_TOKEN lifetime
  kMalformed,      // wrong length, unknown type byte, or an impossible field after decryption
  kBadTag,         // AEAD tag did not verify: forged, corrupted, truncated or another key's
  kWrongAddress,   // authentic, but minted for other IP addresses (or families)
  kWrongPort,      // authentic Retry token minted for another UDP port
  kExpired,        // authentic, older than its kind's lifetime
  kFromFuture,     // authentic, issued after `now`: another clock (see README), never accepted
  kNotReady,       // init() has not succeeded, or the AEAD backend failed
};

const char* to_string(TokenCheck c);
inline bool is_valid(TokenCheck c) {
  return c == TokenCheck::kValidRetry || c == TokenCheck::kValidNewToken;
}

// What the connection does with the Token field of a client Initial (RFC 9000 8.1.2, 8.1.3).
enum class TokenAction : uint8_t {
  kValidated,          // the client address counts as validated; a Retry token also supplies
                       // original_destination_connection_id / retry_source_connection_id
  kProceedUnvalidated, // ignore the token: stay under the 3x amplification limit, may send Retry
  kCloseInvalidToken,  // close at once with INVALID_TOKEN (0x0b), no closing period
};

// An invalid Retry token means the client has already done its one Retry and will not accept
// another, so waiting would only make it time out: 8.1.2 says close with INVALID_TOKEN. An invalid
// NEW_TOKEN token (or one that is not ours) may simply come from a server run that lost its key;
// 8.1.3 says proceed as if there were no token. The kind comes from the type byte even when the
// tag fails; a forger flipping it to Retry only gets its own injected Initial closed.
TokenAction token_action(TokenCheck c, TokenKind kind);

struct TokenLifetimes {
  DurationNs retry = kDefaultRetryTokenLifetime;
  DurationNs new_token = kDefaultNewTokenLifetime;
};

struct ValidatedToken {
  TokenKind kind = TokenKind::kUnknown;  // set from the type byte whatever the result
  TimeNs issued = 0;                     // set once the tag verifies
  ConnectionId odcid;       // Retry only: the client's first Destination Connection ID
  ConnectionId retry_scid;  // Retry only: the Source Connection ID of our Retry packet
};

// The kind a token claims, from its unauthenticated type byte.
TokenKind peek_token_kind(ByteView token);

class TokenCodec {
 public:
  // mgr is the calling worker's manager; it must outlive the codec.
  explicit TokenCodec(ImbManager& mgr) : mgr_(mgr) {}

  // key: 16 bytes every codec that must accept these tokens shares (random at server start).
  // issuer_id: distinct for every codec sharing the key (the worker number), so nonces never
  // collide. first_counter: where this codec's nonce counter starts (random is fine).
  CryptoStatus init(std::span<const uint8_t, kTokenKeyLen> key, uint32_t issuer_id,
                    uint64_t first_counter, TokenLifetimes lifetimes = {});

  bool ready() const { return aead_.ready(); }
  const TokenLifetimes& lifetimes() const { return lifetimes_; }
  uint64_t minted() const { return minted_; }

  // Each writes a token into out[0..cap) and returns its length, or 0 when: not ready, cap too
  // small, addr family not 4/6, a CID over 20 bytes, or the nonce counter is spent.
  size_t make_retry_token(uint8_t* out, size_t cap, const IpAddr& addr, uint16_t port,
                          ByteView odcid, ByteView retry_scid, TimeNs now);
  size_t make_new_token(uint8_t* out, size_t cap, const IpAddr& addr, TimeNs now);
  // A NEW_TOKEN token for every address in addrs (1 to kMaxTokenAddresses, each family 4 or 6).
  size_t make_new_token(uint8_t* out, size_t cap, std::span<const IpAddr> addrs, TimeNs now);

  // Checks a token from a client Initial sent from addr:port at `now`. out (optional) always gets
  // the claimed kind; on kValidRetry also the two connection IDs.
  TokenCheck validate(ByteView token, const IpAddr& addr, uint16_t port, TimeNs now,
                      ValidatedToken* out) const;

 private:
  // Writes type and a fresh nonce at out; false when the counter is spent.
  bool next_header(uint8_t type, uint8_t* out);
  size_t seal(uint8_t* token, size_t plain_len);

  ImbManager& mgr_;
  PacketAead aead_;
  TokenLifetimes lifetimes_;
  uint32_t issuer_id_ = 0;
  uint64_t next_counter_ = 0;
  uint64_t minted_ = 0;
};

}  // namespace camp::quic
