#include "dataplane/quic/tls/tls_session.h"

#include <algorithm>
#include <cstring>

namespace camp::quic {

namespace {

gnutls_record_encryption_level_t to_gnutls(EncryptionLevel l) {
  switch (l) {
    case EncryptionLevel::initial: return GNUTLS_ENCRYPTION_LEVEL_INITIAL;
    case EncryptionLevel::early_data: return GNUTLS_ENCRYPTION_LEVEL_EARLY;
    case EncryptionLevel::handshake: return GNUTLS_ENCRYPTION_LEVEL_HANDSHAKE;
    case EncryptionLevel::application: break;
  }
  return GNUTLS_ENCRYPTION_LEVEL_APPLICATION;
}

std::optional<EncryptionLevel> from_gnutls(gnutls_record_encryption_level_t l) {
  switch (l) {
    case GNUTLS_ENCRYPTION_LEVEL_INITIAL: return EncryptionLevel::initial;
    case GNUTLS_ENCRYPTION_LEVEL_EARLY: return EncryptionLevel::early_data;
    case GNUTLS_ENCRYPTION_LEVEL_HANDSHAKE: return EncryptionLevel::handshake;
    case GNUTLS_ENCRYPTION_LEVEL_APPLICATION: return EncryptionLevel::application;
  }
  return std::nullopt;
}

std::optional<Suite> suite_of(gnutls_cipher_algorithm_t c) {
  switch (c) {
    case GNUTLS_CIPHER_AES_128_GCM: return Suite::aes_128_gcm_sha256;
    case GNUTLS_CIPHER_AES_256_GCM: return Suite::aes_256_gcm_sha384;
    case GNUTLS_CIPHER_CHACHA20_POLY1305: return Suite::chacha20_poly1305_sha256;
    default: return std::nullopt;
  }
}

// Order of the levels that carry CRYPTO data; 0-RTT carries none.
int rank(EncryptionLevel l) {
  switch (l) {
    case EncryptionLevel::initial: return 0;
    case EncryptionLevel::handshake: return 1;
    case EncryptionLevel::application: return 2;
    case EncryptionLevel::early_data: break;
  }
  return -1;
}

TlsSession* self(gnutls_session_t s) { return static_cast<TlsSession*>(gnutls_session_get_ptr(s)); }

// TLS handshake message types QUIC forbids (RFC 9001 6: KeyUpdate; 8.3: EndOfEarlyData).
constexpr uint8_t kEndOfEarlyData = 5;
constexpr uint8_t kKeyUpdate = 24;
constexpr size_t kHandshakeHeaderLen = 4;  // msg_type(1) + length(3), RFC 8446 4

}  // namespace

const char* to_string(EncryptionLevel l) {
  switch (l) {
    case EncryptionLevel::initial: return "initial";
    case EncryptionLevel::early_data: return "0-rtt";
    case EncryptionLevel::handshake: return "handshake";
    case EncryptionLevel::application: return "1-rtt";
  }
  return "?";
}

TlsSession::TlsSession(const TlsContext& ctx) : ctx_(ctx) {}

TlsSession::~TlsSession() {
  if (session_) gnutls_deinit(session_);
  gnutls_memset(keys_.data(), 0, sizeof(keys_));  // secrets should not outlive the connection
}

void TlsSession::fail(TransportError e, std::string detail) {
  if (error_ != TransportError::NO_ERROR) return;
  error_ = e;
  error_detail_ = std::move(detail);
}

std::optional<uint8_t> TlsSession::alert() const {
  auto v = static_cast<uint64_t>(error_);
  if (v < 0x100 || v > 0x1ff) return std::nullopt;
  return static_cast<uint8_t>(v - 0x100);
}

TransportError TlsSession::start(const TlsSessionOptions& opts) {
  if (started_) {
    fail(TransportError::INTERNAL_ERROR, "start() called twice");
    return error_;
  }
  started_ = true;
  opts_ = opts;
  if (!opts_.key_log) opts_.key_log = key_log_from_env();
  const bool client = ctx_.role() == Role::kClient;

  // QUIC carries no EndOfEarlyData (RFC 9001 8.3).
  unsigned flags = (client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_NO_END_OF_EARLY_DATA;
  if (ctx_.early_data()) flags |= GNUTLS_ENABLE_EARLY_DATA;
  int rv = gnutls_init(&session_, flags);
  if (rv < 0) {
    session_ = nullptr;
    fail(TransportError::INTERNAL_ERROR, std::string("gnutls_init: ") + gnutls_strerror(rv));
    return error_;
  }
  gnutls_session_set_ptr(session_, this);

  auto check = [&](int r, const char* what) {
    if (r < 0) fail(TransportError::INTERNAL_ERROR, std::string(what) + ": " + gnutls_strerror(r));
    return r >= 0;
  };
  if (!check(gnutls_priority_set_direct(session_, ctx_.priority().c_str(), nullptr), "priority"))
    return error_;
  if (!check(gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, ctx_.credentials()),
             "credentials"))
    return error_;

  std::vector<gnutls_datum_t> protos;
  for (const auto& p : ctx_.alpn())
    protos.push_back({reinterpret_cast<unsigned char*>(const_cast<char*>(p.data())),
                      static_cast<unsigned>(p.size())});
  // Mandatory: a server with no protocol in common answers no_application_protocol (RFC 9001 8.1).
  unsigned alpn_flags = GNUTLS_ALPN_MANDATORY | (client ? 0 : GNUTLS_ALPN_SERVER_PRECEDENCE);
  if (!check(gnutls_alpn_set_protocols(session_, protos.data(), protos.size(), alpn_flags),
             "ALPN"))
    return error_;

  gnutls_handshake_set_secret_function(session_, on_secret);
  gnutls_handshake_set_read_function(session_, on_handshake_out);
  gnutls_alert_set_read_function(session_, on_alert_out);
  gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_POST, on_hook);
  gnutls_session_set_keylog_function(session_, on_key_log);
  // The extension goes in ClientHello and EncryptedExtensions only (RFC 9001 8.2).
  if (!check(gnutls_session_ext_register(
                 session_, "quic_transport_parameters", kQuicTransportParametersExtension,
                 GNUTLS_EXT_TLS, on_tp_recv, on_tp_send, nullptr, nullptr, nullptr,
                 GNUTLS_EXT_FLAG_TLS | GNUTLS_EXT_FLAG_CLIENT_HELLO | GNUTLS_EXT_FLAG_EE),
             "transport parameters extension"))
    return error_;

  if (client) {
    if (!opts_.server_name.empty() &&
        !check(gnutls_server_name_set(session_, GNUTLS_NAME_DNS, opts_.server_name.data(),
                                      opts_.server_name.size()),
               "server name"))
      return error_;
    // Chain and, when a name is given, host name checks run inside the handshake, so a bad
    // certificate fails it before any 1-RTT key is used.
    if (ctx_.verify_peer())
      gnutls_session_set_verify_cert(
          session_, opts_.server_name.empty() ? nullptr : opts_.server_name.c_str(), 0);
    // A stored session GnuTLS cannot read (stale format, corrupted store) costs only the
    // resumption: the handshake falls back to a full one.
    if (!opts_.resumption_data.empty())
      (void)gnutls_session_set_data(session_, opts_.resumption_data.data(),
                                    opts_.resumption_data.size());
  } else {
    if (const gnutls_datum_t* key = ctx_.ticket_key();
        key && !check(gnutls_session_ticket_enable_server(session_, key), "session tickets"))
      return error_;
    if (ctx_.early_data()) {
      // QUIC tickets that allow 0-RTT carry max_early_data_size 0xffffffff (RFC 9001 4.6.1):
      // QUIC's own flow control limits the data, not TLS.
      if (!check(gnutls_record_set_max_early_data_size(session_, 0xffffffffu), "0-RTT size"))
        return error_;
      gnutls_anti_replay_enable(session_, ctx_.anti_replay());
    }
  }

  for (auto& b : out_) b.reserve(4096);
  if (client) advance_handshake();  // writes the ClientHello
  return error_;
}

int TlsSession::on_secret(gnutls_session_t s, gnutls_record_encryption_level_t glevel,
                          const void* read_secret, const void* write_secret, size_t size) {
  TlsSession* t = self(s);
  auto level = from_gnutls(glevel);
  if (!level) return -1;
  gnutls_cipher_algorithm_t cipher =
      *level == EncryptionLevel::early_data ? gnutls_early_cipher_get(s) : gnutls_cipher_get(s);
  auto suite = suite_of(cipher);
  if (!suite || size != secret_len(*suite)) {
    t->fail(TransportError::INTERNAL_ERROR, "TLS negotiated a cipher QUIC cannot use");
    return -1;
  }
  LevelKeys& lk = t->keys_[index_of(*level)];
  auto install = [&](const void* secret, DirectionKeys& dk, bool is_write) {
    if (!secret) return true;
    dk.secret.size = static_cast<uint8_t>(size);
    std::memcpy(dk.secret.bytes.data(), secret, size);
    if (derive_packet_keys(*suite, dk.secret, dk.keys) != CryptoStatus::ok) {
      t->fail(TransportError::INTERNAL_ERROR, "deriving packet protection keys");
      return false;
    }
    dk.installed = true;
    if (t->keys_cb_) t->keys_cb_(*level, is_write, dk);
    return true;
  };
  if (!install(read_secret, lk.read, false) || !install(write_secret, lk.write, true)) return -1;
  return 0;
}

int TlsSession::on_handshake_out(gnutls_session_t s, gnutls_record_encryption_level_t glevel,
                                 gnutls_handshake_description_t htype, const void* data,
                                 size_t size) {
  TlsSession* t = self(s);
  // GnuTLS still reports the compatibility-mode record; QUIC sends none (RFC 9001 8.4).
  if (htype == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC) return 0;
  auto level = from_gnutls(glevel);
  if (!level || *level == EncryptionLevel::early_data) {
    t->fail(TransportError::INTERNAL_ERROR, "TLS wrote handshake data at 0-RTT");
    return -1;
  }
  size_t i = index_of(*level);
  auto& buf = t->out_[i];
  if (buf.size() - t->out_head_[i] + size > t->opts_.max_pending_output) {
    t->fail(TransportError::CRYPTO_BUFFER_EXCEEDED, "unsent CRYPTO data over the cap");
    return -1;
  }
  const auto* p = static_cast<const uint8_t*>(data);
  buf.insert(buf.end(), p, p + size);
  return 0;
}

int TlsSession::on_alert_out(gnutls_session_t s, gnutls_record_encryption_level_t,
                             gnutls_alert_level_t, gnutls_alert_description_t desc) {
  // QUIC has no alert records: the alert becomes the CONNECTION_CLOSE code (RFC 9001 4.8).
  TlsSession* t = self(s);
  if (!t->pending_alert_) t->pending_alert_ = static_cast<uint8_t>(desc);
  return 0;
}

int TlsSession::on_hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                        const gnutls_datum_t*) {
  TlsSession* t = self(s);
  if (when != GNUTLS_HOOK_POST || !incoming) return 0;
  const bool client = t->ctx_.role() == Role::kClient;
  // RFC 9001 8.2: a ClientHello or EncryptedExtensions without the extension is fatal. GnuTLS
  // runs the hook before it parses EncryptedExtensions, so the client checks on the message
  // after it (Certificate, CertificateRequest, or Finished when resuming).
  bool after_extensions =
      client ? (htype == GNUTLS_HANDSHAKE_CERTIFICATE_PKT ||
                htype == GNUTLS_HANDSHAKE_CERTIFICATE_REQUEST || htype == GNUTLS_HANDSHAKE_FINISHED)
             : htype == GNUTLS_HANDSHAKE_CLIENT_HELLO;
  if (after_extensions) {
    if (!t->peer_tp_) {
      t->fail(crypto_error(tls_alert::missing_extension),
              "peer sent no quic_transport_parameters");
      return GNUTLS_E_MISSING_EXTENSION;
    }
  }
  if (client && htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET) t->ticket_received_ = true;
  return 0;
}

int TlsSession::on_tp_send(gnutls_session_t s, gnutls_buffer_t out) {
  TlsSession* t = self(s);
  uint8_t buf[1024];
  size_t n = encode_transport_parameters(t->opts_.transport_parameters, t->ctx_.role(), buf,
                                         sizeof(buf));
  if (n == 0) {
    t->fail(TransportError::INTERNAL_ERROR, "our transport parameters do not encode");
    return GNUTLS_E_INTERNAL_ERROR;
  }
  int rv = gnutls_buffer_append_data(out, buf, n);
  return rv < 0 ? rv : static_cast<int>(n);
}

int TlsSession::on_tp_recv(gnutls_session_t s, const unsigned char* data, size_t size) {
  TlsSession* t = self(s);
  Role peer = t->ctx_.role() == Role::kClient ? Role::kServer : Role::kClient;
  TransportParameters tp;
  if (decode_transport_parameters(data, size, peer, tp) != TransportError::NO_ERROR) {
    t->fail(TransportError::TRANSPORT_PARAMETER_ERROR, "peer transport parameters invalid");
    return GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER;
  }
  t->peer_tp_ = tp;
  return 0;
}

int TlsSession::on_key_log(gnutls_session_t s, const char* label, const gnutls_datum_t* secret) {
  TlsSession* t = self(s);
  if (!t->opts_.key_log) return 0;
  gnutls_datum_t client_random{}, server_random{};
  gnutls_session_get_random(s, &client_random, &server_random);
  t->opts_.key_log(format_key_log_line(label, {client_random.data, client_random.size},
                                       {secret->data, secret->size}));
  return 0;
}

void TlsSession::fail_from_gnutls(int rv) {
  if (failed()) return;  // a callback already chose the precise code
  std::string detail = gnutls_strerror(rv);
  if (rv == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
    // Name the reason the way RFC 8446 6.2 does rather than GnuTLS's catch-all.
    unsigned status = gnutls_session_get_verify_cert_status(session_);
    uint8_t a = tls_alert::bad_certificate;
    if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
      a = tls_alert::unknown_ca;
    else if (status & GNUTLS_CERT_EXPIRED)
      a = tls_alert::certificate_expired;
    gnutls_datum_t txt{};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0) >= 0) {
      detail += ": ";
      detail.append(reinterpret_cast<const char*>(txt.data), txt.size);
      gnutls_free(txt.data);
    }
    fail(crypto_error(a), std::move(detail));
    return;
  }
  if (!pending_alert_) gnutls_alert_send_appropriate(session_, rv);  // lands in on_alert_out
  if (!pending_alert_) {
    int lvl = 0;
    int a = gnutls_error_to_alert(rv, &lvl);
    pending_alert_ = static_cast<uint8_t>(a >= 0 ? a : tls_alert::internal_error);
  }
  fail(crypto_error(*pending_alert_), std::move(detail));
}

void TlsSession::advance_handshake() {
  if (complete_ || failed()) return;
  int rv = gnutls_handshake(session_);
  if (rv == 0) {
    on_handshake_done();
    return;
  }
  if (!gnutls_error_is_fatal(rv)) return;  // GNUTLS_E_AGAIN: waiting for the peer's next flight
  fail_from_gnutls(rv);
}

void TlsSession::on_handshake_done() {
  complete_ = true;
  resumed_ = gnutls_session_is_resumed(session_) != 0;
  early_data_accepted_ = (gnutls_session_get_flags(session_) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
  suite_ = suite_of(gnutls_cipher_get(session_));
  gnutls_datum_t proto{};
  if (gnutls_alpn_get_selected_protocol(session_, &proto) < 0 || proto.size == 0) {
    // RFC 9001 8.1: no agreed application protocol is fatal on both sides.
    fail(crypto_error(tls_alert::no_application_protocol), "no ALPN protocol negotiated");
    return;
  }
  alpn_.assign(reinterpret_cast<const char*>(proto.data), proto.size);
  if (!peer_tp_) fail(crypto_error(tls_alert::missing_extension), "no transport parameters");
}

EncryptionLevel TlsSession::highest_read_level() const {
  // The server gets its 1-RTT read key with its own Finished, before the client's Finished
  // arrives at the handshake level; the handshake level stays current until completion.
  if (complete_) return EncryptionLevel::application;
  if (has_read_keys(EncryptionLevel::handshake)) return EncryptionLevel::handshake;
  return EncryptionLevel::initial;
}

void TlsSession::process_message(EncryptionLevel level, std::span<const uint8_t> msg) {
  if (msg[0] == kKeyUpdate || msg[0] == kEndOfEarlyData) {
    fail(crypto_error(tls_alert::unexpected_message), "TLS message QUIC forbids");
    return;
  }
  int rv = gnutls_handshake_write(session_, to_gnutls(level), msg.data(), msg.size());
  if (rv < 0 && gnutls_error_is_fatal(rv)) {
    fail_from_gnutls(rv);
    return;
  }
  advance_handshake();
}

TransportError TlsSession::provide_crypto(EncryptionLevel level, std::span<const uint8_t> data) {
  if (!started_ || !session_) {
    fail(TransportError::INTERNAL_ERROR, "provide_crypto() before start()");
    return error_;
  }
  if (failed() || data.empty()) return error_;
  if (level == EncryptionLevel::early_data) {
    fail(TransportError::PROTOCOL_VIOLATION, "CRYPTO data in 0-RTT");
    return error_;
  }
  const size_t i = index_of(level);
  auto& partial = partial_[i];
  while (!data.empty() && !failed()) {
    // RFC 9001 4.1.3: new data at a level TLS has left behind, or at one it has not reached.
    if (rank(level) != rank(highest_read_level())) {
      fail(TransportError::PROTOCOL_VIOLATION,
           std::string("CRYPTO data at the ") + to_string(level) + " level out of order");
      break;
    }
    if (partial.size() < kHandshakeHeaderLen) {
      size_t n = std::min(kHandshakeHeaderLen - partial.size(), data.size());
      partial.insert(partial.end(), data.begin(), data.begin() + n);
      data = data.subspan(n);
      if (partial.size() < kHandshakeHeaderLen) break;
    }
    size_t body = (size_t{partial[1]} << 16) | (size_t{partial[2]} << 8) | partial[3];
    size_t total = kHandshakeHeaderLen + body;
    if (total > opts_.max_message_len) {
      fail(TransportError::CRYPTO_BUFFER_EXCEEDED, "handshake message over the size cap");
      break;
    }
    size_t n = std::min(total - partial.size(), data.size());
    partial.insert(partial.end(), data.begin(), data.begin() + n);
    data = data.subspan(n);
    if (partial.size() < total) break;
    process_message(level, partial);
    partial.clear();
  }
  if (!failed() && !partial.empty() && rank(level) < rank(highest_read_level()))
    fail(TransportError::PROTOCOL_VIOLATION, "partial message left at an old level");
  return error_;
}

std::span<const uint8_t> TlsSession::pending_crypto(EncryptionLevel level) const {
  size_t i = index_of(level);
  return std::span<const uint8_t>(out_[i]).subspan(out_head_[i]);
}

void TlsSession::consume_crypto(EncryptionLevel level, size_t n) {
  size_t i = index_of(level);
  auto& buf = out_[i];
  out_head_[i] = std::min(buf.size(), out_head_[i] + n);
  if (out_head_[i] == buf.size()) {
    buf.clear();
    out_head_[i] = 0;
  } else if (out_head_[i] > buf.size() / 2) {
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(out_head_[i]));
    out_head_[i] = 0;
  }
}

std::vector<uint8_t> TlsSession::session_data() const {
  std::vector<uint8_t> v;
  if (!session_) return v;
  gnutls_datum_t d{};
  if (gnutls_session_get_data2(session_, &d) < 0) return v;
  v.assign(d.data, d.data + d.size);
  gnutls_free(d.data);
  return v;
}

}  // namespace camp::quic
