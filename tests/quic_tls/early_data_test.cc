// 0-RTT on resumption: early keys agree, acceptance is reported, replays and servers without
// 0-RTT refuse it.
#include <vector>

#include "tests/quic_tls/harness.h"

namespace camp::quic::test {
namespace {

class EarlyDataTest : public TlsTest {
 protected:
  // A full handshake with the server context; returns the client's ticket.
  std::vector<uint8_t> first_ticket(const TlsContext& sctx, const TlsContext& cctx) {
    TlsSession client(cctx), server(sctx);
    EXPECT_EQ(server.start(server_options()), TransportError::NO_ERROR);
    EXPECT_EQ(client.start(client_options()), TransportError::NO_ERROR);
    run_handshake(client, server);
    EXPECT_TRUE(client.has_session_ticket());
    EXPECT_FALSE(client.has_write_keys(EncryptionLevel::early_data));  // nothing to resume yet
    return client.session_data();
  }
  TlsSessionOptions resuming(std::vector<uint8_t> ticket) {
    auto o = client_options();
    o.resumption_data = std::move(ticket);
    return o;
  }
};

TEST_F(EarlyDataTest, AcceptedZeroRttKeysMatch) {
  auto sc = server_config();
  sc.early_data = true;
  auto cc = client_config();
  cc.early_data = true;
  auto sctx = make_server(sc);
  auto cctx = make_client(cc);
  auto ticket = first_ticket(*sctx, *cctx);

  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(resuming(ticket)), TransportError::NO_ERROR);
  // The client can send 0-RTT packets right after its ClientHello.
  ASSERT_TRUE(client.has_write_keys(EncryptionLevel::early_data));
  EXPECT_FALSE(client.has_read_keys(EncryptionLevel::early_data));
  shuttle(client, server);
  ASSERT_TRUE(server.has_read_keys(EncryptionLevel::early_data)) << server.error_detail();
  const auto& cw = client.keys(EncryptionLevel::early_data).write.keys;
  const auto& sr = server.keys(EncryptionLevel::early_data).read.keys;
  EXPECT_EQ(cw.key, sr.key);
  EXPECT_EQ(cw.iv, sr.iv);
  EXPECT_EQ(cw.hp, sr.hp);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  ASSERT_TRUE(server.handshake_complete()) << server.error_detail();
  EXPECT_TRUE(client.resumed());
  EXPECT_TRUE(server.early_data_accepted());
  EXPECT_TRUE(client.early_data_accepted());
}

TEST_F(EarlyDataTest, ReplayedClientHelloGetsNoZeroRtt) {
  auto sc = server_config();
  sc.early_data = true;
  auto cc = client_config();
  cc.early_data = true;
  auto sctx = make_server(sc);
  auto cctx = make_client(cc);
  auto ticket = first_ticket(*sctx, *cctx);

  TlsSession client(*cctx);
  ASSERT_EQ(client.start(resuming(ticket)), TransportError::NO_ERROR);
  auto ch = client.pending_crypto(EncryptionLevel::initial);
  std::vector<uint8_t> hello(ch.begin(), ch.end());

  TlsSession first(*sctx), replay(*sctx);
  ASSERT_EQ(first.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(replay.start(server_options()), TransportError::NO_ERROR);
  EXPECT_EQ(first.provide_crypto(EncryptionLevel::initial, hello), TransportError::NO_ERROR);
  EXPECT_TRUE(first.has_read_keys(EncryptionLevel::early_data));
  EXPECT_EQ(replay.provide_crypto(EncryptionLevel::initial, hello), TransportError::NO_ERROR);
  EXPECT_FALSE(replay.has_read_keys(EncryptionLevel::early_data));
  EXPECT_TRUE(replay.has_write_keys(EncryptionLevel::handshake));  // 1-RTT handshake goes on
}

TEST_F(EarlyDataTest, ServerWithoutZeroRttRefusesItButResumes) {
  auto cc = client_config();
  cc.early_data = true;
  auto sctx = make_server(server_config());
  auto cctx = make_client(cc);
  auto ticket = first_ticket(*sctx, *cctx);

  TlsSession client(*cctx), server(*sctx);
  ASSERT_EQ(server.start(server_options()), TransportError::NO_ERROR);
  ASSERT_EQ(client.start(resuming(ticket)), TransportError::NO_ERROR);
  run_handshake(client, server);
  ASSERT_TRUE(client.handshake_complete()) << client.error_detail();
  EXPECT_TRUE(client.resumed());
  EXPECT_FALSE(server.has_read_keys(EncryptionLevel::early_data));
  EXPECT_FALSE(server.early_data_accepted());
  EXPECT_FALSE(client.early_data_accepted());
}

TEST_F(EarlyDataTest, ZeroRttNeedsTickets) {
  auto sc = server_config();
  sc.early_data = true;
  sc.session_tickets = false;
  std::string err;
  EXPECT_FALSE(TlsContext::server(sc, &err));
  EXPECT_FALSE(err.empty());
}

}  // namespace
}  // namespace camp::quic::test
