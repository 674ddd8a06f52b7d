// Per-packet AEAD (RFC 9001 5.3) through intel-ipsec-mb's direct API: AES-128-GCM, AES-256-GCM
// and ChaCha20-Poly1305, the header as associated data. In place, or sealing plaintext read from
// elsewhere (a stream's send buffer) straight into the packet, which saves copying it first.
//
// init() expands the key once (AES round keys and the GHASH tables); seal() and open() then
// allocate nothing, take no lock and make no system call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <intel-ipsec-mb.h>

#include "dataplane/quic/crypto/imb_manager.h"
#include "dataplane/quic/crypto/key_schedule.h"
#include "dataplane/quic/crypto/suite.h"

namespace camp::quic {

inline constexpr uint64_t kMaxPacketNumber = (uint64_t{1} << 62) - 1;

// N = IV xor (path_id(32) || 0b00 || packet_number(62)), both in network byte order.
// path_id 0 gives exactly RFC 9001 5.3's nonce, so single-path callers pass 0; with the multipath
// extension (draft-ietf-quic-multipath-21 section 2.4 "Nonce Calculation") 1-RTT packets pass the
// packet's path ID. pn must be <= kMaxPacketNumber.
std::array<uint8_t, kAeadIvLen> make_nonce(std::span<const uint8_t, kAeadIvLen> iv,
                                           uint64_t packet_number, uint32_t path_id = 0);
// The same from an IV zero-padded to 16 bytes into out16[0..12) (out16[12..16) zero), both
// 16-byte aligned, with one 16-byte store: the AEAD loads the nonce right after, and a nonce
// stored in pieces cannot be forwarded to that load (about 20 cycles per packet, measured).
void write_nonce(const uint8_t* iv16, uint64_t packet_number, uint32_t path_id, uint8_t* out16);

class PacketAead {
 public:
  // key is key_len(s) bytes. Expands it with mgr (any manager will do; the result is plain data).
  CryptoStatus init(ImbManager& mgr, Suite s, std::span<const uint8_t> key,
                    std::span<const uint8_t, kAeadIvLen> iv);
  CryptoStatus init(ImbManager& mgr, const PacketKeys& k);

  Suite suite() const { return suite_; }
  bool ready() const { return ready_; }

  // Encrypts payload in place and writes the 16-byte tag. aad is the header up to and including
  // the unprotected packet number. With `from`, the plaintext is read there (payload.size() bytes,
  // either exactly payload or not overlapping it) and the ciphertext written to payload.
  CryptoStatus seal(ImbManager& mgr, uint64_t packet_number, std::span<const uint8_t> aad,
                    std::span<uint8_t> payload, std::span<uint8_t, kAeadTagLen> tag,
                    uint32_t path_id = 0, const uint8_t* from = nullptr) const;

  // Decrypts payload in place when tag verifies. On auth_failed the payload is restored to the
  // ciphertext it was, so the caller may try other keys or check for a Stateless Reset.
  CryptoStatus open(ImbManager& mgr, uint64_t packet_number, std::span<const uint8_t> aad,
                    std::span<uint8_t> payload, std::span<const uint8_t, kAeadTagLen> tag,
                    uint32_t path_id = 0) const;

  // The same with an explicit nonce, for the Retry Integrity Tag (RFC 9001 5.8).
  CryptoStatus seal_with_nonce(ImbManager& mgr, std::span<const uint8_t, kAeadIvLen> nonce,
                               std::span<const uint8_t> aad, std::span<uint8_t> payload,
                               std::span<uint8_t, kAeadTagLen> tag,
                               const uint8_t* from = nullptr) const;
  CryptoStatus open_with_nonce(ImbManager& mgr, std::span<const uint8_t, kAeadIvLen> nonce,
                               std::span<const uint8_t> aad, std::span<uint8_t> payload,
                               std::span<const uint8_t, kAeadTagLen> tag) const;

 private:
  // Keystream XOR of `in` into `out` (the same or not overlapping) and the tag; `decrypt` picks
  // which side the tag covers.
  void crypt(IMB_MGR* m, const uint8_t* nonce, std::span<const uint8_t> aad, const uint8_t* in,
             std::span<uint8_t> out, uint8_t* tag, bool decrypt) const;

  // AES suites: round keys and GHASH tables. The header only marks the struct 64-byte aligned
  // when LINUX is defined (ipsec-mb's own build does, we do not); its AVX code uses aligned
  // stores, so the alignment is spelled out here.
  alignas(64) gcm_key_data gcm_{};
  std::array<uint8_t, 32> chacha_key_{};
  alignas(16) std::array<uint8_t, 16> iv_{};  // kAeadIvLen bytes, zero-padded for write_nonce
  Suite suite_ = Suite::aes_128_gcm_sha256;
  bool ready_ = false;
};

}  // namespace camp::quic
