// Test helpers: a plain UDP socket playing the remote peer, and the driver running in a thread
// that always stops (quit flag + join) when the test leaves its scope.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "drivers/socket/address.h"
#include "drivers/socket/driver.h"

namespace camp::sockdrv::test {

class UdpPeer {
 public:
  // Binds to `addr` ("127.0.0.1:0" style); ok() says whether that worked.
  explicit UdpPeer(const std::string& addr) {
    SockAddr a;
    if (!parse_address(addr, &a, nullptr)) return;
    fd_ = ::socket(a.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    const int big = 1 << 20;  // room for a whole burst of replies
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    self_.len = sizeof(self_.ss);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&self_.ss), &self_.len);
  }
  ~UdpPeer() {
    if (fd_ >= 0) ::close(fd_);
  }
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const SockAddr& self() const { return self_; }

  bool send_to(const SockAddr& to, const std::vector<uint8_t>& data) {
    const ssize_t r = ::sendto(fd_, data.data(), data.size(), 0,
                               reinterpret_cast<const sockaddr*>(&to.ss), to.len);
    return r == static_cast<ssize_t>(data.size());
  }

  // Waits up to timeout_ms for one datagram; false on timeout.
  bool recv(std::vector<uint8_t>* data, SockAddr* from, int timeout_ms = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    data->resize(65536);
    SockAddr f;
    f.len = sizeof(f.ss);
    const ssize_t r = ::recvfrom(fd_, data->data(), data->size(), MSG_DONTWAIT,
                                 reinterpret_cast<sockaddr*>(&f.ss), &f.len);
    if (r < 0) return false;
    data->resize(static_cast<size_t>(r));
    if (from != nullptr) *from = f;
    return true;
  }

 private:
  int fd_ = -1;
  SockAddr self_;
};

// Runs driver.run() in a thread; the destructor sets the quit flag and joins.
class DriverThread {
 public:
  explicit DriverThread(Driver& d) : t_([this, &d] { d.run(quit_); }) {}
  ~DriverThread() { stop(); }
  void stop() {
    quit_.store(true);
    if (t_.joinable()) t_.join();
  }

 private:
  std::atomic<bool> quit_{false};
  std::thread t_;
};

// A recognisable payload: n bytes derived from a seed.
inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    v[i] = static_cast<uint8_t>(x >> 16);
  }
  return v;
}

// Host part of an address, e.g. "127.0.0.2" (what the reply's source must be).
inline std::string host_of(const SockAddr& a) {
  const std::string s = format_address(a);
  if (s.front() == '[') return s.substr(0, s.find(']') + 1);
  return s.substr(0, s.rfind(':'));
}

// The same host with another port: where to send to reach socket `i` through `host`.
inline SockAddr with_host(const std::string& host, uint16_t port) {
  SockAddr a;
  parse_address(host + ":" + std::to_string(port), &a, nullptr);
  return a;
}

}  // namespace camp::sockdrv::test
