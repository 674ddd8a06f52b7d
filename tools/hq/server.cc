#include "tools/hq/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "tools/hq/protocol.h"

namespace camp::hq {

using quic::StreamAppError;

struct Server::Request {
  enum class Phase : uint8_t { kRequest, kSending, kDone };

  uint64_t id = 0;
  Phase phase = Phase::kRequest;
  std::string line;           // request bytes until the line end
  size_t request_bytes = 0;   // every byte read from the request side
  bool recv_done = false;     // FIN read, reset seen, or STOP_SENDING sent: nothing more to read
  int fd = -1;
  uint64_t offset = 0;  // next file byte to send
  uint64_t size = 0;

  ~Request() {
    if (fd >= 0) ::close(fd);
  }
  void close_file() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

namespace {

bool bad_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;  // space, control bytes and NUL end or corrupt the path
}

// "GET /path" (the line end already removed; trailing spaces tolerated) -> "/path".
bool parse_request_line(std::string_view line, std::string* path) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  constexpr std::string_view kGet = "GET ";
  if (line.substr(0, kGet.size()) != kGet) return false;
  line.remove_prefix(kGet.size());
  if (line.empty() || line.front() != '/') return false;
  if (std::any_of(line.begin(), line.end(), bad_byte)) return false;
  *path = std::string(line);
  return true;
}

}  // namespace

Server::Server(std::string www_root, ServerLimits limits) : limits_(limits) {
  limits_.read_chunk = std::max<size_t>(limits_.read_chunk, 1);
  limits_.max_requests_per_conn = std::max<size_t>(limits_.max_requests_per_conn, 1);
  char* real = www_root.empty() ? nullptr : ::realpath(www_root.c_str(), nullptr);
  if (!real) {
    error_ = "www root '" + www_root + "': " + (www_root.empty() ? "not given" : std::strerror(errno));
    return;
  }
  root_ = real;
  std::free(real);
  struct stat st;
  if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error_ = "www root '" + www_root + "': not a directory";
    return;
  }
  chunk_.resize(limits_.read_chunk);
  datagram_.reserve(1200);  // grows once to the largest DATAGRAM seen, then stays
}

Server::~Server() = default;

size_t Server::active_requests(uint64_t conn_id) const {
  auto it = conns_.find(conn_id);
  return it == conns_.end() ? 0 : it->second.requests.size();
}

size_t Server::open_files() const {
  size_t n = 0;
  for (const auto& [cid, c] : conns_) {
    for (const auto& [sid, r] : c.requests) n += r->fd >= 0;
  }
  return n;
}

Resolution Server::open_path(const std::string& path, int* fd, uint64_t* size) const {
  *fd = -1;
  if (!ok() || path.empty() || path.front() != '/') return Resolution::kBadRequest;
  if (std::any_of(path.begin(), path.end(), bad_byte)) return Resolution::kBadRequest;
  // Any ".." component is refused outright, before the file system is asked.
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (std::string_view(path).substr(start, end - start) == "..") return Resolution::kBadRequest;
    start = end + 1;
  }
  const std::string candidate = root_ == "/" ? path : root_ + path;
  char* real = ::realpath(candidate.c_str(), nullptr);
  if (!real) return Resolution::kNotFound;
  const std::string resolved = real;
  std::free(real);
  // Symlinks may point anywhere: what they resolve to must still lie under the root.
  if (resolved == root_) return Resolution::kNotFound;  // the root directory is not a file
  const std::string prefix = root_ == "/" ? root_ : root_ + "/";
  if (resolved.compare(0, prefix.size(), prefix) != 0) return Resolution::kForbidden;
  // O_NOFOLLOW: a last component swapped for a symlink after realpath is refused, not followed.
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not regular).
  const int f = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (f < 0) return Resolution::kNotFound;
  struct stat st;
  if (::fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(f);
    return Resolution::kNotFound;
  }
  *fd = f;
  *size = static_cast<uint64_t>(st.st_size);
  return Resolution::kOk;
}

void Server::on_progress(quic::Connection& c) {
  on_progress(c.id(), c.streams());
  echo_datagrams(c);
}

void Server::echo_datagrams(quic::Connection& c) {
  // Everything received is taken, echoed or not, so the receive queue never stays full.
  while (c.receive_datagram(datagram_)) {
    if (c.send_datagram(datagram_, nullptr)) {
      ++stats_.datagrams_echoed;
    } else {
      ++stats_.datagrams_dropped;
    }
  }
}

void Server::on_progress(uint64_t conn_id, quic::StreamManager& sm) {
  Connection& c = conns_[conn_id];
  for (auto it = c.requests.begin(); it != c.requests.end();) {
    if (service(sm, *it->second)) {
      ++it;
    } else {
      it = c.requests.erase(it);
    }
  }
  // Streams past the limit stay unaccepted in the stream layer (bounded by our MAX_STREAMS).
  while (c.requests.size() < limits_.max_requests_per_conn) {
    auto id = sm.accept_stream();
    if (!id) break;
    if (!quic::stream_is_bidi(*id)) {
      // hq-interop has no use for unidirectional streams: ask the peer to stop, or drop what
      // already arrived in full so the stream can close.
      ++stats_.ignored_streams;
      if (!sm.stop_sending(*id, kHqRequestError)) {
        uint8_t buf[1024];
        for (;;) {
          auto io = sm.read(*id, buf);
          if (io.error != StreamAppError::kNone || io.fin || io.bytes == 0) break;
        }
      }
      continue;
    }
    auto r = std::make_unique<Request>();
    r->id = *id;
    if (service(sm, *r)) c.requests.emplace(*id, std::move(r));
  }
}

void Server::on_connection_closed(uint64_t conn_id) { conns_.erase(conn_id); }

bool Server::service(quic::StreamManager& sm, Request& r) {
  if (!sm.stream_exists(r.id)) {
    // Closed under us: only possible once the peer stopped our response and reset its side.
    if (r.phase == Request::Phase::kSending) {
      ++stats_.aborted;
      ++stats_.failed;
    }
    return false;
  }
  if (r.phase == Request::Phase::kRequest) read_request(sm, r);
  if (r.phase != Request::Phase::kRequest && !r.recv_done) drain_request(sm, r);
  if (r.phase == Request::Phase::kSending) send_file(sm, r);
  return !(r.phase == Request::Phase::kDone && r.recv_done);
}

void Server::read_request(quic::StreamManager& sm, Request& r) {
  uint8_t buf[512];
  for (;;) {
    // One byte past the limit is enough to know the request is too long.
    const size_t room = limits_.max_request_bytes + 1 - r.line.size();
    auto io = sm.read(r.id, std::span(buf, std::min(sizeof buf, room)));
    if (io.error != StreamAppError::kNone) {
      // The peer reset the request before finishing it.
      r.recv_done = true;
      ++stats_.aborted;
      ++stats_.failed;
      sm.reset_stream(r.id, kHqRequestError);
      r.phase = Request::Phase::kDone;
      return;
    }
    r.request_bytes += io.bytes;
    const size_t old = r.line.size();
    r.line.append(reinterpret_cast<const char*>(buf), io.bytes);
    if (io.fin) r.recv_done = true;
    const size_t lf = r.line.find('\n', old);
    if (lf != std::string::npos) {
      if (lf + 1 > limits_.max_request_bytes) return refuse(sm, r, Resolution::kBadRequest);
      r.line.resize(lf);  // bytes after the line end are ignored (and drained)
      return start_response(sm, r);
    }
    if (r.line.size() > limits_.max_request_bytes) return refuse(sm, r, Resolution::kBadRequest);
    if (io.fin) return start_response(sm, r);
    if (io.bytes == 0) return;
  }
}

void Server::drain_request(quic::StreamManager& sm, Request& r) {
  uint8_t buf[512];
  while (!r.recv_done) {
    auto io = sm.read(r.id, buf);
    if (io.error != StreamAppError::kNone) {
      r.recv_done = true;
      // A reset request side means the client gave up on this request.
      if (io.error == StreamAppError::kReset && r.phase == Request::Phase::kSending) {
        abort_response(sm, r);
      }
      return;
    }
    r.request_bytes += io.bytes;
    if (io.fin) {
      r.recv_done = true;
    } else if (r.request_bytes > limits_.max_request_bytes &&
               sm.stop_sending(r.id, kHqRequestError)) {
      r.recv_done = true;  // a request line followed by endless bytes: stop them, keep answering
    }
    if (io.bytes == 0) return;
  }
}

void Server::start_response(quic::StreamManager& sm, Request& r) {
  std::string path;
  if (!parse_request_line(r.line, &path)) return refuse(sm, r, Resolution::kBadRequest);
  r.line = std::string();  // not needed any more
  const Resolution res = open_path(path, &r.fd, &r.size);
  if (res != Resolution::kOk) return refuse(sm, r, res);
  r.phase = Request::Phase::kSending;
  r.offset = 0;
}

void Server::refuse(quic::StreamManager& sm, Request& r, Resolution why) {
  ++stats_.failed;
  switch (why) {
    case Resolution::kBadRequest: ++stats_.bad_request; break;
    case Resolution::kNotFound: ++stats_.not_found; break;
    case Resolution::kForbidden: ++stats_.forbidden; break;
    case Resolution::kOk: break;
  }
  sm.reset_stream(r.id, kHqRequestError);
  // Still incoming: ask the peer to stop. When everything already arrived the stop is refused
  // and the rest is drained instead (the stream closes either way).
  if (!r.recv_done && sm.stop_sending(r.id, kHqRequestError)) r.recv_done = true;
  r.line = std::string();
  r.close_file();
  r.phase = Request::Phase::kDone;
}

void Server::abort_response(quic::StreamManager& sm, Request& r) {
  ++stats_.aborted;
  ++stats_.failed;
  sm.reset_stream(r.id, kHqRequestError);  // false when already reset by the peer's STOP_SENDING
  r.close_file();
  r.phase = Request::Phase::kDone;
}

void Server::send_file(quic::StreamManager& sm, Request& r) {
  for (;;) {
    const quic::SendStream* ss = sm.send_stream(r.id);
    if (!ss || ss->is_reset()) return abort_response(sm, r);  // the peer sent STOP_SENDING
    const size_t room = ss->writable();
    const uint64_t remaining = r.size - r.offset;
    if (remaining > 0) {
      // Wait until a quarter of the buffer (or the rest of the file) is free: fewer, larger
      // reads instead of one per acknowledgement.
      const size_t capacity = room + static_cast<size_t>(ss->write_offset() - ss->acked_offset());
      const uint64_t low = std::min<uint64_t>(
          remaining, std::min(chunk_.size(), std::max<size_t>(1, capacity / 4)));
      if (room < low) return;
    }
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(remaining, std::min(room, chunk_.size())));
    ssize_t n = 0;
    if (want > 0) {
      do {
        n = ::pread(r.fd, chunk_.data(), want, static_cast<off_t>(r.offset));
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {
        // Unreadable, or shrunk since it was opened: the body can no longer be what was promised.
        ++stats_.not_found;
        ++stats_.failed;
        sm.reset_stream(r.id, kHqRequestError);
        r.close_file();
        r.phase = Request::Phase::kDone;
        return;
      }
    }
    const bool fin = r.offset + static_cast<uint64_t>(n) == r.size;
    auto io = sm.write(r.id, std::span(chunk_.data(), static_cast<size_t>(n)), fin);
    if (io.error != StreamAppError::kNone) return abort_response(sm, r);
    r.offset += io.bytes;
    stats_.bytes_sent += io.bytes;
    if (fin && io.fin) {
      ++stats_.served;
      r.close_file();
      r.phase = Request::Phase::kDone;
      return;
    }
    if (io.bytes == 0) return;  // no room after all (not expected: writable() was checked)
  }
}

}  // namespace camp::hq
