// net_null hands out mbufs as they sit in the pool without writing them, so a pool whose buffers
// all hold one valid frame turns a net_null port into a packet generator at no per-packet cost.
// The frame goes between two of the port's own addresses on the same UDP port, MAC to itself:
// a reply rewritten in place (the reflector answers in the received buffer) is then again a
// valid datagram for campd, and the pool stays a generator. Used by `tools/camp bench udp`.
#pragma once

#include <rte_mempool.h>

#include "drivers/net/l2l3.h"

namespace camp::dpdk {

// Writes into every mbuf of `pool` an IPv4 UDP datagram from local.ipv4[1] to local.ipv4[0], both
// on local.udp_port, from and to local.mac, with valid checksums. Needs two IPv4 addresses.
// Returns the frame length.
uint16_t fill_udp_template(rte_mempool* pool, const net::LocalAddrs& local);

}  // namespace camp::dpdk
