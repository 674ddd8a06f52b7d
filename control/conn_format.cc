#include "control/conn_format.h"

#include <arpa/inet.h>

#include <charconv>
#include <cinttypes>
#include <cstdio>

#include "control/stats_format.h"

namespace camp::control {
namespace {

template <size_t N>
std::string fixed_text(const char (&field)[N]) {
  return summary_text(field, N);
}

std::string cid_hex(const ConnCid& c) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t n = c.len < sizeof c.bytes ? c.len : sizeof c.bytes;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[c.bytes[i] >> 4];
    out += kHex[c.bytes[i] & 15];
  }
  return out.empty() ? "-" : out;
}

std::string ms_text(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string age_text(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string value_text(const ConnField& f) {
  switch (f.kind) {
    case ConnField::Kind::u64:
      return *f.unit ? std::to_string(f.u) + ' ' + f.unit : std::to_string(f.u);
    case ConnField::Kind::ns: return ms_text(f.u);
    case ConnField::Kind::age: return age_text(f.u);
    case ConnField::Kind::text: return f.s.empty() ? "-" : f.s;
    case ConnField::Kind::flag: return f.u ? "yes" : "no";
    case ConnField::Kind::none: break;
  }
  return "-";
}

std::string value_json(const ConnField& f) {
  switch (f.kind) {
    case ConnField::Kind::u64:
    case ConnField::Kind::ns:
    case ConnField::Kind::age: return std::to_string(f.u);
    case ConnField::Kind::text: return json_string(f.s);
    case ConnField::Kind::flag: return f.u ? "true" : "false";
    case ConnField::Kind::none: break;
  }
  return "null";
}

constexpr const char* kGroups[] = {"recovery", "counters", "cids", "close"};

}  // namespace

std::string conn_field_key(const ConnField& f) {
  return f.kind == ConnField::Kind::ns || f.kind == ConnField::Kind::age ? f.name + "_ns" : f.name;
}

std::string conn_id_text(uint32_t worker, uint64_t id) {
  return std::to_string(worker) + ':' + std::to_string(id);
}

bool parse_conn_id(std::string_view text, uint32_t* worker, uint64_t* id, std::string* err) {
  const size_t colon = text.find(':');
  bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < text.size();
  if (ok) {
    const char* b = text.data();
    const char* e = b + text.size();
    const auto [p1, ec1] = std::from_chars(b, b + colon, *worker, 10);
    const auto [p2, ec2] = std::from_chars(b + colon + 1, e, *id, 10);
    ok = ec1 == std::errc() && p1 == b + colon && ec2 == std::errc() && p2 == e && *id != 0;
  }
  if (!ok)
    *err = "bad connection id '" + printable(text) +
           "' (want WORKER:ID as campctl conns lists it, e.g. 0:4294967296)";
  return ok;
}

std::string address_text(const IpAddr& a, uint16_t port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family == 4 && inet_ntop(AF_INET, a.bytes, buf, sizeof buf))
    return std::string(buf) + ':' + std::to_string(port);
  if (a.family == 6 && inet_ntop(AF_INET6, a.bytes, buf, sizeof buf))
    return '[' + std::string(buf) + "]:" + std::to_string(port);
  return "-";
}

std::string summary_text(const char* field, size_t cap) {
  size_t n = 0;
  while (n < cap && field[n] != '\0') ++n;
  return printable(std::string_view(field, n));
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

std::vector<ConnField> conn_fields(const ConnEntry& e) {
  using K = ConnField::Kind;
  const ConnSummary& s = e.s;
  std::vector<ConnField> f;
  auto add = [&](const char* group, std::string name, K kind, uint64_t u, std::string text = {},
                 const char* unit = "") {
    f.push_back(ConnField{group, std::move(name), kind, u, std::move(text), unit});
  };
  auto bytes = [&](const char* name, uint64_t v) {
    add("recovery", name, K::u64, v, {}, "bytes");
  };
  auto rate = [&](const char* name, uint64_t v) {
    add("recovery", name, K::u64, v, {}, "bytes/s");
  };
  add("", "id", K::text, 0, conn_id_text(e.worker, s.id));
  add("", "worker", K::u64, e.worker);
  add("", "conn", K::u64, s.id);
  add("", "role", K::text, 0, fixed_text(s.role));
  add("", "state", K::text, 0, fixed_text(s.state));
  add("", "alpn", K::text, 0, fixed_text(s.alpn));
  add("", "local", K::text, 0, address_text(s.tuple.local, s.tuple.local_port));
  add("", "remote", K::text, 0, address_text(s.tuple.remote, s.tuple.remote_port));
  add("", "age", K::age, s.age_ns);
  add("", "streams_open", K::u64, s.streams_open);
  add("", "key_generation", K::u64, s.key_generation);
  add("", "handshake_complete", K::flag, s.handshake_complete);
  add("", "resumed", K::flag, s.resumed);
  add("", "retried", K::flag, s.retried);
  add("", "address_validated", K::flag, s.address_validated);
  add("", "multipath", K::flag, s.multipath);
  add("", "scheduler", K::text, 0, fixed_text(s.scheduler));
  add("", "path_count", K::u64, s.path_count);

  const char* r = "recovery";
  add(r, "rtt_sampled", K::flag, s.rtt_sampled);
  add(r, "smoothed_rtt", K::ns, s.smoothed_rtt_ns);
  add(r, "min_rtt", K::ns, s.min_rtt_ns);
  add(r, "latest_rtt", K::ns, s.latest_rtt_ns);
  add(r, "rttvar", K::ns, s.rttvar_ns);
  bytes("cwnd", s.cwnd);
  bytes("bytes_in_flight", s.bytes_in_flight);
  // Unset (slow start never left) or not kept by this controller (BBR): no value.
  if (s.ssthresh == 0 || s.ssthresh == UINT64_MAX)
    add(r, "ssthresh", K::none, 0);
  else
    bytes("ssthresh", s.ssthresh);
  rate("pacing_rate", s.pacing_rate);
  rate("bandwidth_estimate", s.bandwidth_estimate);
  add(r, "pto_backoff", K::u64, s.pto_backoff);
  add(r, "cc", K::text, 0, fixed_text(s.cc));
  add(r, "cc_state", K::text, 0, fixed_text(s.cc_state));

  const uint32_t n = s.counter_count < ConnSummary::kMaxCounters ? s.counter_count
                                                                  : ConnSummary::kMaxCounters;
  for (uint32_t i = 0; i < n && s.counter_names; ++i)
    add("counters", s.counter_names[i] ? s.counter_names[i] : "counter_" + std::to_string(i),
        K::u64, s.counters[i]);

  add("cids", "original_dcid", K::text, 0, cid_hex(s.original_dcid));
  add("cids", "local_cid", K::text, 0, cid_hex(s.local_cid));
  add("cids", "peer_cid", K::text, 0, cid_hex(s.peer_cid));

  const char* c = "close";
  add(c, "closed", K::flag, s.closed);
  add(c, "closed_by_peer", K::flag, s.closed_by_peer);
  add(c, "close_application", K::flag, s.close_application);
  add(c, "close_idle_timeout", K::flag, s.close_idle_timeout);
  add(c, "close_stateless_reset", K::flag, s.close_stateless_reset);
  add(c, "close_error_code", K::u64, s.close_error_code);
  add(c, "close_reason", K::text, 0, fixed_text(s.close_reason));
  return f;
}

std::vector<ConnField> path_fields(const PathSummary& p) {
  using K = ConnField::Kind;
  std::vector<ConnField> f;
  auto add = [&](std::string name, K kind, uint64_t u, std::string text = {},
                 const char* unit = "") {
    f.push_back(ConnField{"path", std::move(name), kind, u, std::move(text), unit});
  };
  add("path_id", K::u64, p.id);
  add("state", K::text, 0, fixed_text(p.state));
  add("local_status", K::text, 0, fixed_text(p.local_status));
  add("peer_status", K::text, 0, fixed_text(p.peer_status));
  add("local", K::text, 0, address_text(p.tuple.local, p.tuple.local_port));
  add("remote", K::text, 0, address_text(p.tuple.remote, p.tuple.remote_port));
  add("validated", K::flag, p.validated);
  add("rtt_sampled", K::flag, p.rtt_sampled);
  add("smoothed_rtt", K::ns, p.smoothed_rtt_ns);
  add("min_rtt", K::ns, p.min_rtt_ns);
  add("cwnd", K::u64, p.cwnd, {}, "bytes");
  add("bytes_in_flight", K::u64, p.bytes_in_flight, {}, "bytes");
  add("pacing_rate", K::u64, p.pacing_rate, {}, "bytes/s");
  add("packets_sent", K::u64, p.packets_sent);
  add("bytes_sent", K::u64, p.bytes_sent, {}, "bytes");
  add("packets_received", K::u64, p.packets_received);
  add("bytes_received", K::u64, p.bytes_received, {}, "bytes");
  add("stream_bytes_sent", K::u64, p.stream_bytes_sent, {}, "bytes");
  add("packets_lost", K::u64, p.packets_lost);
  if (p.last_ack_age_ns == UINT64_MAX)
    add("last_ack_age", K::none, 0);
  else
    add("last_ack_age", K::ns, p.last_ack_age_ns);
  return f;
}

namespace {

// The paths a summary lists (path_count may exceed what fits).
uint32_t listed_paths(const ConnSummary& s) {
  return s.path_count < ConnSummary::kMaxPaths ? s.path_count
                                               : static_cast<uint32_t>(ConnSummary::kMaxPaths);
}

std::string path_rows_text(const ConnSummary& s) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %4s %-10s %-22s %-24s %-19s %10s %9s %12s %12s %9s %12s %6s %10s\n",
                "PATH", "STATE", "LOCAL", "REMOTE", "STATUS(US/PEER)", "SRTT", "CWND", "PACING_B/S",
                "TX_BYTES", "TX_PKTS", "RX_BYTES", "LOST", "LAST_ACK");
  out += buf;
  for (uint32_t i = 0; i < listed_paths(s); ++i) {
    const PathSummary& p = s.paths[i];
    const std::string status = fixed_text(p.local_status) + '/' + fixed_text(p.peer_status);
    std::snprintf(buf, sizeof buf,
                  "  %4u %-10s %-22s %-24s %-19s %10s %9" PRIu64 " %12" PRIu64 " %12" PRIu64
                  " %9" PRIu64 " %12" PRIu64 " %6" PRIu64 " %10s\n",
                  p.id, fixed_text(p.state).c_str(),
                  address_text(p.tuple.local, p.tuple.local_port).c_str(),
                  address_text(p.tuple.remote, p.tuple.remote_port).c_str(), status.c_str(),
                  p.rtt_sampled ? ms_text(p.smoothed_rtt_ns).c_str() : "-", p.cwnd, p.pacing_rate,
                  p.bytes_sent, p.packets_sent, p.bytes_received, p.packets_lost,
                  p.last_ack_age_ns == UINT64_MAX ? "-" : ms_text(p.last_ack_age_ns).c_str());
    out += buf;
  }
  if (s.path_count > listed_paths(s))
    out += "  note: " + std::to_string(s.path_count) + " paths; the first " +
           std::to_string(listed_paths(s)) + " are listed\n";
  return out;
}

std::string fields_json(const std::vector<ConnField>& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += json_string(conn_field_key(fields[i])) + ':' + value_json(fields[i]);
  }
  return out + '}';
}

std::string paths_array_json(const ConnSummary& s) {
  std::string out = "[";
  for (uint32_t i = 0; i < listed_paths(s); ++i) {
    if (i) out += ',';
    out += fields_json(path_fields(s.paths[i]));
  }
  return out + ']';
}

// The notes under a listing: lists cut short, workers that did not answer.
std::string listing_notes(const ConnListing& l) {
  std::string out;
  for (size_t w = 0; w < l.matched.size(); ++w) {
    if (l.answered[w] && l.matched[w] > ConnSnapshot::kCapacity)
      out += "note: worker " + std::to_string(w) + " has " + std::to_string(l.matched[w]) +
             " connections; the first " + std::to_string(ConnSnapshot::kCapacity) +
             " are listed\n";
  }
  for (size_t w = 0; w < l.asked.size(); ++w) {
    if (!l.asked[w])
      out += "note: the command queue of worker " + std::to_string(w) +
             " is full (is it running?); its connections are not listed\n";
    else if (!l.answered[w])
      out += "note: worker " + std::to_string(w) +
             " did not answer in time; its connections are not listed\n";
  }
  return out;
}

}  // namespace

std::string paths_text(const ConnListing& l) {
  std::string out = l.conns.empty() ? "no connections\n" : "";
  for (const ConnEntry& e : l.conns) {
    const ConnSummary& s = e.s;
    out += "connection " + conn_id_text(e.worker, s.id) + " (" + fixed_text(s.role) + ", " +
           fixed_text(s.state) + ", " +
           (s.multipath ? "multipath, scheduler " + fixed_text(s.scheduler)
                        : std::string("single path")) +
           "): " + std::to_string(s.path_count) + " path(s)\n";
    out += path_rows_text(s);
  }
  return out + listing_notes(l);
}

std::string paths_json(const ConnListing& l) {
  std::string out = "{\"connections\":[";
  bool first = true;
  for (const ConnEntry& e : l.conns) {
    const ConnSummary& s = e.s;
    if (!first) out += ',';
    first = false;
    out += "{\"id\":" + json_string(conn_id_text(e.worker, s.id)) +
           ",\"multipath\":" + (s.multipath ? "true" : "false") +
           ",\"scheduler\":" + json_string(fixed_text(s.scheduler)) +
           ",\"path_count\":" + std::to_string(s.path_count) +
           ",\"paths\":" + paths_array_json(s) + '}';
  }
  out += "],\"workers\":[";
  for (size_t w = 0; w < l.asked.size(); ++w) {
    if (w) out += ',';
    out += "{\"worker\":" + std::to_string(w) +
           ",\"answered\":" + (l.answered[w] ? "true" : "false") + '}';
  }
  return out + "]}";
}

std::string conns_text(const ConnListing& l) {
  std::string out;
  char buf[512];
  if (l.conns.empty()) {
    out = "no connections\n";
  } else {
    std::snprintf(buf, sizeof buf,
                  "%-16s %3s %-6s %-10s %-24s %10s %9s %12s %9s %12s %9s %6s %7s %6s %8s\n", "ID",
                  "W", "ROLE", "STATE", "REMOTE", "SRTT", "CWND", "TX_BYTES", "TX_PKTS",
                  "RX_BYTES", "RX_PKTS", "LOST", "STREAMS", "KEYGEN", "AGE");
    out += buf;
  }
  for (const ConnEntry& e : l.conns) {
    const ConnSummary& s = e.s;
    std::snprintf(buf, sizeof buf,
                  "%-16s %3u %-6s %-10s %-24s %10s %9" PRIu64 " %12" PRIu64 " %9" PRIu64
                  " %12" PRIu64 " %9" PRIu64 " %6" PRIu64 " %7" PRIu64 " %6" PRIu64 " %8s\n",
                  conn_id_text(e.worker, s.id).c_str(), e.worker, fixed_text(s.role).c_str(),
                  fixed_text(s.state).c_str(),
                  address_text(s.tuple.remote, s.tuple.remote_port).c_str(),
                  s.rtt_sampled ? ms_text(s.smoothed_rtt_ns).c_str() : "-", s.cwnd, s.bytes_sent,
                  s.packets_sent, s.bytes_received, s.packets_received, s.packets_lost,
                  s.streams_open, s.key_generation, age_text(s.age_ns).c_str());
    out += buf;
  }
  uint64_t total = 0;
  for (const uint64_t m : l.matched) total += m;
  if (!l.conns.empty())
    out += std::to_string(total) + " connection(s), " + std::to_string(l.conns.size()) +
           " listed\n";
  return out + listing_notes(l);
}

std::string conns_json(const ConnListing& l) {
  uint64_t total = 0;
  bool truncated = false;
  for (const uint64_t m : l.matched) {
    total += m;
    truncated = truncated || m > ConnSnapshot::kCapacity;
  }
  std::string out = "{\"count\":" + std::to_string(total) +
                    ",\"listed\":" + std::to_string(l.conns.size()) +
                    ",\"truncated\":" + (truncated ? "true" : "false") + ",\"workers\":[";
  for (size_t w = 0; w < l.asked.size(); ++w) {
    if (w) out += ',';
    out += "{\"worker\":" + std::to_string(w) +
           ",\"answered\":" + (l.answered[w] ? "true" : "false") +
           ",\"connections\":" + std::to_string(l.matched[w]) + '}';
  }
  out += "],\"connections\":[";
  bool first = true;
  for (const ConnEntry& e : l.conns) {
    const ConnSummary& s = e.s;
    if (!first) out += ',';
    first = false;
    out += "{\"id\":" + json_string(conn_id_text(e.worker, s.id)) +
           ",\"worker\":" + std::to_string(e.worker) + ",\"conn\":" + std::to_string(s.id) +
           ",\"role\":" + json_string(fixed_text(s.role)) +
           ",\"state\":" + json_string(fixed_text(s.state)) +
           ",\"local\":" + json_string(address_text(s.tuple.local, s.tuple.local_port)) +
           ",\"remote\":" + json_string(address_text(s.tuple.remote, s.tuple.remote_port)) +
           ",\"rtt_sampled\":" + (s.rtt_sampled ? "true" : "false");
    const std::pair<const char*, uint64_t> nums[] = {
        {"smoothed_rtt_ns", s.smoothed_rtt_ns},
        {"min_rtt_ns", s.min_rtt_ns},
        {"cwnd", s.cwnd},
        {"bytes_in_flight", s.bytes_in_flight},
        {"bytes_sent", s.bytes_sent},
        {"packets_sent", s.packets_sent},
        {"bytes_received", s.bytes_received},
        {"packets_received", s.packets_received},
        {"packets_lost", s.packets_lost},
        {"streams_open", s.streams_open},
        {"key_generation", s.key_generation},
        {"age_ns", s.age_ns},
    };
    for (const auto& [name, v] : nums) out += ",\"" + std::string(name) + "\":" + std::to_string(v);
    out += ",\"cc\":" + json_string(fixed_text(s.cc)) + '}';
  }
  out += "]}";
  return out;
}

std::string conn_text(const ConnEntry& e) {
  const std::vector<ConnField> fields = conn_fields(e);
  std::string out = "connection " + conn_id_text(e.worker, e.s.id) + '\n';
  auto group = [&](const char* g) {
    for (const ConnField& f : fields) {
      if (std::string_view(f.group) != g || f.name == "id") continue;
      std::string line = "  " + f.name;
      line.resize(30, ' ');
      out += line + value_text(f) + '\n';
    }
  };
  group("");
  for (const char* g : kGroups) {
    out += std::string(g) + ":\n";
    group(g);
  }
  out += "paths:\n" + path_rows_text(e.s);
  return out;
}

std::string conn_json(const ConnEntry& e) {
  const std::vector<ConnField> fields = conn_fields(e);
  std::string out = "{";
  bool first = true;
  auto group = [&](const char* g) {
    for (const ConnField& f : fields) {
      if (std::string_view(f.group) != g) continue;
      if (!first) out += ',';
      first = false;
      out += json_string(conn_field_key(f)) + ':' + value_json(f);
    }
  };
  group("");
  for (const char* g : kGroups) {
    out += ',' + json_string(g) + ":{";
    first = true;
    group(g);
    out += '}';
  }
  out += ",\"paths\":" + paths_array_json(e.s) + '}';
  return out;
}

}  // namespace camp::control
