// A bare GnuTLS QUIC client, without TlsSession's checks, to send ClientHellos TlsSession would
// never produce: no transport parameters extension, or a malformed one.
#include <optional>
#include <vector>

#include "tests/quic_tls/harness.h"

namespace camp::quic::test {
namespace {

struct RawClient {
  gnutls_session_t session = nullptr;
  gnutls_certificate_credentials_t cred = nullptr;
  std::vector<uint8_t> initial;          // ClientHello bytes
  std::optional<std::vector<uint8_t>> tp;  // extension 0x39 body, if sent

  static RawClient* self(gnutls_session_t s) {
    return static_cast<RawClient*>(gnutls_session_get_ptr(s));
  }
  static int on_secret(gnutls_session_t, gnutls_record_encryption_level_t, const void*,
                       const void*, size_t) {
    return 0;
  }
  static int on_out(gnutls_session_t s, gnutls_record_encryption_level_t level,
                    gnutls_handshake_description_t, const void* data, size_t size) {
    if (level == GNUTLS_ENCRYPTION_LEVEL_INITIAL) {
      auto* p = static_cast<const uint8_t*>(data);
      self(s)->initial.insert(self(s)->initial.end(), p, p + size);
    }
    return 0;
  }
  static int tp_send(gnutls_session_t s, gnutls_buffer_t out) {
    auto& tp = *self(s)->tp;
    gnutls_buffer_append_data(out, tp.data(), tp.size());
    return static_cast<int>(tp.size());
  }
  static int tp_recv(gnutls_session_t, const unsigned char*, size_t) { return 0; }

  explicit RawClient(std::optional<std::vector<uint8_t>> tp_body) : tp(std::move(tp_body)) {
    EXPECT_EQ(gnutls_certificate_allocate_credentials(&cred), 0);
    EXPECT_EQ(gnutls_init(&session, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA), 0);
    gnutls_session_set_ptr(session, this);
    EXPECT_EQ(gnutls_priority_set_direct(session, kQuicTlsPriority, nullptr), 0);
    gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>("hq-interop")), 10};
    gnutls_alpn_set_protocols(session, &alpn, 1, 0);
    gnutls_handshake_set_secret_function(session, on_secret);
    gnutls_handshake_set_read_function(session, on_out);
    if (tp)
      gnutls_session_ext_register(session, "quic_transport_parameters", 0x39, GNUTLS_EXT_TLS,
                                  tp_recv, tp_send, nullptr, nullptr, nullptr,
                                  GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO |
                                      GNUTLS_EXT_FLAG_EE);
    EXPECT_EQ(gnutls_handshake(session), GNUTLS_E_AGAIN);
    EXPECT_FALSE(initial.empty());
  }
  ~RawClient() {
    gnutls_deinit(session);
    gnutls_certificate_free_credentials(cred);
  }
};

class RawClientTest : public TlsTest {
 protected:
  TransportError feed(const RawClient& c) {
    sctx_ = make_server(server_config());
    server_ = std::make_unique<TlsSession>(*sctx_);
    EXPECT_EQ(server_->start(server_options()), TransportError::NO_ERROR);
    return server_->provide_crypto(EncryptionLevel::initial, c.initial);
  }
  std::unique_ptr<TlsContext> sctx_;
  std::unique_ptr<TlsSession> server_;
};

TEST_F(RawClientTest, ClientHelloWithoutTransportParametersIsMissingExtension) {
  RawClient c(std::nullopt);
  // RFC 9001 8.2: 0x016d, CRYPTO_ERROR with missing_extension.
  EXPECT_EQ(feed(c), static_cast<TransportError>(0x16d)) << server_->error_detail();
  EXPECT_FALSE(server_->has_write_keys(EncryptionLevel::handshake));
}

TEST_F(RawClientTest, MalformedTransportParametersAreATransportParameterError) {
  RawClient c(std::vector<uint8_t>{0x04, 0x08, 0x41});  // initial_max_data, length past the end
  EXPECT_EQ(feed(c), TransportError::TRANSPORT_PARAMETER_ERROR) << server_->error_detail();
}

TEST_F(RawClientTest, WellFormedTransportParametersAreAccepted) {
  uint8_t buf[256];
  size_t n = encode_transport_parameters(client_tp(), Role::kClient, buf, sizeof(buf));
  ASSERT_GT(n, 0u);
  RawClient c(std::vector<uint8_t>(buf, buf + n));
  EXPECT_EQ(feed(c), TransportError::NO_ERROR) << server_->error_detail();
  EXPECT_TRUE(server_->has_write_keys(EncryptionLevel::handshake));
  ASSERT_TRUE(server_->peer_transport_parameters());
  EXPECT_EQ(*server_->peer_transport_parameters(), client_tp());
}

}  // namespace
}  // namespace camp::quic::test
