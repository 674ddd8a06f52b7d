// interop_certgen DIR: writes a throwaway CA (ca.pem) and a server certificate for localhost,
// 127.0.0.1 and campd's default addresses 198.18.0.1 and 2001:2::1 signed by it (server.pem, server.key) with the GnuTLS API, since certtool is absent.
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

namespace {

void check(int rc, const char* what) {
  if (rc < 0) {
    std::fprintf(stderr, "interop_certgen: %s: %s\n", what, gnutls_strerror(rc));
    std::exit(1);
  }
}

void write_file(const std::string& path, const gnutls_datum_t& d) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(d.data, 1, d.size, f) != d.size || std::fclose(f) != 0) {
    std::fprintf(stderr, "interop_certgen: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

gnutls_x509_privkey_t make_key() {
  gnutls_x509_privkey_t k;
  check(gnutls_x509_privkey_init(&k), "privkey_init");
  check(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        "privkey_generate");
  return k;
}

void common(gnutls_x509_crt_t c, gnutls_x509_privkey_t k, const char* cn, unsigned serial) {
  check(gnutls_x509_crt_set_version(c, 3), "set_version");
  unsigned char ser[4] = {0, 0, 0, static_cast<unsigned char>(serial)};
  check(gnutls_x509_crt_set_serial(c, ser, sizeof ser), "set_serial");
  time_t now = std::time(nullptr);
  check(gnutls_x509_crt_set_activation_time(c, now - 3600), "activation");
  check(gnutls_x509_crt_set_expiration_time(c, now + 86400), "expiration");
  check(gnutls_x509_crt_set_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                      static_cast<unsigned>(std::string(cn).size())),
        "set_dn");
  check(gnutls_x509_crt_set_key(c, k), "set_key");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: interop_certgen DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  check(gnutls_global_init(), "global_init");

  gnutls_x509_privkey_t ca_key = make_key();
  gnutls_x509_crt_t ca;
  check(gnutls_x509_crt_init(&ca), "crt_init");
  common(ca, ca_key, "camp interop test CA", 1);
  check(gnutls_x509_crt_set_basic_constraints(ca, 1, -1), "ca constraints");
  check(gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN),
        "ca usage");
  check(gnutls_x509_crt_sign2(ca, ca, ca_key, GNUTLS_DIG_SHA256, 0), "ca sign");

  gnutls_x509_privkey_t srv_key = make_key();
  gnutls_x509_crt_t srv;
  check(gnutls_x509_crt_init(&srv), "crt_init");
  common(srv, srv_key, "localhost", 2);
  check(gnutls_x509_crt_set_basic_constraints(srv, 0, -1), "srv constraints");
  check(gnutls_x509_crt_set_key_usage(srv, GNUTLS_KEY_DIGITAL_SIGNATURE), "srv usage");
  check(gnutls_x509_crt_set_key_purpose_oid(srv, GNUTLS_KP_TLS_WWW_SERVER, 0), "purpose");
  check(gnutls_x509_crt_set_subject_alt_name(srv, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                             GNUTLS_FSAN_APPEND),
        "san dns");
  // Loopback and campd's default addresses (the demo and the DPDK tests serve on those).
  for (const char* a : {"127.0.0.1", "198.18.0.1"}) {
    unsigned char ip[4];
    inet_pton(AF_INET, a, ip);
    check(gnutls_x509_crt_set_subject_alt_name(srv, GNUTLS_SAN_IPADDRESS, ip, 4,
                                               GNUTLS_FSAN_APPEND),
          "san ip");
  }
  unsigned char ip6[16];
  inet_pton(AF_INET6, "2001:2::1", ip6);
  check(gnutls_x509_crt_set_subject_alt_name(srv, GNUTLS_SAN_IPADDRESS, ip6, 16,
                                             GNUTLS_FSAN_APPEND),
        "san ip6");
  check(gnutls_x509_crt_sign2(srv, ca, ca_key, GNUTLS_DIG_SHA256, 0), "srv sign");

  gnutls_datum_t d;
  check(gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &d), "export ca");
  write_file(dir + "/ca.pem", d);
  gnutls_free(d.data);
  check(gnutls_x509_crt_export2(srv, GNUTLS_X509_FMT_PEM, &d), "export srv");
  write_file(dir + "/server.pem", d);
  gnutls_free(d.data);
  check(gnutls_x509_privkey_export2_pkcs8(srv_key, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN,
                                          &d),
        "export key");
  write_file(dir + "/server.key", d);
  gnutls_free(d.data);

  gnutls_x509_crt_deinit(srv);
  gnutls_x509_crt_deinit(ca);
  gnutls_x509_privkey_deinit(srv_key);
  gnutls_x509_privkey_deinit(ca_key);
  gnutls_global_deinit();
  return 0;
}
