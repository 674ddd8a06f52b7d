// How the control plane writes connections (campctl conns / conn, /camp/conns, /camp/conn): the
// "WORKER:ID" connection ids, the list as text or JSON, and one connection's every figure as an
// ordered field list that text, JSON and rte_telemetry all render, so they name things alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/control_plane.h"
#include "dataplane/conn_summary.h"

namespace camp::control {

// "1:4294967298": the worker, then the endpoint's connection id (unique only within a worker).
std::string conn_id_text(uint32_t worker, uint64_t id);
// The reverse; both parts decimal, the id not 0. False with a message otherwise.
bool parse_conn_id(std::string_view text, uint32_t* worker, uint64_t* id, std::string* err);

// "192.0.2.1:443", "[2001:db8::1]:443", or "-" when unset.
std::string address_text(const IpAddr& a, uint16_t port);
// A fixed char field of ConnSummary (NUL-terminated or full) as printable text.
std::string summary_text(const char* field, size_t cap);
// Printable ASCII kept, anything else as \xNN: peer-chosen text (close reasons) is safe to print.
std::string printable(std::string_view s);

// One figure of a connection.
struct ConnField {
  // ns: a duration in nanoseconds, named NAME_ns in JSON and telemetry, shown in ms as text
  // (age: the same, shown in seconds). none: no value (JSON null).
  enum class Kind : uint8_t { u64, ns, age, text, flag, none };
  const char* group;  // "" (the connection), "recovery", "counters", "cids", "close"
  std::string name;   // unique over all groups (telemetry puts them in one dict)
  Kind kind = Kind::u64;
  uint64_t u = 0;     // u64, ns, age, flag (0/1)
  std::string s;      // text
  const char* unit = "";  // for text: "bytes", "bytes/s"
};
// The name JSON and telemetry use: durations carry their unit (smoothed_rtt_ns).
std::string conn_field_key(const ConnField& f);
std::vector<ConnField> conn_fields(const ConnEntry& e);

// The figures of one path of a connection (group "path"), in the order every rendering uses.
std::vector<ConnField> path_fields(const PathSummary& p);

// campctl paths [ID]: per connection a line, then one line per path; notes as for conns.
std::string paths_text(const ConnListing& l);
std::string paths_json(const ConnListing& l);

// campctl conns: one line per connection, then notes on cut lists and silent workers.
std::string conns_text(const ConnListing& l);
std::string conns_json(const ConnListing& l);
// campctl conn ID: every figure, grouped.
std::string conn_text(const ConnEntry& e);
std::string conn_json(const ConnEntry& e);

}  // namespace camp::control
