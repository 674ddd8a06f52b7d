#include "tests/quic_tls/test_pki.h"

#include <ctime>
#include <stdexcept>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

namespace camp::quic::test {

namespace {

void check(int rv, const char* what) {
  if (rv < 0) throw std::runtime_error(std::string(what) + ": " + gnutls_strerror(rv));
}

std::string take(gnutls_datum_t d) {
  std::string s(reinterpret_cast<const char*>(d.data), d.size);
  gnutls_free(d.data);
  return s;
}

gnutls_datum_t datum(const std::string& s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          static_cast<unsigned>(s.size())};
}

// ECDSA P-256: generated in milliseconds, unlike RSA.
gnutls_x509_privkey_t new_key() {
  gnutls_x509_privkey_t key;
  check(gnutls_x509_privkey_init(&key), "privkey_init");
  check(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        "privkey_generate");
  return key;
}

gnutls_x509_crt_t new_crt(gnutls_x509_privkey_t key, const std::string& cn, long valid_s) {
  static unsigned serial_counter = 1;
  gnutls_x509_crt_t crt;
  check(gnutls_x509_crt_init(&crt), "crt_init");
  check(gnutls_x509_crt_set_version(crt, 3), "set_version");
  unsigned char serial[4] = {0x01, 0x02, 0x03, static_cast<unsigned char>(serial_counter++)};
  check(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)), "set_serial");
  time_t now = time(nullptr);
  check(gnutls_x509_crt_set_activation_time(crt, now - 7200), "activation");
  check(gnutls_x509_crt_set_expiration_time(crt, now - 3600 + valid_s), "expiration");
  check(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn.data(), cn.size()),
        "set_dn");
  check(gnutls_x509_crt_set_key(crt, key), "set_key");
  return crt;
}

KeyPair export_pair(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key) {
  gnutls_datum_t c{}, k{};
  check(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c), "crt_export");
  check(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k), "key_export");
  return {take(c), take(k)};
}

}  // namespace

KeyPair make_ca(const std::string& cn) {
  gnutls_x509_privkey_t key = new_key();
  gnutls_x509_crt_t crt = new_crt(key, cn, 10 * 86400);
  check(gnutls_x509_crt_set_basic_constraints(crt, 1, -1), "basic_constraints");
  check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
        "key_usage");
  check(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "self-sign");
  KeyPair out = export_pair(crt, key);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  return out;
}

KeyPair make_server_cert(const KeyPair& ca, const std::string& dns_name, long valid_s) {
  gnutls_x509_crt_t ca_crt;
  gnutls_x509_privkey_t ca_key;
  check(gnutls_x509_crt_init(&ca_crt), "crt_init");
  check(gnutls_x509_privkey_init(&ca_key), "privkey_init");
  gnutls_datum_t c = datum(ca.cert_pem), k = datum(ca.key_pem);
  check(gnutls_x509_crt_import(ca_crt, &c, GNUTLS_X509_FMT_PEM), "import CA");
  check(gnutls_x509_privkey_import(ca_key, &k, GNUTLS_X509_FMT_PEM), "import CA key");

  gnutls_x509_privkey_t key = new_key();
  gnutls_x509_crt_t crt = new_crt(key, dns_name, valid_s);
  check(gnutls_x509_crt_set_basic_constraints(crt, 0, -1), "basic_constraints");
  check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "key_usage");
  check(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "key_purpose");
  check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, dns_name.data(),
                                             dns_name.size(), GNUTLS_FSAN_SET),
        "subject_alt_name");
  check(gnutls_x509_crt_sign2(crt, ca_crt, ca_key, GNUTLS_DIG_SHA256, 0), "sign");
  KeyPair out = export_pair(crt, key);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  gnutls_x509_crt_deinit(ca_crt);
  gnutls_x509_privkey_deinit(ca_key);
  return out;
}

TlsPair make_tls_pair(const std::string& alpn, const std::string& dns_name, bool verify) {
  const KeyPair ca = make_ca("camp test CA");
  const KeyPair leaf = make_server_cert(ca, dns_name);
  TlsPair out;
  TlsServerConfig sc;
  sc.cert_pem = leaf.cert_pem;
  sc.key_pem = leaf.key_pem;
  sc.alpn = {alpn};
  out.server = TlsContext::server(sc, &out.error);
  TlsClientConfig cc;
  if (verify) {
    cc.ca_pem = ca.cert_pem;
  } else {
    cc.insecure_skip_verify = true;
  }
  cc.alpn = {alpn};
  if (out.server) out.client = TlsContext::client(cc, &out.error);
  return out;
}

}  // namespace camp::quic::test
