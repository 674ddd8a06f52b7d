#include "tools/hq/client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tools/hq/protocol.h"

namespace camp::hq {

using quic::StreamAppError;

uint64_t fnv1a64(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

struct Client::Pending {
  std::string request;       // "GET /path\r\n"
  size_t request_sent = 0;   // bytes of it the stream took
  bool request_done = false; // all of it and the FIN taken
  bool active = false;       // has a stream and is not finished
  int fd = -1;
};

namespace {

// Where a path's body goes: the last component ("index.html" for a directory, as the
// ngtcp2 peer does). "." and ".." would name directories, not files.
bool output_name(const std::string& path, std::string* name) {
  *name = path.substr(path.rfind('/') + 1);
  if (name->empty()) *name = "index.html";
  return *name != "." && *name != "..";
}

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

Client::Client(std::string out_dir) : out_dir_(std::move(out_dir)) {
  buf_.resize(64 * 1024);
  if (out_dir_.empty()) return;
  struct stat st;
  if (::stat(out_dir_.c_str(), &st) != 0) {
    error_ = "output directory '" + out_dir_ + "': " + std::strerror(errno);
  } else if (!S_ISDIR(st.st_mode)) {
    error_ = "output directory '" + out_dir_ + "': not a directory";
  } else if (::access(out_dir_.c_str(), W_OK | X_OK) != 0) {
    error_ = "output directory '" + out_dir_ + "': not writable (" + std::strerror(errno) + ")";
  }
}

Client::~Client() {
  for (Pending& p : pending_) {
    if (p.fd >= 0) ::close(p.fd);
  }
}

void Client::add_request(std::string path) {
  RequestResult r;
  r.path = std::move(path);
  results_.push_back(std::move(r));
  pending_.emplace_back();
  const size_t i = results_.size() - 1;
  const std::string& p = results_[i].path;
  if (p.empty() || p.front() != '/') return fail(i, "path '" + p + "' does not start with '/'");
  for (char c : p) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return fail(i, "path holds a space or control character");
  }
  pending_[i].request = "GET " + p + "\r\n";
  if (!out_dir_.empty()) {
    std::string name;
    if (!output_name(p, &name)) return fail(i, "path '" + p + "' names no file to write");
    results_[i].file = out_dir_ + "/" + name;
  }
}

void Client::fail(size_t i, std::string why) {
  RequestResult& r = results_[i];
  Pending& p = pending_[i];
  if (r.error.empty()) r.error = std::move(why);
  if (p.fd >= 0) {
    ::close(p.fd);
    p.fd = -1;
    ::unlink(r.file.c_str());  // no partial file that could pass for the body
  }
  p.active = false;
}

size_t Client::in_flight() const {
  return static_cast<size_t>(
      std::count_if(pending_.begin(), pending_.end(), [](const Pending& p) { return p.active; }));
}

bool Client::done() const {
  if (!ok()) return true;
  return std::all_of(results_.begin(), results_.end(),
                     [](const RequestResult& r) { return r.finished(); });
}

bool Client::all_ok() const {
  return ok() && std::all_of(results_.begin(), results_.end(),
                             [](const RequestResult& r) { return r.ok(); });
}

void Client::on_connection_closed() {
  for (size_t i = 0; i < results_.size(); ++i) {
    if (!results_[i].finished()) fail(i, "connection closed before the response completed");
  }
}

void Client::on_progress(quic::StreamManager& sm) {
  if (!ok()) return;
  for (size_t i = 0; i < next_; ++i) {
    if (pending_[i].active) service(sm, i);
  }
  while (next_ < results_.size()) {
    const size_t i = next_;
    if (results_[i].finished()) {  // failed when added
      ++next_;
      continue;
    }
    // The file first, so a stream is never opened for a body with nowhere to go.
    Pending& p = pending_[i];
    if (!results_[i].file.empty() && p.fd < 0) {
      p.fd = ::open(results_[i].file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (p.fd < 0) {
        fail(i, "cannot write '" + results_[i].file + "': " + std::strerror(errno));
        ++next_;
        continue;
      }
    }
    auto id = sm.open_stream(true);
    if (!id) break;  // at the peer's stream limit: retried after its MAX_STREAMS
    ++next_;
    results_[i].stream_id = *id;
    p.active = true;
    service(sm, i);
  }
}

void Client::service(quic::StreamManager& sm, size_t i) {
  RequestResult& r = results_[i];
  Pending& p = pending_[i];
  if (!p.request_done) {
    std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(p.request.data()) +
                                      p.request_sent,
                                  p.request.size() - p.request_sent);
    auto io = sm.write(r.stream_id, rest, true);
    if (io.error == StreamAppError::kNone) {
      p.request_sent += io.bytes;
      p.request_done = io.fin;
    } else {
      // The server stopped the request (it refused it): its reset of the response says why.
      p.request_done = true;
    }
  }
  for (;;) {
    auto io = sm.read(r.stream_id, buf_);
    if (io.error == StreamAppError::kReset) {
      r.reset = true;
      r.reset_code = io.error_code;
      // A request still being written is abandoned too, so the stream can close.
      if (!p.request_done) sm.reset_stream(r.stream_id, kHqRequestError);
      return fail(i, "reset by the server (error " + std::to_string(io.error_code) + ")");
    }
    if (io.error != StreamAppError::kNone) return fail(i, "stream closed before FIN");
    if (io.bytes > 0) {
      if (p.fd >= 0 && !write_all(p.fd, buf_.data(), io.bytes)) {
        const std::string why = "write '" + r.file + "': " + std::strerror(errno);
        sm.stop_sending(r.stream_id, kHqRequestError);
        sm.reset_stream(r.stream_id, kHqRequestError);
        return fail(i, why);
      }
      r.bytes += io.bytes;
      bytes_received_ += io.bytes;
      r.fnv1a = fnv1a64(r.fnv1a, buf_.data(), io.bytes);
    }
    if (io.fin) {
      if (p.fd >= 0) {
        const int fd = p.fd;
        p.fd = -1;
        if (::close(fd) != 0) {
          const std::string why = "close '" + r.file + "': " + std::strerror(errno);
          ::unlink(r.file.c_str());
          return fail(i, why);
        }
      }
      r.complete = true;
      p.active = false;
      p.request.clear();
      return;
    }
    if (io.bytes == 0) return;
  }
}

}  // namespace camp::hq
