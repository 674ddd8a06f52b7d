// campd's QUIC service: with --www, each worker's endpoint is a QUIC server (dataplane/quic/conn)
// whose connections serve files over hq-interop (tools/hq). The TLS configuration is built once
// and shared read-only by every worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dataplane/endpoint.h"
#include "tools/campd/options.h"

namespace camp::campd {

class QuicService {
 public:
  // Loads the certificate and checks the directory; nullptr with *err naming the flag at fault.
  static std::unique_ptr<QuicService> create(const Options& opt, std::string* err);
  ~QuicService();

  // A new endpoint for worker `w` (owned by the service). nullptr with *err on failure.
  Endpoint* make_worker_endpoint(uint16_t w, uint16_t workers, std::string* err);

  // What campd reports at the end: connections and requests served.
  std::string summary() const;

 private:
  QuicService() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace camp::campd
