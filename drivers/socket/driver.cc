#include "drivers/socket/driver.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace camp::sockdrv {

namespace {

// recvmmsg/sendmmsg take at most UIO_MAXIOV (1024) messages per call.
constexpr unsigned kMaxBurst = 1024;
// Tuple::iface is 16 bits; far more sockets than any deployment needs.
constexpr size_t kMaxSockets = 1024;
// The run loop never sleeps longer than this, so a quit request is seen promptly.
constexpr uint64_t kMaxWaitNs = 100'000'000;

bool sys_fail(std::string* err, const char* what, const std::string& addr, int e) {
  if (err != nullptr) {
    *err = std::string(what) + " " + addr + ": " + std::error_code(e, std::system_category()).message();
  }
  return false;
}

bool is_unspecified(const IpAddr& a) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.bytes[i] != 0) return false;
  }
  return true;
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Driver::Driver(Endpoint& endpoint, Options opt) : ep_(endpoint), opt_(opt) {}

Driver::~Driver() { close(); }

void Driver::close() {
  for (Sock& s : socks_) {
    if (s.fd >= 0) ::close(s.fd);
  }
  socks_.clear();
  pfd_.clear();
  next_timer_ = 0;
}

bool Driver::open(const std::vector<std::string>& addrs, std::string* err) {
  if (!socks_.empty()) {
    if (err != nullptr) *err = "socket driver already open on " + local_address(0);
    return false;
  }
  if (addrs.empty()) {
    if (err != nullptr) *err = "socket driver: no local address given";
    return false;
  }
  if (addrs.size() > kMaxSockets) {
    if (err != nullptr) *err = "socket driver: too many local addresses";
    return false;
  }
  if (opt_.burst == 0 || opt_.burst > kMaxBurst) {
    if (err != nullptr) *err = "socket driver: burst must be in 1..1024";
    return false;
  }
  if (opt_.max_datagram == 0 || opt_.max_datagram > kMaxDatagram) {
    if (err != nullptr) *err = "socket driver: max_datagram must be in 1..65507";
    return false;
  }

  const size_t burst = opt_.burst;
  const size_t max = opt_.max_datagram;
  rx_buf_ = std::make_unique<uint8_t[]>(burst * max);
  tx_buf_ = std::make_unique<uint8_t[]>(burst * max);
  rx_msg_.assign(burst, mmsghdr{});
  rx_iov_.assign(burst, iovec{});
  rx_name_.assign(burst, SockAddr{});
  rx_ctl_.assign(burst, Ctl{});
  rx_dgram_.assign(burst, RxDatagram{});
  tx_slot_.assign(burst, TxSlot{});
  tx_msg_.assign(burst, mmsghdr{});
  tx_iov_.assign(burst, iovec{});
  tx_name_.assign(burst, SockAddr{});
  tx_ctl_.assign(burst, Ctl{});
  for (size_t i = 0; i < burst; ++i) {
    rx_iov_[i] = iovec{rx_buf_.get() + i * max, max};
    msghdr& r = rx_msg_[i].msg_hdr;
    r.msg_name = &rx_name_[i].ss;
    r.msg_iov = &rx_iov_[i];
    r.msg_iovlen = 1;
    r.msg_control = rx_ctl_[i].b;
    msghdr& t = tx_msg_[i].msg_hdr;
    t.msg_name = &tx_name_[i].ss;
    t.msg_iov = &tx_iov_[i];
    t.msg_iovlen = 1;
    tx_slot_[i].data = tx_buf_.get() + i * max;
    tx_slot_[i].cap = opt_.max_datagram;
  }

  socks_.reserve(addrs.size());
  for (const std::string& a : addrs) {
    if (!open_one(a, err)) {
      close();
      return false;
    }
  }
  pfd_.resize(socks_.size());
  for (size_t i = 0; i < socks_.size(); ++i) pfd_[i] = pollfd{socks_[i].fd, POLLIN, 0};
  next_timer_ = 0;
  return true;
}

bool Driver::open_one(const std::string& text, std::string* err) {
  SockAddr a;
  if (!parse_address(text, &a, err)) return false;
  const int fd = ::socket(a.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) return sys_fail(err, "socket for", text, errno);
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    return sys_fail(err, what, text, e);
  };
  const int one = 1;
  if (a.family() == AF_INET6) {
    // IPv6 sockets carry IPv6 only, so [::]:P and 0.0.0.0:P can both be opened and every tuple
    // the endpoint sees has the family of its socket (no v4-mapped addresses).
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
      return fail("IPV6_V6ONLY on");
    }
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) != 0) {
      return fail("IPV6_RECVPKTINFO on");
    }
  } else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) != 0) {
    return fail("IP_PKTINFO on");
  }
  if (opt_.rcvbuf > 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opt_.rcvbuf, sizeof(opt_.rcvbuf)) != 0) {
    return fail("SO_RCVBUF on");
  }
  if (opt_.sndbuf > 0 &&
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &opt_.sndbuf, sizeof(opt_.sndbuf)) != 0) {
    return fail("SO_SNDBUF on");
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.ss), a.len) != 0) return fail("bind");
  Sock s;
  s.fd = fd;
  s.bound.len = sizeof(s.bound.ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&s.bound.ss), &s.bound.len) != 0) {
    return fail("getsockname");
  }
  s.wildcard = a.is_wildcard();
  socks_.push_back(s);
  return true;
}

void Driver::rx_burst(size_t si, uint64_t now_ns, size_t* got) {
  const Sock& s = socks_[si];
  const unsigned burst = opt_.burst;
  for (unsigned i = 0; i < burst; ++i) {  // the kernel overwrites these lengths on every call
    msghdr& h = rx_msg_[i].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_controllen = kCtlSize;
    h.msg_flags = 0;
  }
  // MSG_TRUNC: msg_len is the datagram's real length, so oversized ones are counted in full.
  const int n = recvmmsg(s.fd, rx_msg_.data(), burst, MSG_DONTWAIT | MSG_TRUNC, nullptr);
  if (n <= 0) return;  // EAGAIN: nothing queued; EINTR and the like: the next step retries
  *got += static_cast<size_t>(n);

  const IpAddr bound_ip = s.bound.ip();
  const uint16_t bound_port = s.bound.port();
  size_t nd = 0;
  for (int i = 0; i < n; ++i) {
    mmsghdr& m = rx_msg_[i];
    stats_.rx_packets++;
    stats_.rx_bytes += m.msg_len;
    if (m.msg_hdr.msg_flags & MSG_TRUNC) {  // larger than max_datagram: never hand on a piece
      stats_.drop(DropReason::udp_truncated);
      continue;
    }
    RxDatagram& d = rx_dgram_[nd++];
    d.data = rx_buf_.get() + static_cast<size_t>(i) * opt_.max_datagram;
    d.len = static_cast<uint16_t>(m.msg_len);
    d.tuple = Tuple{};
    d.tuple.remote = rx_name_[i].ip();
    d.tuple.remote_port = rx_name_[i].port();
    d.tuple.local = bound_ip;
    d.tuple.local_port = bound_port;
    d.tuple.iface = static_cast<uint16_t>(si);
    // The destination address the datagram carried: what a wildcard socket answers from.
    msghdr* h = &m.msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(h); c != nullptr; c = CMSG_NXTHDR(h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
          c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        d.tuple.local = IpAddr::v4(reinterpret_cast<const uint8_t*>(&pi.ipi_addr));
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
                 c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof(pi));
        d.tuple.local = IpAddr::v6(pi.ipi6_addr.s6_addr);
      }
    }
  }
  if (nd == 0) return;
  stats_.udp_rx += nd;
  TxBatch batch(tx_slot_.data(), opt_.burst);
  ep_.on_datagrams(rx_dgram_.data(), nd, now_ns, batch, stats_);
  flush(batch);
}

size_t Driver::poll(uint64_t now_ns) {
  if (socks_.empty()) return 0;
  stats_.polls++;
  size_t got = 0;
  const uint64_t delivered_before = stats_.udp_rx;
  for (size_t si = 0; si < socks_.size(); ++si) rx_burst(si, now_ns, &got);
  // on_datagrams cannot return a deadline, so after delivering we ask on_timer for it; a
  // well-behaved endpoint only does what is due.
  if (now_ns >= next_timer_ || stats_.udp_rx != delivered_before) {
    TxBatch batch(tx_slot_.data(), opt_.burst);
    next_timer_ = ep_.on_timer(now_ns, batch, stats_);
    flush(batch);
  }
  if (got == 0) stats_.idle_polls++;
  return got;
}

void Driver::run(const std::atomic<bool>& quit) {
  while (!quit.load(std::memory_order_relaxed)) {
    if (poll(monotonic_ns()) > 0) continue;  // busy: drain before waiting
    wait(kMaxWaitNs);
  }
}

void Driver::wait(uint64_t max_wait_ns) {
  const uint64_t now = monotonic_ns();
  if (next_timer_ <= now) return;
  const uint64_t wait = std::min(next_timer_ - now, max_wait_ns);
  const timespec ts{static_cast<time_t>(wait / 1'000'000'000ull),
                    static_cast<long>(wait % 1'000'000'000ull)};
  for (pollfd& p : pfd_) p.revents = 0;
  stats_.sleeps++;
  ppoll(pfd_.data(), pfd_.size(), &ts, nullptr);  // EINTR: the caller polls again
}

void Driver::flush(TxBatch& batch) {
  const uint16_t used = batch.used();
  stats_.udp_tx += used;
  // Runs of consecutive slots that leave through the same socket go out in one sendmmsg.
  uint16_t i = 0;
  while (i < used) {
    const uint16_t iface = tx_slot_[i].tuple.iface;
    uint16_t j = static_cast<uint16_t>(i + 1);
    while (j < used && tx_slot_[j].tuple.iface == iface) ++j;
    if (iface < socks_.size()) {
      send_run(iface, i, static_cast<uint16_t>(j - i));
    } else {
      stats_.drop(DropReason::tx_ring_full, j - i);  // no such socket: nowhere to send it
    }
    i = j;
  }
  // Give the lent slots back clean; the endpoint may have touched one past the last commit.
  const uint16_t touched = std::min<uint16_t>(static_cast<uint16_t>(used + 1), opt_.burst);
  for (uint16_t k = 0; k < touched; ++k) {
    TxSlot& s = tx_slot_[k];
    s.data = tx_buf_.get() + static_cast<size_t>(k) * opt_.max_datagram;
    s.cap = opt_.max_datagram;
    s.len = 0;
    s.tuple = Tuple{};
  }
}

// Fills message w from slot k for socket s; false when the slot cannot go out of that socket.
bool Driver::prepare_tx(uint16_t k, uint16_t w, const Sock& s) {
  const TxSlot& slot = tx_slot_[k];
  const int fam = s.bound.family() == AF_INET6 ? 6 : 4;
  if (slot.len > opt_.max_datagram || slot.tuple.remote.family != fam) return false;
  if (!to_sockaddr(slot.tuple.remote, slot.tuple.remote_port, s.bound.scope_id(), &tx_name_[w])) {
    return false;
  }
  // The payload is read from our own buffer, whatever the endpoint did to slot.data.
  tx_iov_[w] = iovec{tx_buf_.get() + static_cast<size_t>(k) * opt_.max_datagram, slot.len};
  msghdr& h = tx_msg_[w].msg_hdr;
  h.msg_namelen = tx_name_[w].len;
  h.msg_flags = 0;
  const IpAddr& local = slot.tuple.local;
  if (!s.wildcard || local.family != fam || is_unspecified(local)) {
    h.msg_control = nullptr;
    h.msg_controllen = 0;
    return true;
  }
  // A wildcard socket answers from the address the peer used: name it in a pktinfo message.
  h.msg_control = tx_ctl_[w].b;
  cmsghdr* c = reinterpret_cast<cmsghdr*>(tx_ctl_[w].b);
  if (fam == 4) {
    in_pktinfo pi{};
    std::memcpy(&pi.ipi_spec_dst, local.bytes, 4);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    h.msg_controllen = CMSG_SPACE(sizeof(pi));
  } else {
    in6_pktinfo pi{};
    std::memcpy(&pi.ipi6_addr, local.bytes, 16);
    pi.ipi6_ifindex = s.bound.scope_id();
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    std::memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    h.msg_controllen = CMSG_SPACE(sizeof(pi));
  }
  return true;
}

void Driver::send_run(size_t si, uint16_t first, uint16_t n) {
  const Sock& s = socks_[si];
  // Compact the sendable slots into messages [first, first + m).
  uint16_t m = 0;
  for (uint16_t k = first; k < first + n; ++k) {
    if (prepare_tx(k, static_cast<uint16_t>(first + m), s)) {
      ++m;
    } else {
      stats_.drop(DropReason::tx_ring_full);  // wrong family or oversized: the kernel won't take it
    }
  }
  uint16_t off = 0;
  unsigned interrupted = 0;
  while (off < m) {
    const int r = sendmmsg(s.fd, &tx_msg_[first + off], m - off, MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; ++k) {
        stats_.tx_packets++;
        stats_.tx_bytes += tx_msg_[first + off + k].msg_len;
      }
      off = static_cast<uint16_t>(off + r);
      continue;
    }
    const int e = r < 0 ? errno : 0;
    if (e == EINTR && ++interrupted < 3) continue;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
      // The socket buffer or the device queue is full: drop the rest now, never wait for room.
      stats_.drop(DropReason::tx_ring_full, m - off);
      return;
    }
    // This one message was refused (bad destination, too large, no route): drop it, go on.
    stats_.drop(DropReason::tx_ring_full);
    ++off;
  }
}

}  // namespace camp::sockdrv
