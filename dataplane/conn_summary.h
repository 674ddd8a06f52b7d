// One connection as the control plane shows it (campctl conns / conn, /camp/conns, /camp/conn):
// a fixed-size plain record an endpoint fills between bursts when the control thread asks, so it
// crosses threads by copy with no pointer into the worker's state. Names are short fixed strings
// so the record stays independent of any one protocol's enums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "dataplane/endpoint.h"

namespace camp {

// A connection ID as bytes (QUIC allows up to 20).
struct ConnCid {
  uint8_t len = 0;
  uint8_t bytes[20] = {};
};

// One path of a connection (multipath QUIC; a single-path connection has one, ID 0).
struct PathSummary {
  uint32_t id = 0;            // the path ID
  char state[12] = {};        // "validating", "active", "failing", "abandoned"
  char local_status[12] = {}; // what we told the peer: "available", "backup"
  char peer_status[12] = {};  // what the peer told us
  Tuple tuple;                // local and remote address and port
  bool validated = false;
  bool rtt_sampled = false;
  uint64_t smoothed_rtt_ns = 0;
  uint64_t min_rtt_ns = 0;
  uint64_t cwnd = 0;            // bytes
  uint64_t bytes_in_flight = 0;
  uint64_t pacing_rate = 0;     // bytes per second
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;      // UDP payload bytes
  uint64_t packets_received = 0;
  uint64_t bytes_received = 0;
  uint64_t stream_bytes_sent = 0;
  uint64_t packets_lost = 0;
  uint64_t last_ack_age_ns = UINT64_MAX;  // since its last acknowledgement; UINT64_MAX: none yet
};

struct ConnSummary {
  uint64_t id = 0;  // the endpoint's connection id, unique within its worker
  char role[8] = {};       // "client", "server"
  char state[12] = {};     // "handshake", "confirmed", "closing", "draining", "closed"
  char alpn[16] = {};      // negotiated application protocol, cut to fit
  Tuple tuple;             // local and remote address and port of the (first) path
  uint64_t age_ns = 0;     // since the connection started
  uint64_t streams_open = 0;
  uint64_t key_generation = 0;  // 1-RTT key phase generation we send with
  bool handshake_complete = false;
  bool resumed = false;
  bool retried = false;
  bool address_validated = false;

  // Recovery and congestion control of the first path (RFC 9002). Times in nanoseconds; the RTT
  // figures mean something once rtt_sampled.
  bool rtt_sampled = false;
  uint64_t smoothed_rtt_ns = 0;
  uint64_t min_rtt_ns = 0;
  uint64_t latest_rtt_ns = 0;
  uint64_t rttvar_ns = 0;
  uint64_t cwnd = 0;               // bytes
  uint64_t bytes_in_flight = 0;
  uint64_t ssthresh = 0;           // loss-based controllers; UINT64_MAX while unset
  uint64_t pacing_rate = 0;        // bytes per second, overrides applied
  uint64_t bandwidth_estimate = 0; // bytes per second, the controller's own estimate
  uint64_t pto_backoff = 0;        // consecutive PTOs without an ACK (the backoff exponent)
  char cc[8] = {};                 // "cubic", "newreno", "bbr"
  char cc_state[24] = {};          // e.g. "slow_start", "ProbeBW_UP"

  // The figures of the list.
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;
  uint64_t bytes_sent = 0;  // UDP payload bytes
  uint64_t bytes_received = 0;
  uint64_t packets_lost = 0;

  // Every counter the connection keeps (for QUIC: each field of quic::ConnStats), named by
  // counter_names[i]: a table in static, immutable storage of the endpoint's code, so the
  // pointer stays valid and safe to read from any thread.
  static constexpr size_t kMaxCounters = 40;
  uint32_t counter_count = 0;
  const char* const* counter_names = nullptr;
  uint64_t counters[kMaxCounters] = {};

  // Multipath (draft-ietf-quic-multipath-21): the paths held, in path ID order; more than
  // kMaxPaths: path_count says how many, the first kMaxPaths are listed.
  bool multipath = false;      // both sides sent initial_max_path_id
  char scheduler[12] = {};     // "minrtt", "rr", "redundant"
  static constexpr size_t kMaxPaths = 8;
  uint32_t path_count = 0;
  PathSummary paths[kMaxPaths];

  ConnCid original_dcid;  // the client's first Destination Connection ID
  ConnCid local_cid;      // the Source Connection ID we gave in the handshake
  ConnCid peer_cid;       // the Destination Connection ID we send to now

  // How it ended (when closed): set once the connection is closing, draining or closed.
  bool closed = false;
  bool closed_by_peer = false;
  bool close_application = false;  // an application error code (CONNECTION_CLOSE 0x1d)
  bool close_idle_timeout = false;
  bool close_stateless_reset = false;
  uint64_t close_error_code = 0;
  char close_reason[64] = {};  // cut to fit
};

static_assert(std::is_trivially_copyable_v<ConnSummary>,
              "ConnSummary crosses threads by plain copy");

// Copies s into a fixed char field, cutting it to fit and always terminating it.
template <size_t N>
inline void set_summary_text(char (&field)[N], const char* s, size_t len) {
  const size_t n = len < N - 1 ? len : N - 1;
  if (n) std::memcpy(field, s, n);
  std::memset(field + n, 0, N - n);
}
template <size_t N>
inline void set_summary_text(char (&field)[N], const char* s) {
  set_summary_text(field, s, s ? std::strlen(s) : 0);
}

}  // namespace camp
