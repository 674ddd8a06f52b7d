// One QUIC connection's TLS 1.3 handshake over GnuTLS's QUIC interface (RFC 9001 4). I/O-free:
// the connection feeds it CRYPTO bytes received at an encryption level, in stream order, and
// sends what pending_crypto() holds per level in CRYPTO frames. Secrets arrive per level as TLS
// produces them and are turned into packet protection keys (RFC 9001 5.1) here.
//
// Memory is bounded: a partial handshake message is buffered up to max_message_len and the
// unsent output per level up to max_pending_output; beyond either the session fails with
// CRYPTO_BUFFER_EXCEEDED (RFC 9000 7.5) rather than holding more.
//
// Every failure is sticky: error() then holds the QUIC error to close with (CRYPTO_ERROR 0x100 +
// alert, PROTOCOL_VIOLATION, TRANSPORT_PARAMETER_ERROR or CRYPTO_BUFFER_EXCEEDED).
// Not thread-safe; runs on the connection's thread, never per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <gnutls/gnutls.h>

#include "dataplane/quic/crypto/key_schedule.h"
#include "dataplane/quic/crypto/suite.h"
#include "dataplane/quic/tls/encryption_level.h"
#include "dataplane/quic/tls/key_log.h"
#include "dataplane/quic/tls/tls_context.h"
#include "dataplane/quic/wire/transport_error.h"
#include "dataplane/quic/wire/transport_parameters.h"

namespace camp::quic {

// The TLS extension code point of quic_transport_parameters (RFC 9001 8.2).
inline constexpr uint16_t kQuicTransportParametersExtension = 0x39;

// Keys for one direction at one level.
struct DirectionKeys {
  bool installed = false;
  Secret secret;     // kept for key updates (RFC 9001 6.1) at the application level
  PacketKeys keys;   // key, iv, hp for the suite
};

struct LevelKeys {
  DirectionKeys read;
  DirectionKeys write;
};

struct TlsSessionOptions {
  TransportParameters transport_parameters;  // ours, sent in extension 0x39
  std::string server_name;                   // client: SNI and the name the certificate must hold
  std::vector<uint8_t> resumption_data;      // client: a stored session_data() to resume
  KeyLogSink key_log;                        // empty: SSLKEYLOGFILE when set, else nothing
  size_t max_message_len = 64 * 1024;        // largest handshake message accepted
  size_t max_pending_output = 64 * 1024;     // unsent CRYPTO bytes per level
};

class TlsSession {
 public:
  // Called as each direction's keys at a level become available (write keys may come first).
  using KeysCallback = std::function<void(EncryptionLevel level, bool is_write,
                                          const DirectionKeys& keys)>;

  explicit TlsSession(const TlsContext& ctx);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  void set_keys_callback(KeysCallback cb) { keys_cb_ = std::move(cb); }

  // Sets up the GnuTLS session. A client also writes its ClientHello at the initial level.
  TransportError start(const TlsSessionOptions& opts);

  // CRYPTO stream bytes received at `level`, contiguous with what was given before at that level
  // (the caller reassembles the stream). Returns error() after processing.
  TransportError provide_crypto(EncryptionLevel level, std::span<const uint8_t> data);

  // Bytes to send in CRYPTO frames at `level`, oldest first; consume() those sent.
  std::span<const uint8_t> pending_crypto(EncryptionLevel level) const;
  void consume_crypto(EncryptionLevel level, size_t n);

  const LevelKeys& keys(EncryptionLevel level) const { return keys_[index_of(level)]; }
  bool has_read_keys(EncryptionLevel l) const { return keys(l).read.installed; }
  bool has_write_keys(EncryptionLevel l) const { return keys(l).write.installed; }

  Role role() const { return ctx_.role(); }
  bool handshake_complete() const { return complete_; }
  bool failed() const { return error_ != TransportError::NO_ERROR; }
  TransportError error() const { return error_; }
  // The TLS alert behind a CRYPTO_ERROR, if error() is one.
  std::optional<uint8_t> alert() const;
  const std::string& error_detail() const { return error_detail_; }

  // Valid once handshake_complete().
  const std::string& alpn() const { return alpn_; }
  bool resumed() const { return resumed_; }
  // 0-RTT: the client offered it when has_write_keys(early_data); both sides learn at completion
  // whether the server took it. A client whose 0-RTT was refused resends that data at 1-RTT.
  bool early_data_accepted() const { return early_data_accepted_; }
  std::optional<Suite> suite() const { return suite_; }
  // Valid once the peer's ClientHello / EncryptedExtensions was processed.
  const std::optional<TransportParameters>& peer_transport_parameters() const {
    return peer_tp_;
  }

  // Client: true once a NewSessionTicket arrived; session_data() then resumes a later connection.
  bool has_session_ticket() const { return ticket_received_; }
  std::vector<uint8_t> session_data() const;

 private:
  static int on_secret(gnutls_session_t s, gnutls_record_encryption_level_t level,
                       const void* read_secret, const void* write_secret, size_t size);
  static int on_handshake_out(gnutls_session_t s, gnutls_record_encryption_level_t level,
                              gnutls_handshake_description_t htype, const void* data,
                              size_t size);
  static int on_alert_out(gnutls_session_t s, gnutls_record_encryption_level_t level,
                          gnutls_alert_level_t alert_level, gnutls_alert_description_t desc);
  static int on_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                     const gnutls_datum_t* msg);
  static int on_tp_send(gnutls_session_t s, gnutls_buffer_t out);
  static int on_tp_recv(gnutls_session_t s, const unsigned char* data, size_t size);
  static int on_key_log(gnutls_session_t s, const char* label, const gnutls_datum_t* secret);

  // Records the first error; later ones never overwrite it.
  void fail(TransportError e, std::string detail);
  // Feeds one complete handshake message to GnuTLS and advances the handshake.
  void process_message(EncryptionLevel level, std::span<const uint8_t> msg);
  void advance_handshake();
  void on_handshake_done();
  void fail_from_gnutls(int rv);
  EncryptionLevel highest_read_level() const;

  const TlsContext& ctx_;
  gnutls_session_t session_ = nullptr;
  TlsSessionOptions opts_;
  KeysCallback keys_cb_;

  std::array<LevelKeys, kEncryptionLevelCount> keys_{};
  std::array<std::vector<uint8_t>, kEncryptionLevelCount> out_;      // unsent CRYPTO bytes
  std::array<size_t, kEncryptionLevelCount> out_head_{};             // consumed prefix of out_
  std::array<std::vector<uint8_t>, kEncryptionLevelCount> partial_;  // incomplete message

  std::optional<TransportParameters> peer_tp_;
  std::optional<Suite> suite_;
  std::string alpn_;
  std::string error_detail_;
  TransportError error_ = TransportError::NO_ERROR;
  std::optional<uint8_t> pending_alert_;  // what GnuTLS asked to send, before the error surfaced
  bool started_ = false;
  bool complete_ = false;
  bool resumed_ = false;
  bool early_data_accepted_ = false;
  bool ticket_received_ = false;
};

}  // namespace camp::quic
