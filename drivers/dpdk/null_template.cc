#include "drivers/dpdk/null_template.h"

#include <rte_mbuf.h>

#include <cstring>

namespace camp::dpdk {

namespace {

struct Template {
  uint8_t frame[128];
  uint16_t len;
};

void write_one(rte_mempool*, void* opaque, void* obj, unsigned) {
  const Template& t = *static_cast<const Template*>(opaque);
  auto* m = static_cast<rte_mbuf*>(obj);
  const uint16_t off = RTE_MIN(static_cast<uint16_t>(RTE_PKTMBUF_HEADROOM), m->buf_len);
  if (off + t.len <= m->buf_len) std::memcpy(static_cast<uint8_t*>(m->buf_addr) + off, t.frame, t.len);
}

}  // namespace

uint16_t fill_udp_template(rte_mempool* pool, const net::LocalAddrs& local) {
  static const uint8_t kPayload[] = "camp-null-template";  // 18 bytes + NUL
  constexpr uint16_t kPayloadLen = sizeof kPayload - 1;
  Template t{};
  Tuple tuple;
  tuple.local = IpAddr::v4(local.ipv4[1]);
  tuple.local_port = local.udp_port;
  tuple.remote = IpAddr::v4(local.ipv4[0]);
  tuple.remote_port = local.udp_port;
  std::memcpy(tuple.next_hop_mac, local.mac, 6);
  std::memcpy(t.frame + net::udp_headroom(4), kPayload, kPayloadLen);
  t.len = net::build_udp(t.frame, kPayloadLen, tuple, local.mac, false, false);
  rte_mempool_obj_iter(pool, write_one, &t);
  return t.len;
}

}  // namespace camp::dpdk
