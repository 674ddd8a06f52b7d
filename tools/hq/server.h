// hq-interop server on one side of camp's QUIC streams. The connection owner calls on_progress
// after anything that may have changed a connection (a packet, a timer, acknowledgements); the
// server accepts request streams, parses "GET /path" (ended by CRLF, LF or FIN), resolves the path
// inside the www root and streams the file with pread as send-buffer room appears, so a file of
// any size is served in bounded memory: at most the stream's send buffer plus one read chunk.
// When DATAGRAM (RFC 9221) is negotiated the server also echoes every received DATAGRAM back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/quic/conn/connection.h"
#include "dataplane/quic/stream/stream_manager.h"

namespace camp::hq {

struct ServerLimits {
  size_t max_request_bytes = 1024;  // the request line with its line end, and anything after it
  size_t max_requests_per_conn = 256;  // streams served at once; later ones wait unaccepted
  size_t read_chunk = 64 * 1024;    // most bytes one pread asks for (the server's one buffer)
};

struct ServerStats {
  uint64_t served = 0;       // responses ended with FIN
  uint64_t failed = 0;       // requests answered with a reset (the four below together)
  uint64_t bad_request = 0;  // not "GET /path", too long, a ".." component, NUL or control bytes
  uint64_t not_found = 0;    // missing, not a regular file, or unreadable
  uint64_t forbidden = 0;    // resolves outside the root (symlinks)
  uint64_t aborted = 0;      // the peer reset its request or stopped our response
  uint64_t bytes_sent = 0;   // body bytes handed to the streams
  uint64_t ignored_streams = 0;  // unidirectional streams asked to stop
  uint64_t datagrams_echoed = 0;   // DATAGRAM payloads queued back to their sender
  uint64_t datagrams_dropped = 0;  // not echoed: send queue full, or too large for the peer
};

// What a request path resolves to (exposed for tests and logging).
enum class Resolution : uint8_t { kOk, kBadRequest, kNotFound, kForbidden };

class Server {
 public:
  // www_root must be an existing directory; otherwise ok() is false and error() says why, and
  // every request is answered with a reset.
  explicit Server(std::string www_root, ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& root() const { return root_; }

  // The whole application for one connection: its streams, then the DATAGRAM echo.
  void on_progress(quic::Connection& c);
  // Streams only (what on_progress(Connection&) does first).
  void on_progress(uint64_t conn_id, quic::StreamManager& sm);
  // Queues every DATAGRAM the connection has received back to the peer, unchanged. Bounded by
  // the connection's send queue: a payload it refuses (full, DATAGRAM not negotiated, or too
  // large for the peer's max_datagram_frame_size) is dropped and counted.
  void echo_datagrams(quic::Connection& c);
  // Frees the connection's state and closes its files (the streams are gone with it).
  void on_connection_closed(uint64_t conn_id);

  // Resolves a request path and opens it; *fd is an open regular file when kOk.
  Resolution open_path(const std::string& path, int* fd, uint64_t* size) const;

  const ServerStats& stats() const { return stats_; }
  size_t connection_count() const { return conns_.size(); }
  size_t active_requests(uint64_t conn_id) const;
  size_t open_files() const;

 private:
  struct Request;
  struct Connection {
    std::map<uint64_t, std::unique_ptr<Request>> requests;  // by stream ID: served in order
  };

  // Each returns false when the request is finished and can be forgotten.
  bool service(quic::StreamManager& sm, Request& r);
  void read_request(quic::StreamManager& sm, Request& r);
  void drain_request(quic::StreamManager& sm, Request& r);
  void start_response(quic::StreamManager& sm, Request& r);
  void send_file(quic::StreamManager& sm, Request& r);
  void refuse(quic::StreamManager& sm, Request& r, Resolution why);
  void abort_response(quic::StreamManager& sm, Request& r);

  std::string root_;  // realpath of the www root, no trailing slash (unless it is "/")
  ServerLimits limits_;
  std::string error_;
  ServerStats stats_;
  std::vector<uint8_t> chunk_;  // pread target shared by every stream: the bytes go straight on
  std::vector<uint8_t> datagram_;  // one received DATAGRAM on its way back (capacity kept)
  std::unordered_map<uint64_t, Connection> conns_;
};

}  // namespace camp::hq
