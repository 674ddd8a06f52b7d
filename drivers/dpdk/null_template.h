// net_null hands out mbufs as they sit in the pool without writing them, so a pool whose buffers
// all hold one valid frame turns a net_null port into a packet generator at no per-packet cost.
// campd's workers never write into rx buffers on the UDP path (replies are built in tx mbufs),
// so the template survives every round trip. Used by `tools/camp bench udp`.
#pragma once

#include <rte_mempool.h>

#include "drivers/net/l2l3.h"

namespace camp::dpdk {

// Writes into every mbuf of `pool` an IPv4 UDP datagram from 198.18.0.2:1024 (MAC
// 02:00:00:00:00:02) to local.ipv4[0]:local.udp_port at local.mac, with valid checksums.
// Returns the frame length.
uint16_t fill_udp_template(rte_mempool* pool, const net::LocalAddrs& local);

}  // namespace camp::dpdk
