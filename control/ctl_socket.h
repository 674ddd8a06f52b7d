// campctl's wire protocol over a unix stream socket, both ends. One request per connection: the
// client writes one line (the command and its arguments separated by spaces, then '\n'); the
// server answers "OK\n" followed by the body, or "ERR\n" followed by the error message, and
// closes. Plain text, so `echo status | socat - UNIX:/run/camp/campd.sock` works too.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace camp::control {

// Where campd listens and campctl connects unless told otherwise (campd --ctl-socket,
// campctl --socket or CAMP_CTL_SOCKET).
inline constexpr char kDefaultSocketPath[] = "/run/camp/campd.sock";
// The environment variable campctl reads before falling back to kDefaultSocketPath.
inline constexpr char kSocketEnv[] = "CAMP_CTL_SOCKET";

// Bounds on what either side accepts, so a confused peer cannot make the other hold much.
inline constexpr size_t kMaxRequestBytes = 4096;
inline constexpr size_t kMaxReplyBytes = 16u << 20;

// Server side. Creates the socket file at `path` (mode 0660), listening and non-blocking. A stale
// socket file (nobody answers on it) is replaced; a live one, or a path that exists but is not a
// socket, is an error. A missing last directory (/run/camp) is created. On success *inode is the
// socket file's inode, so the owner removes only its own file later.
bool listen_unix(const std::string& path, int* fd, ino_t* inode, std::string* err);
// Removes the socket file if it is still the one listen_unix made.
void remove_socket_file(const std::string& path, ino_t inode);

// Server side: reads one request line from a connected socket within `timeout_ms`. Returns false
// with *err set on timeout, oversize request or I/O error.
bool read_request(int fd, int timeout_ms, std::string* line, std::string* err);
// Server side: writes the framed reply within `timeout_ms` (best effort; the client may be gone).
bool write_reply(int fd, bool ok, std::string_view body, int timeout_ms);

// Client side.
enum class CtlStatus {
  ok,           // a well-formed reply arrived (reply->ok tells which kind)
  unreachable,  // could not connect: no socket, nobody listening, or no permission
  failed,       // connected, but the exchange failed (timeout, reset, malformed reply)
};
struct CtlReply {
  bool ok = false;
  std::string body;  // the body, or the error message when !ok
};
CtlStatus ctl_request(const std::string& path, std::string_view line, int timeout_ms,
                      CtlReply* reply, std::string* err);

}  // namespace camp::control
