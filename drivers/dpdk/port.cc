#include "drivers/dpdk/port.h"

#include <rte_ethdev.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace camp::dpdk {

namespace {

bool fail(std::string* err, uint16_t port, const char* what, int rc) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "port %u: %s failed: %s", port, what, rte_strerror(-rc));
  *err = buf;
  return false;
}

}  // namespace

std::string mac_to_string(const uint8_t mac[6]) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

bool open_port(const PortConfig& cfg, const std::vector<rte_mempool*>& rx_pools, Port* out,
               std::string* err) {
  const uint16_t pid = cfg.port_id;
  if (!rte_eth_dev_is_valid_port(pid)) {
    *err = "port " + std::to_string(pid) + " does not exist (give it with -a PCI or --vdev)";
    return false;
  }
  rte_eth_dev_info info;
  int rc = rte_eth_dev_info_get(pid, &info);
  if (rc != 0) return fail(err, pid, "rte_eth_dev_info_get", rc);

  Port p;
  p.port_id = pid;
  p.driver = info.driver_name ? info.driver_name : "";
  char name[RTE_ETH_NAME_MAX_LEN];
  p.name = rte_eth_dev_get_name_by_port(pid, name) == 0 ? name : "";
  p.queues = std::min<uint16_t>({cfg.queues, info.max_rx_queues, info.max_tx_queues});
  if (p.queues == 0) {
    *err = "port " + std::to_string(pid) + " has no rx/tx queues";
    return false;
  }
  if (rx_pools.size() < p.queues) {
    *err = "port " + std::to_string(pid) + ": fewer rx pools than queues";
    return false;
  }

  rte_eth_conf conf{};
  if (p.queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    p.rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
    if (!p.rss) conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
  }
  // Only what the port has: virtio, for one, checks UDP and TCP but not IPv4 headers. A check the
  // port does not make reports "unknown" and is done in software.
  const uint64_t rx_ck =
      info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
  conf.rxmode.offloads |= rx_ck;
  p.rx_cksum_offload = rx_ck != 0;
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    p.ip_cksum_offload = true;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    p.l4_cksum_offload = true;
  }
  // No MBUF_FAST_FREE: one tx queue sends mbufs of two pools (replies in place come from the rx
  // pool, fresh ones from the tx pool), and fast free assumes a single pool.

  rc = rte_eth_dev_configure(pid, p.queues, p.queues, &conf);
  if (rc != 0) return fail(err, pid, "rte_eth_dev_configure", rc);
  uint16_t rxd = cfg.rxd, txd = cfg.txd;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
  if (rc != 0) return fail(err, pid, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);

  const int socket = rte_eth_dev_socket_id(pid);
  for (uint16_t q = 0; q < p.queues; ++q) {
    rte_eth_rxconf rxc = info.default_rxconf;
    rxc.offloads = conf.rxmode.offloads;
    rc = rte_eth_rx_queue_setup(pid, q, rxd, socket < 0 ? SOCKET_ID_ANY : socket, &rxc,
                                rx_pools[q]);
    if (rc != 0) return fail(err, pid, "rte_eth_rx_queue_setup", rc);
    rte_eth_txconf txc = info.default_txconf;
    txc.offloads = conf.txmode.offloads;
    rc = rte_eth_tx_queue_setup(pid, q, txd, socket < 0 ? SOCKET_ID_ANY : socket, &txc);
    if (rc != 0) return fail(err, pid, "rte_eth_tx_queue_setup", rc);
  }

  rte_ether_addr mac;
  rc = rte_eth_macaddr_get(pid, &mac);
  if (rc != 0) return fail(err, pid, "rte_eth_macaddr_get", rc);
  p.local = cfg.local;
  std::memcpy(p.local.mac, mac.addr_bytes, 6);
  p.local.iface = pid;
  if (!p.local.add_link_local()) {
    *err = "port " + std::to_string(pid) + ": too many IPv6 addresses";
    return false;
  }

  if (rte_eth_dev_get_mtu(pid, &p.mtu) != 0 || p.mtu < 1280) p.mtu = RTE_ETHER_MTU;
  rc = rte_eth_dev_start(pid);
  if (rc != 0) return fail(err, pid, "rte_eth_dev_start", rc);
  // Multicast MACs (IPv6 neighbour discovery) must reach us; not every PMD filters them anyway.
  rte_eth_allmulticast_enable(pid);
  *out = std::move(p);
  return true;
}

void close_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace camp::dpdk
