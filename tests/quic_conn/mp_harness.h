// Multipath on the simulator for tests: both sides offering initial_max_path_id, and a client
// with a second address and path that opens a path from it once the handshake is confirmed.
#pragma once

#include <algorithm>
#include <vector>

#include "tests/quic_conn/conn_harness.h"

namespace camp::quic::test_conn {

inline constexpr uint64_t kOfferedMaxPathId = 3;

inline HarnessOptions mp_options(uint64_t server_max_path_id = kOfferedMaxPathId) {
  HarnessOptions o;
  o.server_cfg = [server_max_path_id](QuicEndpointConfig& c) {
    c.conn.local_tp.initial_max_path_id = server_max_path_id;
  };
  return o;
}

inline ConnectionConfig mp_client(uint64_t max_path_id = kOfferedMaxPathId) {
  ConnectionConfig cc;
  cc.local_tp = default_tp();
  cc.local_tp.initial_max_path_id = max_path_id;
  return cc;
}

// Receive windows for aggregation: above the sum of the paths' BDPs plus the reordering spread
// between a fast and a slow path (one stream's bytes wait for the slow path's to fill the gaps).
inline ConnectionConfig mp_bulk_client() {
  ConnectionConfig cc = mp_client();
  cc.local_tp.initial_max_data = 16 << 20;
  cc.local_tp.initial_max_stream_data_bidi_local = 4 << 20;
  return cc;
}

inline std::vector<Connection::PathInfo> paths_of(const Connection& c) {
  std::vector<Connection::PathInfo> v(kMaxCidPaths);
  v.resize(std::min<size_t>(c.paths(v), v.size()));
  return v;
}

inline const Connection::PathInfo* info(const std::vector<Connection::PathInfo>& v, uint32_t id) {
  for (const auto& p : v) {
    if (p.path_id == id) return &p;
  }
  return nullptr;
}

// A harness whose client has a second address with its own path to the server, and opens a
// path from it as soon as the handshake is confirmed.
struct TwoPaths {
  TwoPaths(uint64_t want, LinkConfig first, LinkConfig second, HarnessOptions o = mp_options())
      : h(want, with_link(o, first)) {
    EXPECT_TRUE(h.sim.add_address(h.cn, cli2));
    second_path = h.sim.add_path(cli2, h.srv_addr, second, second);
    h.client_proxy.poll_ns = 2 * kMillisecond;
    h.client_app.hook = [this](Connection& c, TimeNs now) {
      if (!open_second || opened || !c.established()) return;
      opened = true;
      result = c.open_path(tuple_from(cli2, h.srv_addr), now, &path_id);
    };
  }
  static HarnessOptions with_link(HarnessOptions o, const LinkConfig& l) {
    o.link = l;
    return o;
  }
  // Time the second path became usable on the client (validated), and bytes received then.
  bool run_until_validated(Connection* c, TimeNs limit) {
    return h.sim.run_until([&] {
      const auto v = paths_of(*c);
      const Connection::PathInfo* p = info(v, path_id);
      if (!opened || !p || !p->validated) return false;
      validated_at = h.sim.now();
      bytes_at_validation = h.client_app.received;
      return true;
    }, limit);
  }

  Harness h;
  const Address cli2 = Address::v4(198, 18, 0, 3, 40000);
  sim::Path second_path;
  bool open_second = true;
  bool opened = false;
  Connection::OpenPathResult result = Connection::OpenPathResult::kNotConfirmed;
  uint32_t path_id = 0;
  TimeNs validated_at = 0;
  uint64_t bytes_at_validation = 0;
};

}  // namespace camp::quic::test_conn
