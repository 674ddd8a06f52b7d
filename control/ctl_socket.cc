#include "control/ctl_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace camp::control {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int e) { return std::strerror(e); }

bool make_addr(const std::string& path, sockaddr_un* a, std::string* err) {
  if (path.empty()) {
    *err = "the control socket path is empty";
    return false;
  }
  if (path.size() >= sizeof(a->sun_path)) {
    *err = "control socket path '" + path + "' is too long (" + std::to_string(path.size()) +
           " bytes; at most " + std::to_string(sizeof(a->sun_path) - 1) + ")";
    return false;
  }
  std::memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  std::memcpy(a->sun_path, path.data(), path.size());
  return true;
}

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline. Returns false on timeout or poll error.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Writes all of buf before the deadline; the fd is non-blocking.
bool send_all(int fd, std::string_view buf, Clock::time_point deadline, int* err_no) {
  size_t off = 0;
  while (off < buf.size()) {
    const ssize_t n = send(fd, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(fd, POLLOUT, deadline)) {
        *err_no = ETIMEDOUT;
        return false;
      }
      continue;
    }
    *err_no = n < 0 ? errno : EPIPE;
    return false;
  }
  return true;
}

// True when something accepts connections on the unix socket at `a`.
bool someone_listens(const sockaddr_un& a, int* err_no) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err_no = errno;
    return false;
  }
  const bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  *err_no = ok ? 0 : errno;
  close(fd);
  return ok;
}

}  // namespace

bool listen_unix(const std::string& path, int* fd_out, ino_t* inode, std::string* err) {
  sockaddr_un a;
  if (!make_addr(path, &a, err)) return false;

  // /run is a tmpfs: /run/camp is gone after every boot, so make it (one level only).
  const size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    struct stat ds;
    if (stat(dir.c_str(), &ds) != 0) {
      if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        *err = "cannot create directory " + dir + " for the control socket: " + errno_text(errno);
        return false;
      }
    } else if (!S_ISDIR(ds.st_mode)) {
      *err = "cannot create control socket " + path + ": " + dir + " is not a directory";
      return false;
    }
  }

  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      *err = "cannot create control socket " + path +
             ": the path exists and is not a socket (refusing to replace it)";
      return false;
    }
    int e = 0;
    if (someone_listens(a, &e)) {
      *err = "another campd is already answering on " + path +
             " (stop it, or give this one another socket path)";
      return false;
    }
    if (e != ECONNREFUSED) {
      *err = "cannot check existing control socket " + path + ": " + errno_text(e);
      return false;
    }
    // Left behind by a campd that did not exit cleanly.
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      *err = "cannot remove stale control socket " + path + ": " + errno_text(errno);
      return false;
    }
  }

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *err = "cannot create control socket: " + errno_text(errno);
    return false;
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    *err = "cannot bind control socket " + path + ": " + errno_text(errno);
    close(fd);
    return false;
  }
  // Owner and group may drive the engine; others may not even read its numbers.
  if (chmod(path.c_str(), 0660) != 0 || listen(fd, 16) != 0 || stat(path.c_str(), &st) != 0) {
    *err = "cannot set up control socket " + path + ": " + errno_text(errno);
    close(fd);
    unlink(path.c_str());
    return false;
  }
  *fd_out = fd;
  *inode = st.st_ino;
  return true;
}

void remove_socket_file(const std::string& path, ino_t inode) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == inode)
    unlink(path.c_str());
}

bool read_request(int fd, int timeout_ms, std::string* line, std::string* err) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  line->clear();
  char buf[512];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      const std::string_view chunk(buf, static_cast<size_t>(n));
      const size_t nl = chunk.find('\n');
      line->append(chunk.substr(0, nl));
      if (line->size() > kMaxRequestBytes) {
        *err = "request too long (more than " + std::to_string(kMaxRequestBytes) + " bytes)";
        return false;
      }
      if (nl != std::string_view::npos) break;
      continue;
    }
    if (n == 0) break;  // a request without the final newline is still a request
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_fd(fd, POLLIN, deadline)) {
        *err = "timed out waiting for the request";
        return false;
      }
      continue;
    }
    *err = "cannot read request: " + errno_text(errno);
    return false;
  }
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

bool write_reply(int fd, bool ok, std::string_view body, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string msg = ok ? "OK\n" : "ERR\n";
  msg.append(body);
  int e = 0;
  return send_all(fd, msg, deadline, &e);
}

CtlStatus ctl_request(const std::string& path, std::string_view line, int timeout_ms,
                      CtlReply* reply, std::string* err) {
  sockaddr_un a;
  if (!make_addr(path, &a, err)) return CtlStatus::unreachable;
  if (line.find('\n') != std::string_view::npos) {
    *err = "a request is one line";
    return CtlStatus::failed;
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno_text(errno);
    return CtlStatus::unreachable;
  }
  // A blocking connect on a unix socket returns at once (or EAGAIN when the backlog is full).
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    *err = errno_text(errno);
    close(fd);
    return CtlStatus::unreachable;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string req(line);
  req.push_back('\n');
  int e = 0;
  if (!send_all(fd, req, deadline, &e)) {
    *err = "cannot send request: " + errno_text(e);
    close(fd);
    return CtlStatus::failed;
  }
  shutdown(fd, SHUT_WR);
  std::string in;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      if (in.size() > kMaxReplyBytes) {
        *err = "reply too long";
        close(fd);
        return CtlStatus::failed;
      }
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_fd(fd, POLLIN, deadline)) {
        *err = "no answer within " + std::to_string(timeout_ms) + " ms";
        close(fd);
        return CtlStatus::failed;
      }
      continue;
    }
    *err = "cannot read reply: " + errno_text(errno);
    close(fd);
    return CtlStatus::failed;
  }
  close(fd);
  const size_t nl = in.find('\n');
  const std::string_view head = std::string_view(in).substr(0, nl);
  if (nl == std::string::npos || (head != "OK" && head != "ERR")) {
    *err = in.empty() ? "the connection closed without a reply" : "malformed reply";
    return CtlStatus::failed;
  }
  reply->ok = head == "OK";
  reply->body = in.substr(nl + 1);
  return CtlStatus::ok;
}

}  // namespace camp::control
