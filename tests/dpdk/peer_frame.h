// The peer both DPDK worker tests talk to, and the UDP frames it sends us, built with the
// engine's own writer.
#pragma once

#include <rte_mbuf.h>

#include <cstring>
#include <string>

#include "dataplane/endpoint.h"
#include "drivers/net/l2l3.h"

namespace camp::dpdk::test {

inline const uint8_t kOurIp[4] = {198, 18, 0, 1};
inline const uint8_t kPeerIp[4] = {198, 18, 0, 2};
inline const uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0, 0x22};
inline constexpr uint16_t kPort = 4433;

// A datagram from the peer (port 5555) to kOurIp:kPort, for a port whose MAC is `our_mac`.
inline rte_mbuf* peer_udp_frame(rte_mempool* pool, const std::string& payload,
                                const uint8_t* our_mac) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  std::memcpy(f + net::udp_headroom(4), payload.data(), payload.size());
  Tuple t;
  t.local = IpAddr::v4(kPeerIp);
  t.local_port = 5555;
  t.remote = IpAddr::v4(kOurIp);
  t.remote_port = kPort;
  std::memcpy(t.next_hop_mac, our_mac, 6);
  const uint16_t len =
      net::build_udp(f, static_cast<uint16_t>(payload.size()), t, kPeerMac, false, false);
  m->data_len = m->pkt_len = len;
  return m;
}

}  // namespace camp::dpdk::test
