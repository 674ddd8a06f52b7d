// One DPDK port as campd uses it: a queue pair per worker, mbuf pools sized at start, RSS when
// there is more than one queue and the port supports it, checksum offloads when it has them.
#pragma once

#include <rte_mempool.h>

#include <cstdint>
#include <string>
#include <vector>

#include "drivers/net/l2l3.h"

namespace camp::dpdk {

struct PortConfig {
  uint16_t port_id = 0;
  uint16_t queues = 1;      // rx/tx queue pairs wanted (one per worker); clamped to what the port has
  uint16_t rxd = 1024;
  uint16_t txd = 1024;
  net::LocalAddrs local;    // addresses this port answers for (mac filled in by open_port)
};

struct Port {
  uint16_t port_id = 0;
  uint16_t queues = 0;      // queue pairs actually set up
  std::string name;
  std::string driver;
  bool rss = false;
  bool ip_cksum_offload = false;   // tx IPv4 header checksum
  bool l4_cksum_offload = false;   // tx UDP checksum
  bool rx_cksum_offload = false;   // the port reports rx checksum status
  uint16_t mtu = 1500;
  net::LocalAddrs local;
};

// Configures and starts the port: `rx_pools[q]` feeds rx queue q (allocated on the worker's
// socket). On failure returns false with a message in *err naming the port and what failed; the
// caller closes the port.
bool open_port(const PortConfig& cfg, const std::vector<rte_mempool*>& rx_pools, Port* out,
               std::string* err);
void close_port(uint16_t port_id);

std::string mac_to_string(const uint8_t mac[6]);

}  // namespace camp::dpdk
