// Long-lived TLS configuration shared by many QUIC connections: credentials, ALPN list, the
// session ticket key (server) or trust store (client). Built once at start-up; each TlsSession
// borrows it, so it must outlive them. Read-only after creation, so workers may share one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <gnutls/gnutls.h>

#include "dataplane/quic/wire/frame_parser.h"

namespace camp::quic {

// Cipher suites QUIC can protect packets with (RFC 9001 5.3): CCM is left out, as in suite.h.
// No TLS 1.3 middlebox compatibility mode: QUIC forbids it (RFC 9001 8.4).
inline constexpr const char* kQuicTlsPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "%DISABLE_TLS13_COMPAT_MODE";

struct TlsServerConfig {
  // PEM files; or, when cert_pem is set, the PEM text itself.
  std::string cert_file;
  std::string key_file;
  std::string cert_pem;
  std::string key_pem;
  std::vector<std::string> alpn;  // in server preference order, e.g. {"hq-interop", "h3"}
  bool session_tickets = true;    // issue NewSessionTicket for resumption
  // Accept 0-RTT on resumption: tickets then allow early data (RFC 9001 4.6.1), and ClientHellos
  // are checked against a replay cache over GnuTLS's anti-replay window (RFC 8446 8).
  bool early_data = false;
  size_t replay_cache_entries = 100000;  // over this, 0-RTT is refused rather than the cache grown
  std::string priority = kQuicTlsPriority;
};

struct TlsClientConfig {
  // Trust anchors: a PEM file, or PEM text. Ignored when insecure_skip_verify is set.
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_verify = false;  // testing only: accept any server certificate
  bool early_data = false;            // offer 0-RTT when resuming
  std::vector<std::string> alpn;      // offered in this order
  std::string priority = kQuicTlsPriority;
};

class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // nullptr on failure, with a reason in *error (GnuTLS's message for file and key problems).
  static std::unique_ptr<TlsContext> server(const TlsServerConfig& cfg, std::string* error);
  static std::unique_ptr<TlsContext> client(const TlsClientConfig& cfg, std::string* error);

  Role role() const { return role_; }
  gnutls_certificate_credentials_t credentials() const { return cred_; }
  const std::vector<std::string>& alpn() const { return alpn_; }
  const std::string& priority() const { return priority_; }
  bool verify_peer() const { return verify_peer_; }
  bool early_data() const { return early_data_; }
  // Server with early_data: the replay check every session shares.
  gnutls_anti_replay_t anti_replay() const { return anti_replay_; }
  // Server: the key tickets are encrypted with; empty when tickets are off.
  const gnutls_datum_t* ticket_key() const { return ticket_key_.size ? &ticket_key_ : nullptr; }

 private:
  TlsContext() = default;
  struct ReplayCache;
  static int replay_add(void* ptr, time_t expires, const gnutls_datum_t* key,
                        const gnutls_datum_t* data);

  Role role_ = Role::kUnknown;
  gnutls_certificate_credentials_t cred_ = nullptr;
  std::vector<std::string> alpn_;
  std::string priority_;
  bool verify_peer_ = false;
  gnutls_datum_t ticket_key_{nullptr, 0};
  bool early_data_ = false;
  gnutls_anti_replay_t anti_replay_ = nullptr;
  std::unique_ptr<ReplayCache> replay_cache_;
};

}  // namespace camp::quic
