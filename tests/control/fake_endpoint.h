// An endpoint with made-up connections for the control tests: snapshot_connections() reports
// `count` connections with ids first_id, first_id + 2, ... whose figures derive from the id, so a
// test can tell which connection (and which worker) a line came from.
#pragma once

#include <atomic>
#include <cstdint>

#include "dataplane/conn_summary.h"
#include "dataplane/endpoint.h"

namespace camp::testing {

inline constexpr const char* kFakeCounterNames[] = {"packets_sent", "bytes_sent", "pto_count"};

class FakeConnEndpoint final : public Endpoint {
 public:
  FakeConnEndpoint(uint64_t first_id, uint32_t count, uint64_t salt)
      : first_id_(first_id), salt_(salt), count_(count) {}

  void on_datagrams(const RxDatagram*, size_t, uint64_t, TxBatch&, WorkerStats&) override {}
  uint64_t on_timer(uint64_t, TxBatch&, WorkerStats&) override { return kNever; }

  size_t snapshot_connections(ConnSummary* out, size_t cap, uint64_t now_ns,
                              uint64_t only) override {
    const uint64_t call = calls_.fetch_add(1) + 1;
    last_only_.store(only);
    const uint32_t count = count_.load();
    size_t n = 0;
    for (uint32_t i = 0; i < count; ++i) {
      const uint64_t id = first_id_ + 2 * i;
      if (only != 0 && only != id) continue;
      if (n < cap) fill(out[n], id, call);
      ++n;
    }
    return n;
  }

  // Figures of connection `id` (the tests check these exact values).
  uint64_t bytes_sent(uint64_t id) const { return id * 1000 + salt_; }
  uint64_t bytes_received(uint64_t id) const { return id * 100 + salt_; }
  uint64_t srtt_ns(uint64_t id) const { return 1'000'000 + id * 1000; }
  uint64_t path_srtt_ns(uint64_t id, uint32_t k) const { return 2'000'000 + id * 1000 + k; }

  void set_count(uint32_t n) { count_.store(n); }
  uint64_t calls() const { return calls_.load(); }
  uint64_t last_only() const { return last_only_.load(); }
  const char* close_reason = "";  // set before the worker starts

 private:
  // `call` (1 for the first snapshot taken) goes into bandwidth_estimate, so a test can tell
  // which request an answer belongs to.
  void fill(ConnSummary& s, uint64_t id, uint64_t call) const {
    s = ConnSummary{};
    s.id = id;
    set_summary_text(s.role, "server");
    set_summary_text(s.state, "confirmed");
    set_summary_text(s.alpn, "hq-interop");
    const uint8_t local[4] = {198, 18, 0, 1}, remote[4] = {198, 18, 0, 2};
    s.tuple.local = IpAddr::v4(local);
    s.tuple.remote = IpAddr::v4(remote);
    s.tuple.local_port = 443;
    s.tuple.remote_port = static_cast<uint16_t>(40000 + id);
    s.age_ns = 2'500'000'000;
    s.streams_open = 3;
    s.key_generation = 2;
    s.handshake_complete = true;
    s.address_validated = true;
    s.rtt_sampled = true;
    s.smoothed_rtt_ns = srtt_ns(id);
    s.min_rtt_ns = 900'000;
    s.latest_rtt_ns = 1'100'000;
    s.rttvar_ns = 250'000;
    s.cwnd = 14720 + id;
    s.bytes_in_flight = 1200;
    s.ssthresh = UINT64_MAX;
    s.pacing_rate = 5'000'000;
    s.bandwidth_estimate = call;
    s.pto_backoff = 1;
    set_summary_text(s.cc, "cubic");
    set_summary_text(s.cc_state, "slow_start");
    s.packets_sent = id * 10 + salt_;
    s.packets_received = id * 9 + salt_;
    s.bytes_sent = bytes_sent(id);
    s.bytes_received = bytes_received(id);
    s.packets_lost = 4;
    s.counter_count = 3;
    s.counter_names = kFakeCounterNames;
    s.counters[0] = s.packets_sent;
    s.counters[1] = s.bytes_sent;
    s.counters[2] = 7;
    s.original_dcid.len = 4;
    const uint8_t cid[4] = {0xde, 0xad, 0xbe, 0xef};
    for (int i = 0; i < 4; ++i) s.original_dcid.bytes[i] = cid[i];
    set_summary_text(s.close_reason, close_reason);
    // Two paths: path k's figures derive from the id and k.
    s.multipath = true;
    set_summary_text(s.scheduler, "minrtt");
    s.path_count = 2;
    for (uint32_t k = 0; k < 2; ++k) {
      PathSummary& p = s.paths[k];
      p.id = k;
      set_summary_text(p.state, "active");
      set_summary_text(p.local_status, k ? "backup" : "available");
      set_summary_text(p.peer_status, "available");
      p.tuple = s.tuple;
      p.tuple.remote_port = static_cast<uint16_t>(s.tuple.remote_port + 1000 * k);
      p.validated = p.rtt_sampled = true;
      p.smoothed_rtt_ns = path_srtt_ns(id, k);
      p.bytes_sent = id * 100 + k;
      p.last_ack_age_ns = k ? UINT64_MAX : 5'000'000;
    }
  }

  const uint64_t first_id_, salt_;
  std::atomic<uint32_t> count_;
  std::atomic<uint64_t> calls_{0}, last_only_{0};
};

}  // namespace camp::testing
