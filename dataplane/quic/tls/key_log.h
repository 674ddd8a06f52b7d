// TLS key logging in the NSS key log format, which Wireshark reads to decrypt QUIC captures. The
// TLS 1.3 labels (CLIENT_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0, ...) are the ones QUIC
// dissectors expect, so GnuTLS's labels are written unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace camp::quic {

// Receives one complete line, newline included.
using KeyLogSink = std::function<void(std::string_view line)>;

// "LABEL <client_random hex> <secret hex>\n".
std::string format_key_log_line(std::string_view label, std::span<const uint8_t> client_random,
                                std::span<const uint8_t> secret);

// A sink appending to `path` (opened per line, so rotation and concurrent writers are safe;
// debugging only, never on a hot path). Empty path: an empty sink.
KeyLogSink key_log_file(std::string path);

// key_log_file(getenv("SSLKEYLOGFILE")), or an empty sink when the variable is unset.
KeyLogSink key_log_from_env();

}  // namespace camp::quic
