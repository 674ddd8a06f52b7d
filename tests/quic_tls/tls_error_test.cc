// Failed handshakes map to the right QUIC error; hostile CRYPTO input is refused with bounded
// memory.
#include <vector>

#include "tests/quic_tls/harness.h"

namespace camp::quic::test {
namespace {

class TlsErrorTest : public TlsTest {
 protected:
  void handshake(const TlsServerConfig& sc, const TlsClientConfig& cc,
                 const TlsSessionOptions& copts) {
    sctx_ = make_server(sc);
    cctx_ = make_client(cc);
    client_ = std::make_unique<TlsSession>(*cctx_);
    server_ = std::make_unique<TlsSession>(*sctx_);
    ASSERT_EQ(server_->start(server_options()), TransportError::NO_ERROR);
    ASSERT_EQ(client_->start(copts), TransportError::NO_ERROR);
    run_handshake(*client_, *server_);
  }
  // A server that has only just started, for feeding it raw bytes.
  void start_server() {
    sctx_ = make_server(server_config());
    server_ = std::make_unique<TlsSession>(*sctx_);
    ASSERT_EQ(server_->start(server_options()), TransportError::NO_ERROR);
  }

  std::unique_ptr<TlsContext> sctx_, cctx_;
  std::unique_ptr<TlsSession> client_, server_;
};

TEST_F(TlsErrorTest, NoCommonAlpnFailsWithNoApplicationProtocol) {
  auto sc = server_config();
  sc.alpn = {"h3"};
  handshake(sc, client_config(), client_options());
  EXPECT_EQ(server_->error(), crypto_error(tls_alert::no_application_protocol))
      << server_->error_detail();
  EXPECT_EQ(static_cast<uint64_t>(server_->error()), 0x178u);
  EXPECT_EQ(server_->alert(), tls_alert::no_application_protocol);
  EXPECT_FALSE(server_->handshake_complete());
  EXPECT_FALSE(client_->handshake_complete());
  EXPECT_FALSE(server_->has_write_keys(EncryptionLevel::application));
}

TEST_F(TlsErrorTest, UntrustedCertificateFailsWithUnknownCa) {
  auto cc = client_config();
  cc.ca_pem = other_ca_->cert_pem;
  handshake(server_config(), cc, client_options());
  EXPECT_EQ(client_->error(), crypto_error(tls_alert::unknown_ca)) << client_->error_detail();
  EXPECT_FALSE(client_->handshake_complete());
  EXPECT_FALSE(client_->has_write_keys(EncryptionLevel::application));
  EXPECT_FALSE(server_->handshake_complete());
}

TEST_F(TlsErrorTest, WrongServerNameFailsWithBadCertificate) {
  auto opts = client_options();
  opts.server_name = "not-quic.test";
  handshake(server_config(), client_config(), opts);
  EXPECT_EQ(client_->error(), crypto_error(tls_alert::bad_certificate))
      << client_->error_detail();
  EXPECT_FALSE(client_->handshake_complete());
}

TEST_F(TlsErrorTest, ExpiredCertificateFailsWithCertificateExpired) {
  KeyPair expired = make_server_cert(*ca_, "quic.test", 60);  // ended 59 minutes ago
  auto sc = server_config();
  sc.cert_pem = expired.cert_pem;
  sc.key_pem = expired.key_pem;
  handshake(sc, client_config(), client_options());
  EXPECT_EQ(client_->error(), crypto_error(tls_alert::certificate_expired))
      << client_->error_detail();
}

TEST_F(TlsErrorTest, OversizedHandshakeMessageIsRefusedBeforeBuffering) {
  start_server();
  const uint8_t header[] = {1, 0xff, 0xff, 0xff};  // ClientHello claiming 16 MiB
  EXPECT_EQ(server_->provide_crypto(EncryptionLevel::initial, header),
            TransportError::CRYPTO_BUFFER_EXCEEDED);
  // Sticky: later input changes nothing.
  const uint8_t more[] = {1, 0, 0, 1, 0};
  EXPECT_EQ(server_->provide_crypto(EncryptionLevel::initial, more),
            TransportError::CRYPTO_BUFFER_EXCEEDED);
}

TEST_F(TlsErrorTest, MessageCapIsConfigurable) {
  sctx_ = make_server(server_config());
  server_ = std::make_unique<TlsSession>(*sctx_);
  auto so = server_options();
  so.max_message_len = 100;
  ASSERT_EQ(server_->start(so), TransportError::NO_ERROR);
  cctx_ = make_client(client_config());
  client_ = std::make_unique<TlsSession>(*cctx_);
  ASSERT_EQ(client_->start(client_options()), TransportError::NO_ERROR);
  shuttle(*client_, *server_);  // a ClientHello is well over 100 bytes
  EXPECT_EQ(server_->error(), TransportError::CRYPTO_BUFFER_EXCEEDED);
}

TEST_F(TlsErrorTest, OutputOverTheCapFails) {
  sctx_ = make_server(server_config());
  server_ = std::make_unique<TlsSession>(*sctx_);
  auto so = server_options();
  so.max_pending_output = 200;  // the certificate alone is bigger
  ASSERT_EQ(server_->start(so), TransportError::NO_ERROR);
  cctx_ = make_client(client_config());
  client_ = std::make_unique<TlsSession>(*cctx_);
  ASSERT_EQ(client_->start(client_options()), TransportError::NO_ERROR);
  shuttle(*client_, *server_);
  EXPECT_EQ(server_->error(), TransportError::CRYPTO_BUFFER_EXCEEDED) << server_->error_detail();
  EXPECT_LE(server_->pending_crypto(EncryptionLevel::handshake).size(), 200u);
}

TEST_F(TlsErrorTest, GarbageClientHelloIsACryptoError) {
  start_server();
  std::vector<uint8_t> msg = {1, 0, 0, 40};
  for (int i = 0; i < 40; ++i) msg.push_back(static_cast<uint8_t>(i * 37 + 11));
  TransportError e = server_->provide_crypto(EncryptionLevel::initial, msg);
  ASSERT_TRUE(server_->alert()) << static_cast<uint64_t>(e) << " " << server_->error_detail();
  EXPECT_GE(static_cast<uint64_t>(e), 0x100u);
  EXPECT_LE(static_cast<uint64_t>(e), 0x1ffu);
  EXPECT_FALSE(server_->has_write_keys(EncryptionLevel::handshake));
}

TEST_F(TlsErrorTest, UnexpectedMessageTypeIsACryptoError) {
  start_server();
  const uint8_t msg[] = {20, 0, 0, 4, 1, 2, 3, 4};  // a Finished before any ClientHello
  TransportError e = server_->provide_crypto(EncryptionLevel::initial, msg);
  EXPECT_TRUE(server_->alert()) << static_cast<uint64_t>(e) << " " << server_->error_detail();
}

TEST_F(TlsErrorTest, CryptoAtALevelWithoutKeysIsAProtocolViolation) {
  start_server();
  const uint8_t msg[] = {1, 0, 0, 0};
  EXPECT_EQ(server_->provide_crypto(EncryptionLevel::handshake, msg),
            TransportError::PROTOCOL_VIOLATION);
  start_server();
  EXPECT_EQ(server_->provide_crypto(EncryptionLevel::early_data, msg),
            TransportError::PROTOCOL_VIOLATION);
}

TEST_F(TlsErrorTest, DataAfterTheClientHelloAtInitialIsAProtocolViolation) {
  sctx_ = make_server(server_config());
  cctx_ = make_client(client_config());
  client_ = std::make_unique<TlsSession>(*cctx_);
  server_ = std::make_unique<TlsSession>(*sctx_);
  ASSERT_EQ(server_->start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client_->start(client_options()), TransportError::NO_ERROR);
  auto ch = client_->pending_crypto(EncryptionLevel::initial);
  std::vector<uint8_t> bytes(ch.begin(), ch.end());
  bytes.push_back(1);  // the start of another message after the ClientHello
  EXPECT_EQ(server_->provide_crypto(EncryptionLevel::initial, bytes),
            TransportError::PROTOCOL_VIOLATION);
}

TEST_F(TlsErrorTest, KeyUpdateMessageIsRefused) {
  handshake(server_config(), client_config(), client_options());
  ASSERT_TRUE(client_->handshake_complete());
  const uint8_t key_update[] = {24, 0, 0, 1, 0};
  // RFC 9001 6: a TLS KeyUpdate is CRYPTO_ERROR unexpected_message (0x10a).
  EXPECT_EQ(client_->provide_crypto(EncryptionLevel::application, key_update),
            static_cast<TransportError>(0x10a));
}

TEST_F(TlsErrorTest, GarbageAfterHandshakeIsACryptoError) {
  handshake(server_config(), client_config(), client_options());
  ASSERT_TRUE(client_->handshake_complete());
  const uint8_t bogus_ticket[] = {4, 0, 0, 3, 9, 9, 9};  // NewSessionTicket, truncated body
  TransportError e = client_->provide_crypto(EncryptionLevel::application, bogus_ticket);
  EXPECT_TRUE(client_->alert()) << static_cast<uint64_t>(e) << " " << client_->error_detail();
}

TEST_F(TlsErrorTest, InvalidOwnTransportParametersFailStart) {
  cctx_ = make_client(client_config());
  client_ = std::make_unique<TlsSession>(*cctx_);
  auto opts = client_options();
  opts.transport_parameters.stateless_reset_token = StatelessResetToken{};  // server-only
  EXPECT_NE(client_->start(opts), TransportError::NO_ERROR);
}

TEST_F(TlsErrorTest, ContextRejectsEmptyAlpn) {
  auto sc = server_config();
  sc.alpn.clear();
  std::string err;
  EXPECT_FALSE(TlsContext::server(sc, &err));
  EXPECT_FALSE(err.empty());
}

}  // namespace
}  // namespace camp::quic::test
