#include "dataplane/quic/tls/key_log.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace camp::quic {

namespace {

void append_hex(std::string& out, std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
}

}  // namespace

std::string format_key_log_line(std::string_view label, std::span<const uint8_t> client_random,
                                std::span<const uint8_t> secret) {
  std::string line;
  line.reserve(label.size() + 2 + 2 * (client_random.size() + secret.size()) + 1);
  line.append(label);
  line.push_back(' ');
  append_hex(line, client_random);
  line.push_back(' ');
  append_hex(line, secret);
  line.push_back('\n');
  return line;
}

KeyLogSink key_log_file(std::string path) {
  if (path.empty()) return {};
  return [path = std::move(path)](std::string_view line) {
    // Sessions on several threads may log at once; one lock keeps lines whole.
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    if (FILE* f = std::fopen(path.c_str(), "a")) {
      std::fwrite(line.data(), 1, line.size(), f);
      std::fclose(f);
    }
  };
}

KeyLogSink key_log_from_env() {
  const char* p = std::getenv("SSLKEYLOGFILE");
  return p ? key_log_file(p) : KeyLogSink{};
}

}  // namespace camp::quic
