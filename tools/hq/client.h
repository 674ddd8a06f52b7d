// hq-interop client on one side of camp's QUIC streams: one bidirectional stream per request,
// "GET /path\r\n" + FIN, the body read to FIN into OUT/<basename of path> (or only counted and
// hashed when there is no output directory). The connection owner calls on_progress after
// anything that may have changed the connection; streams are opened as the peer's limit allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/quic/stream/stream_manager.h"

namespace camp::hq {

struct RequestResult {
  std::string path;
  std::string file;          // where the body went; empty when discarded
  uint64_t stream_id = ~uint64_t{0};  // none yet
  uint64_t bytes = 0;        // body bytes received
  uint64_t fnv1a = 0xcbf29ce484222325ull;  // FNV-1a 64 of the body received
  bool complete = false;     // the body ended with FIN
  bool reset = false;        // the server reset the response (reset_code says why)
  uint64_t reset_code = 0;
  std::string error;         // local failure (bad path, output file), or why it did not complete

  bool finished() const { return complete || reset || !error.empty(); }
  bool ok() const { return complete && !reset && error.empty(); }
};

// FNV-1a 64 continued over more bytes (the hash RequestResult keeps).
uint64_t fnv1a64(uint64_t h, const uint8_t* p, size_t n);

class Client {
 public:
  // out_dir empty: bodies are discarded (still counted and hashed). A directory that does not
  // exist or cannot be written makes ok() false with error() saying why; nothing is fetched.
  explicit Client(std::string out_dir);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Queues a request; a path that cannot be sent (not starting with '/', spaces, control bytes)
  // is failed at once.
  void add_request(std::string path);
  void on_progress(quic::StreamManager& sm);
  // Every unfinished request fails ("connection closed") and its files are closed.
  void on_connection_closed();

  bool done() const;    // nothing left to do: every request finished (or the client is unusable)
  bool all_ok() const;  // done, and every request complete without reset or error
  const std::vector<RequestResult>& results() const { return results_; }
  size_t in_flight() const;
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  struct Pending;
  void start(quic::StreamManager& sm, size_t index, uint64_t id);
  void service(quic::StreamManager& sm, size_t index);
  void fail(size_t index, std::string why);

  std::string out_dir_;
  std::string error_;
  std::vector<RequestResult> results_;
  std::vector<Pending> pending_;  // parallel to results_
  size_t next_ = 0;               // first request without a stream yet
  uint64_t bytes_received_ = 0;
  std::vector<uint8_t> buf_;      // one read buffer for every stream
};

}  // namespace camp::hq
