// HKDF through GnuTLS (gnutls_hkdf_extract/expand, GnuTLS >= 3.6.13).
#include "dataplane/quic/crypto/key_schedule.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <cstring>

namespace camp::quic {
namespace {

gnutls_mac_algorithm_t mac_of(HashAlg h) {
  return h == HashAlg::sha384 ? GNUTLS_MAC_SHA384 : GNUTLS_MAC_SHA256;
}

// GnuTLS's datum takes a non-const pointer but only reads through it here.
gnutls_datum_t datum(std::span<const uint8_t> s) {
  return {const_cast<unsigned char*>(s.data()), static_cast<unsigned>(s.size())};
}

constexpr std::string_view kTls13Prefix = "tls13 ";

}  // namespace

const char* to_string(CryptoStatus s) {
  switch (s) {
    case CryptoStatus::ok: return "ok";
    case CryptoStatus::bad_length: return "bad_length";
    case CryptoStatus::kdf_failed: return "kdf_failed";
    case CryptoStatus::auth_failed: return "auth_failed";
    case CryptoStatus::packet_too_short: return "packet_too_short";
    case CryptoStatus::bad_header: return "bad_header";
    case CryptoStatus::backend_failed: return "backend_failed";
  }
  return "unknown";
}

CryptoStatus hkdf_extract(HashAlg h, std::span<const uint8_t> salt, std::span<const uint8_t> ikm,
                          std::span<uint8_t> prk) {
  if (prk.size() != hash_len(h)) return CryptoStatus::bad_length;
  // An empty IKM (zero-length DCID after a Retry) is legal; give GnuTLS a valid pointer anyway.
  static const uint8_t kEmpty[1] = {0};
  gnutls_datum_t key = datum(ikm.empty() ? std::span<const uint8_t>(kEmpty, 0) : ikm);
  gnutls_datum_t salt_d = datum(salt);
  if (gnutls_hkdf_extract(mac_of(h), &key, &salt_d, prk.data()) != 0) {
    return CryptoStatus::kdf_failed;
  }
  return CryptoStatus::ok;
}

CryptoStatus hkdf_expand_label(HashAlg h, std::span<const uint8_t> secret, std::string_view label,
                               std::span<uint8_t> out) {
  const size_t full_label = kTls13Prefix.size() + label.size();
  if (full_label > 255 || out.empty() || out.size() > 255 * hash_len(h) || out.size() > 65535) {
    return CryptoStatus::bad_length;
  }
  if (secret.size() < hash_len(h)) return CryptoStatus::bad_length;
  // struct HkdfLabel { uint16 length; opaque label<7..255>; opaque context<0..255>; }
  std::array<uint8_t, 2 + 1 + 255 + 1> info;
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out.size() >> 8);
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(full_label);
  std::memcpy(&info[n], kTls13Prefix.data(), kTls13Prefix.size());
  n += kTls13Prefix.size();
  std::memcpy(&info[n], label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // empty context
  gnutls_datum_t key = datum(secret);
  gnutls_datum_t info_d = datum({info.data(), n});
  if (gnutls_hkdf_expand(mac_of(h), &key, &info_d, out.data(), out.size()) != 0) {
    return CryptoStatus::kdf_failed;
  }
  return CryptoStatus::ok;
}

CryptoStatus derive_initial_secrets(std::span<const uint8_t> dcid, InitialSecrets& out) {
  if (dcid.size() > kMaxConnectionIdLen) return CryptoStatus::bad_length;
  std::array<uint8_t, 32> initial_secret;
  CryptoStatus st = hkdf_extract(HashAlg::sha256, kInitialSaltV1, dcid, initial_secret);
  if (st != CryptoStatus::ok) return st;
  out.client = {};
  out.server = {};
  out.client.size = out.server.size = 32;
  st = hkdf_expand_label(HashAlg::sha256, initial_secret, "client in",
                         {out.client.bytes.data(), 32});
  if (st != CryptoStatus::ok) return st;
  return hkdf_expand_label(HashAlg::sha256, initial_secret, "server in",
                           {out.server.bytes.data(), 32});
}

CryptoStatus derive_packet_keys(Suite s, const Secret& secret, PacketKeys& out) {
  const HashAlg h = hash_of(s);
  if (secret.size != hash_len(h)) return CryptoStatus::bad_length;
  out = {};
  out.suite = s;
  CryptoStatus st = hkdf_expand_label(h, secret.view(), "quic key", {out.key.data(), key_len(s)});
  if (st != CryptoStatus::ok) return st;
  st = hkdf_expand_label(h, secret.view(), "quic iv", out.iv);
  if (st != CryptoStatus::ok) return st;
  return hkdf_expand_label(h, secret.view(), "quic hp", {out.hp.data(), key_len(s)});
}

CryptoStatus derive_initial_keys(std::span<const uint8_t> dcid, PacketKeys& client,
                                 PacketKeys& server) {
  InitialSecrets secrets;
  CryptoStatus st = derive_initial_secrets(dcid, secrets);
  if (st != CryptoStatus::ok) return st;
  st = derive_packet_keys(Suite::aes_128_gcm_sha256, secrets.client, client);
  if (st != CryptoStatus::ok) return st;
  return derive_packet_keys(Suite::aes_128_gcm_sha256, secrets.server, server);
}

CryptoStatus next_secret(Suite s, const Secret& current, Secret& next) {
  const HashAlg h = hash_of(s);
  if (current.size != hash_len(h)) return CryptoStatus::bad_length;
  Secret result;
  result.size = static_cast<uint8_t>(hash_len(h));
  CryptoStatus st = hkdf_expand_label(h, current.view(), "quic ku",
                                      {result.bytes.data(), result.size});
  if (st != CryptoStatus::ok) return st;
  next = result;  // only on success, and safe when &next == &current
  return CryptoStatus::ok;
}

CryptoStatus update_packet_keys(const PacketKeys& current, const Secret& current_secret,
                                Secret& next_secret_out, PacketKeys& next) {
  Secret secret;
  CryptoStatus st = next_secret(current.suite, current_secret, secret);
  if (st != CryptoStatus::ok) return st;
  PacketKeys keys;
  st = derive_packet_keys(current.suite, secret, keys);
  if (st != CryptoStatus::ok) return st;
  keys.hp = current.hp;  // RFC 9001 6.1: the header protection key is not updated
  next_secret_out = secret;
  next = keys;
  return CryptoStatus::ok;
}

}  // namespace camp::quic
