// The kernel UDP driver: camp's I/O-free endpoint behind ordinary Linux UDP sockets, for clients
// and for machines without DPDK. One Driver owns a few sockets (one per local address), lends the
// endpoint the same RxDatagram bursts and TxBatch slots a DPDK worker does, and calls on_timer.
// All buffers are allocated by open(); the per-packet path allocates nothing and makes no
// syscall of its own (one recvmmsg per burst, one sendmmsg per run of replies).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/endpoint.h"
#include "dataplane/worker_stats.h"
#include "drivers/socket/address.h"

namespace camp::sockdrv {

// Largest UDP payload the driver handles: what fits an IPv4 datagram (65535 - 20 - 8).
inline constexpr uint16_t kMaxDatagram = 65507;

struct Options {
  uint16_t burst = 32;                  // datagrams per recvmmsg, tx slots per endpoint call
  uint16_t max_datagram = kMaxDatagram;  // rx buffer size and TxSlot::cap (1..kMaxDatagram)
  int rcvbuf = 0;                       // SO_RCVBUF / SO_SNDBUF when > 0; kernel default otherwise
  int sndbuf = 0;
};

// CLOCK_MONOTONIC in nanoseconds: the time the driver gives the endpoint.
uint64_t monotonic_ns();

class Driver {
 public:
  explicit Driver(Endpoint& endpoint, Options opt = {});
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Opens and binds one socket per address ("ADDR:PORT", see address.h); socket i becomes
  // Tuple::iface i. On any failure nothing stays open and *err names the address at fault.
  bool open(const std::vector<std::string>& addrs, std::string* err);
  void close();

  size_t size() const { return socks_.size(); }
  // The bound address of socket i after port-0 resolution, e.g. "127.0.0.1:40123".
  std::string local_address(size_t i) const { return format_address(socks_[i].bound); }
  const SockAddr& local_sockaddr(size_t i) const { return socks_[i].bound; }
  uint16_t local_port(size_t i) const { return socks_[i].bound.port(); }

  // One step at time `now_ns`: one rx burst from each socket into the endpoint, then on_timer when
  // its deadline has passed or datagrams were delivered (so a deadline armed by rx is learnt);
  // everything the endpoint committed is sent. Returns the datagrams received.
  size_t poll(uint64_t now_ns);

  // Polls until `quit` is set, waiting in ppoll while idle until a socket is readable or the
  // endpoint's timer is due; the flag is checked at least every 100 ms.
  void run(const std::atomic<bool>& quit);

  // Waits until a socket is readable, the endpoint's timer is due, or max_wait_ns passed
  // (a caller with its own duties between polls, such as control commands, bounds it).
  void wait(uint64_t max_wait_ns);

  // The endpoint's next deadline (0 before the first on_timer call: the first step runs it).
  uint64_t next_timer() const { return next_timer_; }
  // The next poll runs on_timer whatever the deadline (the endpoint was given work from outside).
  void wake() { next_timer_ = 0; }
  // Owned by the polling thread; read it from elsewhere only after run() returned.
  const WorkerStats& stats() const { return stats_; }
  WorkerStats& stats() { return stats_; }  // the polling thread's, e.g. to reset it
  const Options& options() const { return opt_; }

 private:
  struct Sock {
    int fd = -1;
    SockAddr bound;
    bool wildcard = false;  // replies need an explicit source address (pktinfo cmsg)
  };
  // Room for one IP_PKTINFO or IPV6_PKTINFO control message (aligned for cmsghdr).
  static constexpr size_t kCtlSize = 64;
  struct alignas(cmsghdr) Ctl {
    uint8_t b[kCtlSize];
  };

  bool open_one(const std::string& text, std::string* err);
  void rx_burst(size_t si, uint64_t now_ns, size_t* got);
  void flush(TxBatch& batch);
  void send_run(size_t si, uint16_t first, uint16_t n);
  bool prepare_tx(uint16_t k, uint16_t w, const Sock& s);

  Endpoint& ep_;
  Options opt_;
  std::vector<Sock> socks_;
  uint64_t next_timer_ = 0;
  WorkerStats stats_;

  // Preallocated by open(): `burst` rx and tx buffers of max_datagram bytes each, and their
  // message headers, addresses and control buffers.
  std::unique_ptr<uint8_t[]> rx_buf_;
  std::unique_ptr<uint8_t[]> tx_buf_;
  std::vector<mmsghdr> rx_msg_;
  std::vector<iovec> rx_iov_;
  std::vector<SockAddr> rx_name_;
  std::vector<Ctl> rx_ctl_;
  std::vector<RxDatagram> rx_dgram_;
  std::vector<TxSlot> tx_slot_;
  std::vector<mmsghdr> tx_msg_;
  std::vector<iovec> tx_iov_;
  std::vector<SockAddr> tx_name_;
  std::vector<Ctl> tx_ctl_;
  std::vector<pollfd> pfd_;
};

}  // namespace camp::sockdrv
