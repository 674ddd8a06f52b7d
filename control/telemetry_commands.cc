#include "control/telemetry_commands.h"

#include <rte_telemetry.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <algorithm>
#include <cstring>
#include <mutex>

#include "control/commands.h"
#include "control/conn_format.h"
#include "control/control_plane.h"
#include "control/stats_format.h"

namespace camp::control {
namespace {

std::mutex g_mu;  // guards g_cp and is held for the whole of a call
ControlPlane* g_cp = nullptr;
bool g_registered = false;

// Telemetry keeps strings in fixed 128-byte slots; cut ours to fit rather than fail.
void add_str(rte_tel_data* d, const char* name, const std::string& v) {
  const std::string cut = v.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
  rte_tel_data_add_dict_string(d, name, cut.c_str());
}

// Counters with telemetry-safe names: drops appear as drop_<reason>.
void add_counters(rte_tel_data* d, const WorkerStats& s) {
  for (const auto& f : kStatFields)
    rte_tel_data_add_dict_u64(d, std::string(f.name).c_str(), s.*f.member);
  rte_tel_data_add_dict_u64(d, "dropped", s.dropped());
  for (size_t i = 0; i < kDropReasonCount; ++i) {
    const std::string name = "drop_" + std::string(drop_reason_name(static_cast<DropReason>(i)));
    rte_tel_data_add_dict_u64(d, name.c_str(), s.drops[i]);
  }
}

// "/camp/ports,3" → 3; false when params are absent.
bool param_index(const char* params, size_t* out, bool* given) {
  *given = params && *params;
  if (!*given) return true;
  const char* end = params + std::strlen(params);
  const auto [p, ec] = std::from_chars(params, end, *out, 10);
  return ec == std::errc() && p == end;
}

int cb_stats(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  const Sample s = g_cp->sample();
  rte_tel_data_start_dict(d);
  add_counters(d, total_of(s.workers));
  uint64_t stale = 0;
  for (const uint8_t x : s.stale) stale += x;
  rte_tel_data_add_dict_u64(d, "workers", s.workers.size());
  rte_tel_data_add_dict_u64(d, "stale_workers", stale);
  return 0;
}

int cb_status(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  const EngineInfo& info = g_cp->info();
  const Sample s = g_cp->sample();
  const WorkerStats t = total_of(s.workers);
  rte_tel_data_start_dict(d);
  add_str(d, "version", info.version);
  rte_tel_data_add_dict_u64(d, "pid", static_cast<uint64_t>(getpid()));
  rte_tel_data_add_dict_u64(d, "uptime_s", static_cast<uint64_t>(g_cp->uptime_s()));
  add_str(d, "endpoint", info.endpoint);
  rte_tel_data_add_dict_u64(d, "udp_port", info.udp_port);
  rte_tel_data_add_dict_u64(d, "ports", info.ports.size());
  rte_tel_data_add_dict_u64(d, "workers", s.workers.size());
  add_str(d, "eal_args", info.eal_args);
  add_str(d, "log_level", std::string(log_level_name(current_log_level())));
  rte_tel_data_add_dict_u64(d, "rx_packets", t.rx_packets);
  rte_tel_data_add_dict_u64(d, "tx_packets", t.tx_packets);
  rte_tel_data_add_dict_u64(d, "dropped", t.dropped());
  return 0;
}

int cb_ports(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  const EngineInfo& info = g_cp->info();
  size_t want = 0;
  bool given = false;
  if (!param_index(params, &want, &given)) return -EINVAL;
  if (!given) {  // like /ethdev/list: the ids; /camp/ports,ID gives one port
    rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
    for (const PortInfo& p : info.ports) rte_tel_data_add_array_u64(d, p.port_id);
    return 0;
  }
  for (const PortInfo& p : info.ports) {
    if (p.port_id != want) continue;
    PortCounters c;
    const bool have = port_counters(info, p.port_id, &c);
    std::string addrs;
    for (const auto& a : p.addresses) addrs += (addrs.empty() ? "" : " ") + a;
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "port", p.port_id);
    add_str(d, "name", p.name);
    add_str(d, "driver", p.driver);
    add_str(d, "mac", p.mac);
    add_str(d, "addresses", addrs);
    rte_tel_data_add_dict_u64(d, "rx_queues", p.rx_queues);
    rte_tel_data_add_dict_u64(d, "tx_queues", p.tx_queues);
    rte_tel_data_add_dict_u64(d, "rss", p.rss);
    rte_tel_data_add_dict_u64(d, "ip_cksum_offload", p.ip_cksum_offload);
    rte_tel_data_add_dict_u64(d, "l4_cksum_offload", p.l4_cksum_offload);
    rte_tel_data_add_dict_u64(d, "counters_available", have);
    rte_tel_data_add_dict_u64(d, "link_up", c.link_up);
    rte_tel_data_add_dict_u64(d, "link_speed_mbps", c.link_speed_mbps);
    rte_tel_data_add_dict_u64(d, "ipackets", c.ipackets);
    rte_tel_data_add_dict_u64(d, "opackets", c.opackets);
    rte_tel_data_add_dict_u64(d, "ibytes", c.ibytes);
    rte_tel_data_add_dict_u64(d, "obytes", c.obytes);
    rte_tel_data_add_dict_u64(d, "imissed", c.imissed);
    rte_tel_data_add_dict_u64(d, "ierrors", c.ierrors);
    rte_tel_data_add_dict_u64(d, "oerrors", c.oerrors);
    rte_tel_data_add_dict_u64(d, "rx_nombuf", c.rx_nombuf);
    return 0;
  }
  return -EINVAL;
}

int cb_workers(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  size_t want = 0;
  bool given = false;
  if (!param_index(params, &want, &given)) return -EINVAL;
  if (!given) {
    rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
    for (size_t w = 0; w < g_cp->worker_count(); ++w) rte_tel_data_add_array_u64(d, w);
    return 0;
  }
  if (want >= g_cp->worker_count()) return -EINVAL;
  const Sample s = g_cp->sample();
  const WorkerTelemetry& t = s.workers[want];
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "worker", want);
  rte_tel_data_add_dict_int(d, "lcore", static_cast<int>(lcore_of(g_cp->info(), want)));
  rte_tel_data_add_dict_u64(d, "stale", s.stale[want]);
  add_counters(d, t.stats);
  // Prefixed: the idle_polls setting and the idle_polls counter are different things.
  for (const auto& k : kWorkerKeys) {
    const std::string name = "setting_" + std::string(k.name);
    if (k.names.empty())
      rte_tel_data_add_dict_u64(d, name.c_str(), t.settings.get(k.key));
    else
      add_str(d, name.c_str(), worker_value_text(k, t.settings.get(k.key)));
  }
  return 0;
}

// A column of /camp/conns: one value per connection, in list order.
rte_tel_data* column(rte_tel_value_type type) {
  rte_tel_data* c = rte_tel_data_alloc();
  if (c) rte_tel_data_start_array(c, type);
  return c;
}

// Columns, not one dict per connection: telemetry nests only arrays of plain values.
int cb_conns(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  if (params && *params) return -EINVAL;
  const ConnListing l = g_cp->connections();
  const size_t n = std::min<size_t>(l.conns.size(), RTE_TEL_MAX_ARRAY_ENTRIES);
  uint64_t total = 0, unanswered = 0;
  for (size_t w = 0; w < l.asked.size(); ++w) {
    total += l.matched[w];
    unanswered += !l.answered[w];
  }
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "count", total);
  rte_tel_data_add_dict_u64(d, "listed", n);
  rte_tel_data_add_dict_u64(d, "unanswered_workers", unanswered);
  struct TextColumn {
    const char* name;
    std::string (*get)(const ConnEntry&);
  };
  const TextColumn texts[] = {
      {"id", [](const ConnEntry& e) { return conn_id_text(e.worker, e.s.id); }},
      {"role", [](const ConnEntry& e) { return summary_text(e.s.role, sizeof e.s.role); }},
      {"state", [](const ConnEntry& e) { return summary_text(e.s.state, sizeof e.s.state); }},
      {"remote",
       [](const ConnEntry& e) { return address_text(e.s.tuple.remote, e.s.tuple.remote_port); }},
  };
  for (const auto& t : texts) {
    rte_tel_data* c = column(RTE_TEL_STRING_VAL);
    if (!c) return -ENOMEM;
    for (size_t i = 0; i < n; ++i) rte_tel_data_add_array_string(c, t.get(l.conns[i]).c_str());
    rte_tel_data_add_dict_container(d, t.name, c, 0);
  }
  struct NumColumn {
    const char* name;
    uint64_t (*get)(const ConnEntry&);
  };
  const NumColumn nums[] = {
      {"worker", [](const ConnEntry& e) -> uint64_t { return e.worker; }},
      {"smoothed_rtt_ns", [](const ConnEntry& e) { return e.s.smoothed_rtt_ns; }},
      {"cwnd", [](const ConnEntry& e) { return e.s.cwnd; }},
      {"bytes_sent", [](const ConnEntry& e) { return e.s.bytes_sent; }},
      {"packets_sent", [](const ConnEntry& e) { return e.s.packets_sent; }},
      {"bytes_received", [](const ConnEntry& e) { return e.s.bytes_received; }},
      {"packets_received", [](const ConnEntry& e) { return e.s.packets_received; }},
      {"packets_lost", [](const ConnEntry& e) { return e.s.packets_lost; }},
      {"streams_open", [](const ConnEntry& e) { return e.s.streams_open; }},
      {"key_generation", [](const ConnEntry& e) { return e.s.key_generation; }},
      {"age_ns", [](const ConnEntry& e) { return e.s.age_ns; }},
  };
  for (const auto& f : nums) {
    rte_tel_data* c = column(RTE_TEL_U64_VAL);
    if (!c) return -ENOMEM;
    for (size_t i = 0; i < n; ++i) rte_tel_data_add_array_u64(c, f.get(l.conns[i]));
    rte_tel_data_add_dict_container(d, f.name, c, 0);
  }
  return 0;
}

// /camp/conn,W:N: every figure of one connection, named as in campctl conn --json (flat).
int cb_conn(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  uint32_t worker = 0;
  uint64_t id = 0;
  std::string err;
  if (!params || !parse_conn_id(params, &worker, &id, &err)) return -EINVAL;
  if (worker >= g_cp->worker_count()) return -EINVAL;
  const ConnListing l = g_cp->connections(worker, id);
  if (l.conns.empty()) return -EINVAL;  // no such connection, or the worker did not answer
  rte_tel_data_start_dict(d);
  for (const ConnField& f : conn_fields(l.conns.front())) {
    const std::string name = conn_field_key(f);
    switch (f.kind) {
      case ConnField::Kind::text:
        add_str(d, name.c_str(), f.s);
        break;
      case ConnField::Kind::none:
        break;  // telemetry has no null: left out
      default:
        rte_tel_data_add_dict_u64(d, name.c_str(), f.u);
    }
  }
  return 0;
}

// /camp/paths[,W:N]: one row per path of every connection (or of one), as columns like
// /camp/conns; "conn" names the connection. The columns are path_fields' figures; a figure with
// no value (no ACK yet) reads UINT64_MAX.
int cb_paths(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (!g_cp) return -ENODEV;
  ConnListing l;
  if (params && *params) {
    uint32_t worker = 0;
    uint64_t id = 0;
    std::string err;
    if (!parse_conn_id(params, &worker, &id, &err) || worker >= g_cp->worker_count())
      return -EINVAL;
    l = g_cp->connections(worker, id);
    if (l.conns.empty()) return -EINVAL;
  } else {
    l = g_cp->connections();
  }
  struct Row {
    std::string conn;
    std::vector<ConnField> fields;
  };
  std::vector<Row> rows;
  for (const ConnEntry& e : l.conns) {
    const uint32_t n = std::min<uint32_t>(e.s.path_count, ConnSummary::kMaxPaths);
    for (uint32_t i = 0; i < n && rows.size() < RTE_TEL_MAX_ARRAY_ENTRIES; ++i)
      rows.push_back(Row{conn_id_text(e.worker, e.s.id), path_fields(e.s.paths[i])});
  }
  PathSummary named;
  named.last_ack_age_ns = 0;  // every figure with a value: the column names and kinds
  const std::vector<ConnField> columns = path_fields(named);
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "listed", rows.size());
  rte_tel_data* conn = column(RTE_TEL_STRING_VAL);
  if (!conn) return -ENOMEM;
  for (const Row& r : rows) rte_tel_data_add_array_string(conn, r.conn.c_str());
  rte_tel_data_add_dict_container(d, "conn", conn, 0);
  for (size_t f = 0; f < columns.size(); ++f) {
    const bool text = columns[f].kind == ConnField::Kind::text;
    rte_tel_data* c = column(text ? RTE_TEL_STRING_VAL : RTE_TEL_U64_VAL);
    if (!c) return -ENOMEM;
    for (const Row& r : rows) {
      const ConnField& v = r.fields[f];
      if (text)
        rte_tel_data_add_array_string(c, v.s.substr(0, RTE_TEL_MAX_STRING_LEN - 1).c_str());
      else
        rte_tel_data_add_array_u64(c, v.kind == ConnField::Kind::none ? UINT64_MAX : v.u);
    }
    rte_tel_data_add_dict_container(d, conn_field_key(columns[f]).c_str(), c, 0);
  }
  return 0;
}

}  // namespace

bool telemetry_attach(ControlPlane* cp, std::string* err) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_cp && g_cp != cp) {
    *err = "the /camp/* telemetry commands are already served by another control plane";
    return false;
  }
  if (!g_registered) {
    struct {
      const char* cmd;
      telemetry_cb fn;
      const char* help;
    } const cmds[] = {
        {"/camp/stats", cb_stats, "camp: engine totals and drops by reason. No parameters"},
        {"/camp/status", cb_status, "camp: version, uptime, endpoint, counts. No parameters"},
        {"/camp/ports", cb_ports,
         "camp: port ids, or one port's info and counters. Parameter: port id"},
        {"/camp/workers", cb_workers,
         "camp: worker ids, or one worker's counters and settings. "
         "Parameter: worker id"},
        {"/camp/conns", cb_conns,
         "camp: live connections, one column per figure. No parameters"},
        {"/camp/conn", cb_conn,
         "camp: every figure of one connection. Parameter: connection id WORKER:ID"},
        {"/camp/paths", cb_paths,
         "camp: every path of every connection, one column per figure. "
         "Parameter (optional): connection id WORKER:ID"},
    };
    for (const auto& c : cmds) {
      const int r = rte_telemetry_register_cmd(c.cmd, c.fn, c.help);
      if (r != 0) {
        *err = std::string("cannot register telemetry command ") + c.cmd + ": " + std::strerror(-r);
        return false;
      }
    }
    g_registered = true;
  }
  g_cp = cp;
  return true;
}

void telemetry_detach(ControlPlane* cp) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_cp == cp) g_cp = nullptr;
}

}  // namespace camp::control
