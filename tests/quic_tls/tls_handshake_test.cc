// Successful handshakes: keys per level agree, ALPN and transport parameters cross, resumption.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>

#include "tests/quic_tls/harness.h"

namespace camp::quic::test {
namespace {

bool same_keys(const DirectionKeys& a, const DirectionKeys& b) {
  return a.installed && b.installed && a.keys.suite == b.keys.suite &&
         a.secret.view().size() == b.secret.view().size() &&
         std::equal(a.secret.view().begin(), a.secret.view().end(), b.secret.view().begin()) &&
         a.keys.key == b.keys.key && a.keys.iv == b.keys.iv && a.keys.hp == b.keys.hp;
}

void expect_matching_keys(const TlsSession& client, const TlsSession& server, Suite suite) {
  for (EncryptionLevel l : {EncryptionLevel::handshake, EncryptionLevel::application}) {
    SCOPED_TRACE(to_string(l));
    EXPECT_TRUE(same_keys(client.keys(l).write, server.keys(l).read));
    EXPECT_TRUE(same_keys(server.keys(l).write, client.keys(l).read));
    EXPECT_EQ(client.keys(l).write.keys.suite, suite);
    EXPECT_EQ(client.keys(l).write.secret.size, secret_len(suite));
    // The two directions must differ, or one side would decrypt its own packets.
    EXPECT_NE(client.keys(l).write.keys.key, client.keys(l).read.keys.key);
  }
  // Initial keys come from the connection ID, not TLS (RFC 9001 5.2).
  EXPECT_FALSE(client.has_read_keys(EncryptionLevel::initial));
}

TEST_F(TlsTest, HandshakeCompletesWithMatchingKeysAlpnAndTransportParameters) {
  auto sctx = make_server(server_config());
  auto cctx = make_client(client_config());
  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
  ASSERT_FALSE(client.pending_crypto(EncryptionLevel::initial).empty());  // ClientHello
  EXPECT_EQ(client.pending_crypto(EncryptionLevel::initial)[0], 1);       // client_hello

  run_handshake(client, server);
  ASSERT_EQ(client.error(), TransportError::NO_ERROR) << client.error_detail();
  ASSERT_EQ(server.error(), TransportError::NO_ERROR) << server.error_detail();
  EXPECT_TRUE(client.handshake_complete());
  EXPECT_TRUE(server.handshake_complete());
  EXPECT_EQ(client.alpn(), "hq-interop");
  EXPECT_EQ(server.alpn(), "hq-interop");
  EXPECT_FALSE(client.resumed());
  EXPECT_EQ(client.suite(), Suite::aes_128_gcm_sha256);
  expect_matching_keys(client, server, Suite::aes_128_gcm_sha256);

  ASSERT_TRUE(server.peer_transport_parameters());
  ASSERT_TRUE(client.peer_transport_parameters());
  EXPECT_EQ(*server.peer_transport_parameters(), client_tp());
  EXPECT_EQ(*client.peer_transport_parameters(), server_tp());

  // The server's NewSessionTicket went out at 1-RTT; nothing is left unsent.
  for (EncryptionLevel l : kCryptoLevels) {
    EXPECT_TRUE(client.pending_crypto(l).empty());
    EXPECT_TRUE(server.pending_crypto(l).empty());
  }
  EXPECT_TRUE(client.has_session_ticket());
}

TEST_F(TlsTest, ByteAtATimeDeliveryStillCompletes) {
  auto sctx = make_server(server_config());
  auto cctx = make_client(client_config());
  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
  run_handshake(client, server, 1);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  ASSERT_TRUE(server.handshake_complete()) << server.error_detail();
  expect_matching_keys(client, server, Suite::aes_128_gcm_sha256);
}

TEST_F(TlsTest, EverySuiteDerivesMatchingKeys) {
  const std::pair<const char*, Suite> cases[] = {
      {"+AES-128-GCM", Suite::aes_128_gcm_sha256},
      {"+AES-256-GCM", Suite::aes_256_gcm_sha384},
      {"+CHACHA20-POLY1305", Suite::chacha20_poly1305_sha256}};
  for (auto [cipher, suite] : cases) {
    SCOPED_TRACE(cipher);
    auto cc = client_config();
    cc.priority = std::string("NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:") + cipher +
                  ":%DISABLE_TLS13_COMPAT_MODE";
    auto sctx = make_server(server_config());
    auto cctx = make_client(cc);
    TlsSession client(*cctx), server(*sctx);
    ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
    ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
    run_handshake(client, server);
    ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
    ASSERT_TRUE(server.handshake_complete()) << server.error_detail();
    EXPECT_EQ(server.suite(), suite);
    expect_matching_keys(client, server, suite);
  }
}

TEST_F(TlsTest, HelloRetryRequestStaysAtTheInitialLevel) {
  // The client's first key share is for a group the server will not take, so the server answers
  // with a HelloRetryRequest and a second ClientHello follows, both at the initial level.
  const std::string base = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:";
  auto cc = client_config();
  cc.priority = base + "+GROUP-SECP256R1:+GROUP-SECP384R1:%DISABLE_TLS13_COMPAT_MODE";
  auto sc = server_config();
  sc.priority = base + "+GROUP-SECP384R1:%DISABLE_TLS13_COMPAT_MODE";
  auto sctx = make_server(sc);
  auto cctx = make_client(cc);
  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
  shuttle(client, server);
  EXPECT_FALSE(server.has_write_keys(EncryptionLevel::handshake));  // HRR carries no keys
  EXPECT_FALSE(server.pending_crypto(EncryptionLevel::initial).empty());
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  ASSERT_TRUE(server.handshake_complete()) << server.error_detail();
  expect_matching_keys(client, server, Suite::aes_128_gcm_sha256);
  EXPECT_EQ(*server.peer_transport_parameters(), client_tp());
}

TEST_F(TlsTest, KeysCallbackReportsEachLevelInOrder) {
  auto sctx = make_server(server_config());
  auto cctx = make_client(client_config());
  TlsSession client(*cctx), server(*sctx);
  std::vector<std::pair<EncryptionLevel, bool>> seen;
  client.set_keys_callback([&](EncryptionLevel l, bool is_write, const DirectionKeys& k) {
    EXPECT_TRUE(k.installed);
    EXPECT_EQ(&k, is_write ? &client.keys(l).write : &client.keys(l).read);
    seen.emplace_back(l, is_write);
  });
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete());
  ASSERT_EQ(seen.size(), 4u);
  // Handshake keys strictly before 1-RTT keys.
  EXPECT_EQ(seen[0].first, EncryptionLevel::handshake);
  EXPECT_EQ(seen[1].first, EncryptionLevel::handshake);
  EXPECT_EQ(seen[2].first, EncryptionLevel::application);
  EXPECT_EQ(seen[3].first, EncryptionLevel::application);
}

TEST_F(TlsTest, ResumptionWithSessionTicket) {
  auto sctx = make_server(server_config());
  auto cctx = make_client(client_config());
  std::vector<uint8_t> ticket;
  {
    TlsSession client(*cctx), server(*sctx);
    ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
    ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
    run_handshake(client, server);
    ASSERT_TRUE(client.handshake_complete());
    ASSERT_TRUE(client.has_session_ticket());
    EXPECT_FALSE(server.resumed());
    ticket = client.session_data();
    ASSERT_FALSE(ticket.empty());
  }
  TlsSession client(*cctx), server(*sctx);
  auto opts = client_options();
  opts.resumption_data = ticket;
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(opts), TransportError::NO_ERROR);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  ASSERT_TRUE(server.handshake_complete()) << server.error_detail();
  EXPECT_TRUE(client.resumed());
  EXPECT_TRUE(server.resumed());
  EXPECT_EQ(client.alpn(), "hq-interop");
  EXPECT_EQ(*client.peer_transport_parameters(), server_tp());
  expect_matching_keys(client, server, Suite::aes_128_gcm_sha256);
}

TEST_F(TlsTest, TicketFromAnotherServerKeyIsNotResumed) {
  auto sctx = make_server(server_config());
  auto other_sctx = make_server(server_config());  // a fresh ticket key
  auto cctx = make_client(client_config());
  std::vector<uint8_t> ticket;
  {
    TlsSession client(*cctx), server(*other_sctx);
    ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
    ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
    run_handshake(client, server);
    ticket = client.session_data();
  }
  TlsSession client(*cctx), server(*sctx);
  auto opts = client_options();
  opts.resumption_data = ticket;
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(opts), TransportError::NO_ERROR);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  EXPECT_FALSE(client.resumed());  // full handshake instead
  EXPECT_FALSE(server.resumed());
}

TEST_F(TlsTest, UnreadableResumptionDataFallsBackToAFullHandshake) {
  auto sctx = make_server(server_config());
  auto cctx = make_client(client_config());
  TlsSession client(*cctx), server(*sctx);
  auto opts = client_options();
  opts.resumption_data = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(opts), TransportError::NO_ERROR);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  EXPECT_FALSE(client.resumed());
}

TEST_F(TlsTest, InsecureClientAcceptsUntrustedCertificate) {
  auto cc = client_config();
  cc.ca_pem = other_ca_->cert_pem;
  cc.insecure_skip_verify = true;
  auto sctx = make_server(server_config());
  auto cctx = make_client(cc);
  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
  run_handshake(client, server);
  EXPECT_TRUE(client.handshake_complete()) << client.error_detail();
}

TEST_F(TlsTest, PemFilesLoad) {
  std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& body) {
    std::string path = dir + "/camp_quic_tls_" + std::to_string(getpid()) + "_" + name;
    std::ofstream(path) << body;
    return path;
  };
  TlsServerConfig sc;
  sc.cert_file = write("cert.pem", leaf_->cert_pem);
  sc.key_file = write("key.pem", leaf_->key_pem);
  sc.alpn = {"h3", "hq-interop"};
  TlsClientConfig cc;
  cc.ca_file = write("ca.pem", ca_->cert_pem);
  cc.alpn = {"hq-interop"};
  auto sctx = make_server(sc);
  auto cctx = make_client(cc);
  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(client_options()), TransportError::NO_ERROR);
  run_handshake(client, server);
  EXPECT_TRUE(client.handshake_complete()) << client.error_detail();
  EXPECT_EQ(server.alpn(), "hq-interop");
  std::remove(sc.cert_file.c_str());
  std::remove(sc.key_file.c_str());
  std::remove(cc.ca_file.c_str());

  std::string err;
  sc.cert_file = dir + "/does-not-exist.pem";
  EXPECT_FALSE(TlsContext::server(sc, &err));
  EXPECT_FALSE(err.empty());
}

TEST_F(TlsTest, KeyLogLinesCarryTheTrafficSecrets) {
  auto sctx = make_server(server_config());
  auto cctx = make_client(client_config());
  TlsSession client(*cctx), server(*sctx);
  std::string log;
  auto opts = client_options();
  opts.key_log = [&](std::string_view line) { log.append(line); };
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(opts), TransportError::NO_ERROR);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete());
  auto hex = [](const Secret& s) {
    return format_key_log_line("", {}, s.view()).substr(2, 2 * s.size);
  };
  // label -> secret hex, as Wireshark would read it; directions must match the labels.
  std::map<std::string, std::string> by_label;
  std::istringstream in(log);
  for (std::string label, random, secret; in >> label >> random >> secret;) {
    EXPECT_EQ(random.size(), 64u);  // the 32-byte ClientHello.random
    by_label[label] = secret;
  }
  const auto& hs = client.keys(EncryptionLevel::handshake);
  const auto& app = client.keys(EncryptionLevel::application);
  EXPECT_EQ(by_label["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], hex(hs.write.secret)) << log;
  EXPECT_EQ(by_label["SERVER_HANDSHAKE_TRAFFIC_SECRET"], hex(hs.read.secret)) << log;
  EXPECT_EQ(by_label["CLIENT_TRAFFIC_SECRET_0"], hex(app.write.secret)) << log;
  EXPECT_EQ(by_label["SERVER_TRAFFIC_SECRET_0"], hex(app.read.secret)) << log;
}

TEST(KeyLog, FormatsNssLine) {
  const uint8_t random[] = {0x00, 0xab};
  const uint8_t secret[] = {0xff, 0x10};
  EXPECT_EQ(format_key_log_line("SERVER_TRAFFIC_SECRET_0", random, secret),
            "SERVER_TRAFFIC_SECRET_0 00ab ff10\n");
}

TEST(KeyLog, FileSinkAppendsAndEnvSelectsIt) {
  std::string path =
      ::testing::TempDir() + "/camp_quic_tls_keylog_" + std::to_string(getpid()) + ".txt";
  std::remove(path.c_str());
  auto sink = key_log_file(path);
  ASSERT_TRUE(sink);
  sink("A 00 01\n");
  sink("B 02 03\n");
  std::ifstream in(path);
  std::stringstream got;
  got << in.rdbuf();
  EXPECT_EQ(got.str(), "A 00 01\nB 02 03\n");
  std::remove(path.c_str());
  EXPECT_FALSE(key_log_file(""));

  ::unsetenv("SSLKEYLOGFILE");
  EXPECT_FALSE(key_log_from_env());
  ::setenv("SSLKEYLOGFILE", path.c_str(), 1);
  EXPECT_TRUE(key_log_from_env());
  ::unsetenv("SSLKEYLOGFILE");
}

}  // namespace
}  // namespace camp::quic::test
