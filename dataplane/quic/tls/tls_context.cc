#include "dataplane/quic/tls/tls_context.h"

#include <cstring>
#include <map>
#include <mutex>
#include <string_view>

namespace camp::quic {

namespace {

bool fail(std::string* error, const char* what, int rv) {
  if (error) *error = std::string(what) + ": " + gnutls_strerror(rv);
  return false;
}

gnutls_datum_t datum_of(const std::string& s) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          static_cast<unsigned>(s.size())};
}

bool valid_alpn(const std::vector<std::string>& list, std::string* error) {
  if (list.empty()) {
    // RFC 9001 8.1: QUIC endpoints must agree on an application protocol through ALPN.
    if (error) *error = "ALPN list is empty";
    return false;
  }
  for (const auto& p : list) {
    if (p.empty() || p.size() > 255) {
      if (error) *error = "ALPN protocol name must be 1..255 bytes";
      return false;
    }
  }
  return true;
}

}  // namespace

// ClientHello identities seen inside the anti-replay window. Sessions on any thread add to it
// during handshakes only, so a mutex is fine. Bounded: when full of unexpired entries, new 0-RTT
// attempts are refused (the handshake still proceeds at 1-RTT).
struct TlsContext::ReplayCache {
  std::mutex mu;
  std::multimap<time_t, std::string> by_expiry;
  std::map<std::string, time_t, std::less<>> entries;
  size_t cap = 0;
};

int TlsContext::replay_add(void* ptr, time_t expires, const gnutls_datum_t* key,
                           const gnutls_datum_t*) {
  auto* c = static_cast<ReplayCache*>(ptr);
  std::lock_guard<std::mutex> lock(c->mu);
  time_t now = time(nullptr);
  while (!c->by_expiry.empty() && c->by_expiry.begin()->first < now) {
    c->entries.erase(c->by_expiry.begin()->second);
    c->by_expiry.erase(c->by_expiry.begin());
  }
  std::string k(reinterpret_cast<const char*>(key->data), key->size);
  if (c->entries.count(k)) return GNUTLS_E_DB_ENTRY_EXISTS;
  if (c->entries.size() >= c->cap) return GNUTLS_E_EARLY_DATA_REJECTED;
  c->entries.emplace(k, expires);
  c->by_expiry.emplace(expires, std::move(k));
  return 0;
}

TlsContext::~TlsContext() {
  if (anti_replay_) gnutls_anti_replay_deinit(anti_replay_);
  if (cred_) gnutls_certificate_free_credentials(cred_);
  if (ticket_key_.data) {
    // The ticket key protects every resumable session: wipe it before giving it back.
    gnutls_memset(ticket_key_.data, 0, ticket_key_.size);
    gnutls_free(ticket_key_.data);
  }
}

std::unique_ptr<TlsContext> TlsContext::server(const TlsServerConfig& cfg, std::string* error) {
  if (!valid_alpn(cfg.alpn, error)) return nullptr;
  std::unique_ptr<TlsContext> ctx(new TlsContext());
  ctx->role_ = Role::kServer;
  ctx->alpn_ = cfg.alpn;
  ctx->priority_ = cfg.priority;
  int rv = gnutls_certificate_allocate_credentials(&ctx->cred_);
  if (rv < 0) return fail(error, "allocating credentials", rv), nullptr;
  if (!cfg.cert_pem.empty()) {
    gnutls_datum_t c = datum_of(cfg.cert_pem);
    gnutls_datum_t k = datum_of(cfg.key_pem);
    rv = gnutls_certificate_set_x509_key_mem(ctx->cred_, &c, &k, GNUTLS_X509_FMT_PEM);
  } else {
    rv = gnutls_certificate_set_x509_key_file(ctx->cred_, cfg.cert_file.c_str(),
                                              cfg.key_file.c_str(), GNUTLS_X509_FMT_PEM);
  }
  if (rv < 0) return fail(error, "loading certificate and key", rv), nullptr;
  if (cfg.session_tickets) {
    rv = gnutls_session_ticket_key_generate(&ctx->ticket_key_);
    if (rv < 0) return fail(error, "generating the session ticket key", rv), nullptr;
  }
  if (cfg.early_data) {
    if (!cfg.session_tickets) {
      if (error) *error = "0-RTT needs session tickets";
      return nullptr;
    }
    ctx->early_data_ = true;
    ctx->replay_cache_ = std::make_unique<ReplayCache>();
    ctx->replay_cache_->cap = cfg.replay_cache_entries;
    rv = gnutls_anti_replay_init(&ctx->anti_replay_);
    if (rv < 0) return fail(error, "anti-replay", rv), nullptr;
    gnutls_anti_replay_set_add_function(ctx->anti_replay_, replay_add);
    gnutls_anti_replay_set_ptr(ctx->anti_replay_, ctx->replay_cache_.get());
  }
  return ctx;
}

std::unique_ptr<TlsContext> TlsContext::client(const TlsClientConfig& cfg, std::string* error) {
  if (!valid_alpn(cfg.alpn, error)) return nullptr;
  std::unique_ptr<TlsContext> ctx(new TlsContext());
  ctx->role_ = Role::kClient;
  ctx->alpn_ = cfg.alpn;
  ctx->priority_ = cfg.priority;
  ctx->verify_peer_ = !cfg.insecure_skip_verify;
  ctx->early_data_ = cfg.early_data;
  int rv = gnutls_certificate_allocate_credentials(&ctx->cred_);
  if (rv < 0) return fail(error, "allocating credentials", rv), nullptr;
  if (ctx->verify_peer_) {
    if (!cfg.ca_pem.empty()) {
      gnutls_datum_t ca = datum_of(cfg.ca_pem);
      rv = gnutls_certificate_set_x509_trust_mem(ctx->cred_, &ca, GNUTLS_X509_FMT_PEM);
    } else if (!cfg.ca_file.empty()) {
      rv = gnutls_certificate_set_x509_trust_file(ctx->cred_, cfg.ca_file.c_str(),
                                                  GNUTLS_X509_FMT_PEM);
    } else {
      rv = gnutls_certificate_set_x509_system_trust(ctx->cred_);
    }
    // The calls return how many certificates they loaded: none means nothing could verify.
    if (rv < 0) return fail(error, "loading trust anchors", rv), nullptr;
    if (rv == 0) {
      if (error) *error = "no trust anchors loaded";
      return nullptr;
    }
  }
  return ctx;
}

}  // namespace camp::quic
