// QuicEndpoint::snapshot_connections: what campctl conns / conn show of each live connection.
// Runs on the worker between bursts when the control thread asks; it reads the connections and
// writes fixed-size records, allocating nothing.
#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>

#include "dataplane/conn_summary.h"
#include "dataplane/quic/conn/quic_endpoint.h"
#include "dataplane/quic/recovery/bbr.h"
#include "dataplane/quic/recovery/loss_based_controller.h"

namespace camp::quic {
namespace {

struct CounterField {
  const char* name;
  uint64_t ConnStats::*member;
};

// Every ConnStats counter, in its order; the names are those of the fields.
constexpr CounterField kCounterFields[] = {
    {"packets_sent", &ConnStats::packets_sent},
    {"packets_received", &ConnStats::packets_received},
    {"packets_decrypted", &ConnStats::packets_decrypted},
    {"bytes_sent", &ConnStats::bytes_sent},
    {"bytes_received", &ConnStats::bytes_received},
    {"packets_lost", &ConnStats::packets_lost},
    {"packets_acked", &ConnStats::packets_acked},
    {"stream_bytes_sent", &ConnStats::stream_bytes_sent},
    {"stream_bytes_retransmitted", &ConnStats::stream_bytes_retransmitted},
    {"data_only_packets", &ConnStats::data_only_packets},
    {"sealed_from_send_buffer", &ConnStats::sealed_from_send_buffer},
    {"datagrams_sent", &ConnStats::datagrams_sent},
    {"datagrams_received", &ConnStats::datagrams_received},
    {"datagrams_dropped", &ConnStats::datagrams_dropped},
    {"key_updates", &ConnStats::key_updates},
    {"pto_count", &ConnStats::pto_count},
    {"migrations", &ConnStats::migrations},
    {"path_validations", &ConnStats::path_validations},
    {"path_validation_failures", &ConnStats::path_validation_failures},
    {"previous_path_validations", &ConnStats::previous_path_validations},
    {"path_challenges_answered", &ConnStats::path_challenges_answered},
    {"path_challenges_sent", &ConnStats::path_challenges_sent},
    {"path_responses_unmatched", &ConnStats::path_responses_unmatched},
    {"drop_early_migration", &ConnStats::drop_early_migration},
    {"drop_unknown_server_address", &ConnStats::drop_unknown_server_address},
    {"paths_opened", &ConnStats::paths_opened},
    {"paths_abandoned", &ConnStats::paths_abandoned},
    {"failovers", &ConnStats::failovers},
    {"redundant_packets", &ConnStats::redundant_packets},
    {"path_status_stale", &ConnStats::path_status_stale},
    {"drop_unknown_path", &ConnStats::drop_unknown_path},
    {"drop_decrypt", &ConnStats::drop_decrypt},
    {"drop_duplicate", &ConnStats::drop_duplicate},
    {"drop_header", &ConnStats::drop_header},
    {"drop_no_keys", &ConnStats::drop_no_keys},
    {"drop_wrong_cid", &ConnStats::drop_wrong_cid},
};
constexpr size_t kCounterCount = std::size(kCounterFields);
// A counter added to ConnStats must be added above, or campctl conn would silently omit it.
static_assert(sizeof(ConnStats) == kCounterCount * sizeof(uint64_t),
              "ConnStats changed: list every counter in kCounterFields");
static_assert(kCounterCount <= ConnSummary::kMaxCounters, "raise ConnSummary::kMaxCounters");

// The names as ConnSummary::counter_names wants them: static storage, never written.
constexpr auto kCounterNames = [] {
  std::array<const char*, kCounterCount> a{};
  for (size_t i = 0; i < kCounterCount; ++i) a[i] = kCounterFields[i].name;
  return a;
}();

void copy_cid(ConnCid& out, const ConnectionId& cid) {
  out.len = static_cast<uint8_t>(std::min<size_t>(cid.length, sizeof out.bytes));
  std::memcpy(out.bytes, cid.bytes.data(), out.len);
}

const char* role_name(Role r) {
  switch (r) {
    case Role::kClient: return "client";
    case Role::kServer: return "server";
    case Role::kUnknown: break;
  }
  return "unknown";
}

// The controller's phase: BBR's state machine, or slow start / congestion avoidance.
const char* cc_state_name(const CongestionController& cc) {
  if (const auto* bbr = dynamic_cast<const Bbr*>(&cc)) return to_string(bbr->state());
  if (const auto* lb = dynamic_cast<const LossBasedController*>(&cc))
    return lb->in_slow_start() ? "slow_start" : "congestion_avoidance";
  return "";
}

const char* path_state_name(const Connection::PathInfo& p) {
  if (p.abandoned) return "abandoned";
  if (!p.validated) return "validating";
  return p.failing ? "failing" : "active";
}

void summarise_path(const Connection::PathInfo& p, uint64_t now, PathSummary& s) {
  s.id = p.path_id;
  set_summary_text(s.state, path_state_name(p));
  set_summary_text(s.local_status, p.local_backup ? "backup" : "available");
  set_summary_text(s.peer_status, p.peer_backup ? "backup" : "available");
  s.tuple = p.tuple;
  s.validated = p.validated;
  if (const PathRecovery* rec = p.recovery) {
    s.rtt_sampled = rec->rtt().has_sample();
    s.smoothed_rtt_ns = rec->rtt().smoothed();
    s.min_rtt_ns = rec->rtt().min();
    s.cwnd = rec->cc().cwnd();
    s.bytes_in_flight = rec->bytes_in_flight();
    const double pacing = rec->cc().pacing_rate(now);
    s.pacing_rate = pacing > 0 ? static_cast<uint64_t>(pacing) : 0;
  }
  s.packets_sent = p.packets_sent;
  s.bytes_sent = p.bytes_sent;
  s.packets_received = p.packets_received;
  s.bytes_received = p.bytes_received;
  s.stream_bytes_sent = p.stream_bytes_sent;
  s.packets_lost = p.packets_lost;
  s.last_ack_age_ns = p.last_ack_time == kNever ? UINT64_MAX
                      : now > p.last_ack_time   ? now - p.last_ack_time
                                                : 0;
}

void summarise(const Connection& c, uint64_t now, ConnSummary& s) {
  s = ConnSummary{};
  s.id = c.id();
  set_summary_text(s.role, role_name(c.role()));
  set_summary_text(s.state, to_string(c.state()));
  if (const TlsSession* tls = c.tls()) {
    set_summary_text(s.alpn, tls->alpn().data(), tls->alpn().size());
    s.resumed = tls->resumed();
  }
  s.tuple = c.tuple();
  const PathRecovery& rec = c.recovery();
  const RttEstimator& rtt = rec.rtt();
  const TimeNs start = c.created_at();  // kNever only before connect() / accept()
  s.age_ns = start != kNever && now > start ? now - start : 0;
  s.streams_open = c.streams().stream_count();
  s.key_generation = c.key_generation();
  s.handshake_complete = c.handshake_complete();
  s.retried = c.retried();
  s.address_validated = c.peer_address_validated();

  s.rtt_sampled = rtt.has_sample();
  s.smoothed_rtt_ns = rtt.smoothed();
  s.min_rtt_ns = rtt.min();
  s.latest_rtt_ns = rtt.latest();
  s.rttvar_ns = rtt.rttvar();
  const CongestionController& cc = rec.cc();
  s.cwnd = cc.cwnd();
  s.bytes_in_flight = rec.bytes_in_flight();
  const auto* lb = dynamic_cast<const LossBasedController*>(&cc);
  s.ssthresh = lb ? lb->ssthresh() : 0;
  const double pacing = cc.pacing_rate(now), bwe = cc.bandwidth_estimate();
  s.pacing_rate = pacing > 0 ? static_cast<uint64_t>(pacing) : 0;
  s.bandwidth_estimate = bwe > 0 ? static_cast<uint64_t>(bwe) : 0;
  s.pto_backoff = rec.pto_count();
  set_summary_text(s.cc, cc.name());
  set_summary_text(s.cc_state, cc_state_name(cc));

  const ConnStats& st = c.stats();
  s.packets_sent = st.packets_sent;
  s.packets_received = st.packets_received;
  s.bytes_sent = st.bytes_sent;
  s.bytes_received = st.bytes_received;
  s.packets_lost = st.packets_lost;
  s.counter_count = static_cast<uint32_t>(kCounterCount);
  s.counter_names = kCounterNames.data();
  for (size_t i = 0; i < kCounterCount; ++i) s.counters[i] = st.*kCounterFields[i].member;

  s.multipath = c.multipath();
  set_summary_text(s.scheduler, to_string(c.scheduler()));
  std::array<Connection::PathInfo, ConnSummary::kMaxPaths> paths;
  s.path_count = static_cast<uint32_t>(c.paths(paths));
  for (size_t i = 0; i < std::min<size_t>(s.path_count, paths.size()); ++i)
    summarise_path(paths[i], now, s.paths[i]);

  copy_cid(s.original_dcid, c.original_dcid());
  copy_cid(s.local_cid, c.local_cid());
  copy_cid(s.peer_cid, c.peer_cid());

  const CloseInfo& ci = c.close_info();
  s.closed = ci.closed;
  s.closed_by_peer = ci.by_peer;
  s.close_application = ci.application;
  s.close_idle_timeout = ci.idle_timeout;
  s.close_stateless_reset = ci.stateless_reset;
  s.close_error_code = ci.error_code;
  set_summary_text(s.close_reason, ci.reason.data(), ci.reason.size());
}

}  // namespace

size_t QuicEndpoint::snapshot_connections(ConnSummary* out, size_t cap, uint64_t now_ns,
                                          uint64_t only) {
  if (only != 0) {
    const Connection* c = find(only);
    if (!c) return 0;
    if (cap > 0) summarise(*c, now_ns, out[0]);
    return 1;
  }
  size_t n = 0;
  for (const uint32_t h : live_) {
    if (n < cap) summarise(*slots_[h].conn, now_ns, out[n]);
    ++n;
  }
  return n;
}

}  // namespace camp::quic
