// A throwaway PKI made at test time with GnuTLS's X.509 API: a CA and leaf certificates it signs.
#pragma once

#include <string>

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

}  // namespace camp::quic::test
