// Shared fixture: a test PKI, contexts, and a loop that moves CRYPTO bytes between two sessions
// level by level, as two QUIC endpoints would.
#pragma once

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/quic/tls/tls_context.h"
#include "dataplane/quic/tls/tls_session.h"
#include "tests/quic_tls/test_pki.h"

namespace camp::quic::test {

inline constexpr EncryptionLevel kCryptoLevels[] = {
    EncryptionLevel::initial, EncryptionLevel::handshake, EncryptionLevel::application};

// Moves everything `from` has pending into `to`, in chunks of at most `chunk` bytes. True when
// anything moved.
inline bool shuttle(TlsSession& from, TlsSession& to, size_t chunk = SIZE_MAX) {
  bool moved = false;
  for (EncryptionLevel l : kCryptoLevels) {
    auto p = from.pending_crypto(l);
    if (p.empty()) continue;
    std::vector<uint8_t> bytes(p.begin(), p.end());
    from.consume_crypto(l, bytes.size());
    for (size_t off = 0; off < bytes.size(); off += chunk) {
      size_t n = std::min(chunk, bytes.size() - off);
      to.provide_crypto(l, std::span<const uint8_t>(bytes).subspan(off, n));
    }
    moved = true;
  }
  return moved;
}

// Runs both sides until neither has anything to send.
inline void run_handshake(TlsSession& client, TlsSession& server, size_t chunk = SIZE_MAX) {
  for (int i = 0; i < 20; ++i) {
    bool a = shuttle(client, server, chunk);
    bool b = shuttle(server, client, chunk);
    if (!a && !b) return;
  }
  ADD_FAILURE() << "handshake did not settle";
}

inline TransportParameters client_tp() {
  TransportParameters tp;
  tp.initial_max_data = 1 << 20;
  tp.initial_max_streams_bidi = 100;
  tp.max_idle_timeout = 30000;
  const uint8_t scid[] = {1, 2, 3, 4, 5, 6, 7, 8};
  tp.initial_source_connection_id = ConnectionId(ByteView(scid, sizeof(scid)));
  return tp;
}

inline TransportParameters server_tp() {
  TransportParameters tp;
  tp.initial_max_data = 2 << 20;
  tp.initial_max_stream_data_bidi_remote = 65536;
  tp.max_datagram_frame_size = 1200;
  const uint8_t odcid[] = {9, 9, 9, 9};
  const uint8_t scid[] = {0xa, 0xb, 0xc};
  tp.original_destination_connection_id = ConnectionId(ByteView(odcid, sizeof(odcid)));
  tp.initial_source_connection_id = ConnectionId(ByteView(scid, sizeof(scid)));
  StatelessResetToken t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(0xf0 + i);
  tp.stateless_reset_token = t;
  return tp;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new KeyPair(make_ca("camp test CA"));
    other_ca_ = new KeyPair(make_ca("someone else's CA"));
    leaf_ = new KeyPair(make_server_cert(*ca_, "quic.test"));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
    delete leaf_;
  }

  TlsServerConfig server_config() const {
    TlsServerConfig c;
    c.cert_pem = leaf_->cert_pem;
    c.key_pem = leaf_->key_pem;
    c.alpn = {"hq-interop"};
    return c;
  }
  TlsClientConfig client_config() const {
    TlsClientConfig c;
    c.ca_pem = ca_->cert_pem;
    c.alpn = {"hq-interop"};
    return c;
  }
  static std::unique_ptr<TlsContext> make_server(const TlsServerConfig& c) {
    std::string err;
    auto ctx = TlsContext::server(c, &err);
    EXPECT_TRUE(ctx) << err;
    return ctx;
  }
  static std::unique_ptr<TlsContext> make_client(const TlsClientConfig& c) {
    std::string err;
    auto ctx = TlsContext::client(c, &err);
    EXPECT_TRUE(ctx) << err;
    return ctx;
  }
  static TlsSessionOptions client_options() {
    TlsSessionOptions o;
    o.transport_parameters = client_tp();
    o.server_name = "quic.test";
    return o;
  }
  static TlsSessionOptions server_options() {
    TlsSessionOptions o;
    o.transport_parameters = server_tp();
    return o;
  }

  static inline KeyPair* ca_ = nullptr;
  static inline KeyPair* other_ca_ = nullptr;
  static inline KeyPair* leaf_ = nullptr;
};

}  // namespace camp::quic::test
