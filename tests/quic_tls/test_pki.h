// A throwaway PKI made at test time with GnuTLS's X.509 API: a CA and leaf certificates it signs.
#pragma once

#include <memory>
#include <string>

#include "dataplane/quic/tls/tls_context.h"

namespace camp::quic::test {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA named `cn`.
KeyPair make_ca(const std::string& cn);

// A server certificate for `dns_name` signed by `ca`, valid from now-1h for `valid_s` seconds
// (negative: already expired).
KeyPair make_server_cert(const KeyPair& ca, const std::string& dns_name, long valid_s = 86400);

// A server context with a leaf for `dns_name` signed by a fresh CA, and a client context that
// trusts that CA (or, with verify false, checks nothing), both offering ALPN `alpn`. `error`
// says why a context is missing.
struct TlsPair {
  std::unique_ptr<TlsContext> server, client;
  std::string error;
};
TlsPair make_tls_pair(const std::string& alpn, const std::string& dns_name = "server.test",
                      bool verify = true);

}  // namespace camp::quic::test
