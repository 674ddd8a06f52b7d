// campd: the engine. EAL options before `--`, campd's after, as testpmd does.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_pdump.h>
#include <rte_vect.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/control_plane.h"
#include "tools/campd/quic_service.h"
#include "dataplane/reflector.h"
#include "drivers/dpdk/null_template.h"
#include "drivers/dpdk/port.h"
#include "drivers/dpdk/steer.h"
#include "drivers/dpdk/worker.h"
#include "tools/campd/options.h"
#include "tools/campd/run_socket.h"

namespace {

using namespace camp;

std::atomic<bool> g_quit{false};

// The first signal asks for a clean stop; a second one, if the stop hangs, ends the process.
void on_signal(int) {
  if (g_quit.exchange(true)) _exit(130);
}

// EAL arguments used when none are given: virtual devices only, no hugepages, and the first two
// CPUs this process may run on (a main lcore and one worker).
std::vector<std::string> embedded_eal_args() {
  cpu_set_t set;
  std::string lcores;
  int found = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
      if (CPU_ISSET(c, &set)) {
        if (found++) lcores += ',';
        lcores += std::to_string(c);
      }
  if (found == 0) lcores = "0";
  return {"-l", lcores, "--no-huge", "-m", "512", "--no-pci",
          "--file-prefix", "camp", "--vdev", "net_tap0,iface=camp0"};
}

int die(const std::string& msg) {
  std::fprintf(stderr, "campd: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Split at "--": EAL's part, then ours.
  int split = argc;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  // Without "--" every argument is EAL's, as in every DPDK program; with nothing before "--" the
  // embedded default EAL options are used.
  std::vector<char*> ours = {argv[0]};
  for (int i = split + 1; i < argc; ++i) ours.push_back(argv[i]);
  for (int i = 1; i < split; ++i)
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::fputs(campd::usage(argv[0]).c_str(), stdout);
      return 0;
    }

  campd::Options opt;
  std::string err;
  switch (campd::parse_options(static_cast<int>(ours.size()), ours.data(), &opt, &err)) {
    case campd::ParseResult::help: std::fputs(campd::usage(argv[0]).c_str(), stdout); return 0;
    case campd::ParseResult::error: return die(err);
    case campd::ParseResult::ok: break;
  }

  if (opt.driver == campd::DriverKind::socket) {
    if (split > 1) return die("EAL options were given, but --driver socket uses no EAL");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return campd::run_socket_engine(opt, g_quit);
  }
  // --listen with DPDK: the address goes on port 0, the port number is the UDP port.
  for (const std::string& l : opt.listen) {
    const auto colon = l.rfind(':');
    std::string host = l.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const uint16_t port = static_cast<uint16_t>(std::stoul(l.substr(colon + 1)));
    if (port == 0 || (l != opt.listen.front() && port != opt.udp_port))
      return die("--listen: with the dpdk driver every address needs the same, non-zero port");
    opt.udp_port = port;
    if (!campd::add_address(opt.ports[0], host, &err)) return die("--listen: " + err);
  }

  std::vector<std::string> eal_args;
  const bool embedded = split <= 1;
  if (embedded) {
    eal_args = embedded_eal_args();
    campd::PortOptions& p0 = opt.ports[0];
    if (p0.addr_text.empty()) {
      campd::add_address(p0, "198.18.0.1", &err);
      campd::add_address(p0, "2001:2::1", &err);
    }
  } else {
    for (int i = 1; i < split; ++i) eal_args.emplace_back(argv[i]);
  }
  if (opt.ports[0].addr_text.empty())
    return die("port 0 has no address: give --addr ADDR or [port.0] addresses = ...");
  if (!opt.null_template.empty() && opt.ports[0].local.n_ipv4 < 2)
    return die("--null-template udp needs two IPv4 addresses on port 0 (it sends between them)");

  std::vector<char*> eal_argv = {argv[0]};
  std::string eal_line;
  for (auto& a : eal_args) {
    eal_argv.push_back(a.data());
    eal_line += (eal_line.empty() ? "" : " ") + a;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
    return die(std::string("EAL init failed: ") + rte_strerror(rte_errno) +
               (embedded ? " (the embedded default makes a tap device: run as root, or give "
                           "EAL options with --vdev)"
                         : ""));
  // DPDK may use AVX-512 where the CPU has it (the build only asks for corei7), unless the user
  // chose a width with --force-max-simd-bitwidth.
  if (eal_line.find("--force-max-simd-bitwidth") == std::string::npos) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // experimental in 22.11, and needed
    rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);
#pragma GCC diagnostic pop
  }
  const bool pdump = rte_pdump_init() == 0;

  int rc = 0;
  auto fail = [&](const std::string& m) {
    rc = die(m);
    return rc;
  };

  // Workers: one per worker lcore; the main lcore works too when there is no other.
  std::vector<unsigned> lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
  const bool main_works = lcores.empty();
  if (main_works) lcores.push_back(rte_get_main_lcore());
  const uint16_t n_workers = static_cast<uint16_t>(lcores.size());

  // Port ids as DPDK numbers them (not always 0..n-1, e.g. after hotplug).
  std::vector<uint16_t> port_ids;
  uint16_t pid_it;
  RTE_ETH_FOREACH_DEV(pid_it) port_ids.push_back(pid_it);
  if (port_ids.empty()) {
    fail("no ports: give a NIC with -a PCI_ADDR, or a virtual device with --vdev (e.g. net_tap0)");
    rte_eal_cleanup();
    return rc;
  }
  if (port_ids.size() > dpdk::kMaxWorkerQueues) {
    fail(std::to_string(port_ids.size()) + " ports: a worker polls at most " +
         std::to_string(dpdk::kMaxWorkerQueues));
    rte_eal_cleanup();
    return rc;
  }
  for (const auto& [id, p] : opt.ports)
    if (!rte_eth_dev_is_valid_port(id)) {
      fail("port " + std::to_string(id) + " is configured but does not exist (" +
           std::to_string(port_ids.size()) + " ports)");
      rte_eal_cleanup();
      return rc;
    }

  // Pools sized at start: per worker one rx pool (shared by its queues) and one tx pool.
  std::vector<std::unique_ptr<dpdk::Worker>> workers;
  std::vector<std::unique_ptr<WorkerChannel>> channels;
  std::vector<std::unique_ptr<Reflector>> endpoints;
  std::unique_ptr<campd::QuicService> quic;
  if (!opt.www.empty()) {
    std::string why;
    quic = campd::QuicService::create(opt, &why);
    if (!quic) {
      fail(why);
      rte_eal_cleanup();
      return rc;
    }
  }
  std::vector<rte_mempool*> rx_pools, tx_pools;
  uint32_t per_worker_desc = 0;
  for (uint16_t pid : port_ids) {
    const campd::PortOptions& po = opt.ports[pid];
    per_worker_desc += (opt.rxd ? opt.rxd : po.rxd) + (opt.txd ? opt.txd : po.txd);
  }
  // With several workers, datagrams parked in steering rings and backlogs come from the
  // receiving worker's pool: room for them on top, so steering never starves rx.
  const uint32_t n_rx = (opt.mbufs ? opt.mbufs : per_worker_desc + 4 * dpdk::kMaxBurst + 1024) +
                        dpdk::steer_pool_extra(n_workers);
  const uint32_t n_tx = per_worker_desc + 4 * dpdk::kMaxBurst + 1024;
  for (uint16_t w = 0; w < n_workers; ++w) {
    const int socket = static_cast<int>(rte_lcore_to_socket_id(lcores[w]));
    const std::string rxn = "camp_rx" + std::to_string(w), txn = "camp_tx" + std::to_string(w);
    rte_mempool* rx = rte_pktmbuf_pool_create(rxn.c_str(), n_rx, 256, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    rte_mempool* tx = rte_pktmbuf_pool_create(txn.c_str(), n_tx, 256, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (!rx || !tx) {
      fail("cannot create mbuf pools (" + std::to_string(n_rx) + "+" + std::to_string(n_tx) +
           " mbufs for worker " + std::to_string(w) + "): " + rte_strerror(rte_errno) +
           "; give EAL more memory (-m) or fewer descriptors");
      rte_eal_cleanup();
      return rc;
    }
    rx_pools.push_back(rx);
    tx_pools.push_back(tx);
    auto wk = std::make_unique<dpdk::Worker>();
    wk->id = w;
    wk->tx_pool = tx;
    channels.push_back(std::make_unique<WorkerChannel>());
    wk->channel = channels.back().get();
    if (quic) {
      std::string why;
      wk->endpoint = quic->make_worker_endpoint(w, n_workers, &why);
      if (!wk->endpoint) {
        fail(why);
        rte_eal_cleanup();
        return rc;
      }
    } else {
      endpoints.push_back(std::make_unique<Reflector>());
      wk->endpoint = endpoints.back().get();
    }
    wk->quit = &g_quit;
    wk->settings = opt.worker;
    workers.push_back(std::move(wk));
  }

  // Ports: a queue pair per worker (as many as the port has).
  std::vector<std::unique_ptr<dpdk::Port>> ports;
  control::EngineInfo info;
  for (uint16_t pid : port_ids) {
    campd::PortOptions& po = opt.ports[pid];
    dpdk::PortConfig pc;
    pc.port_id = pid;
    pc.queues = n_workers;
    pc.rxd = opt.rxd ? opt.rxd : po.rxd;
    pc.txd = opt.txd ? opt.txd : po.txd;
    pc.local = po.local;
    pc.local.udp_port = opt.udp_port;
    auto port = std::make_unique<dpdk::Port>();
    if (!dpdk::open_port(pc, rx_pools, port.get(), &err)) {
      fail(err);
      dpdk::close_port(pid);
      for (auto& p : ports) dpdk::close_port(p->port_id);
      rte_eal_cleanup();
      return rc;
    }
    for (uint16_t q = 0; q < port->queues; ++q) {
      dpdk::Worker& w = *workers[q];
      dpdk::WorkerQueue& wq = w.queues[w.n_queues++];
      wq.port = pid;
      wq.queue = q;
      wq.local = &port->local;
      wq.rx_cksum = port->rx_cksum_offload;
      wq.ip_offload = port->ip_cksum_offload;
      wq.l4_offload = port->l4_cksum_offload;
      wq.mtu = port->mtu;
    }
    control::PortInfo pi;
    pi.port_id = pid;
    pi.name = port->name;
    pi.driver = port->driver;
    pi.mac = dpdk::mac_to_string(port->local.mac);
    pi.addresses = po.addr_text;
    pi.rx_queues = pi.tx_queues = port->queues;
    pi.rss = port->rss;
    pi.ip_cksum_offload = port->ip_cksum_offload;
    pi.l4_cksum_offload = port->l4_cksum_offload;
    info.ports.push_back(pi);
    std::printf("campd: port %u %s (%s) mac %s, %u queue pair(s)%s, addresses:", pid,
                port->name.c_str(), port->driver.c_str(), pi.mac.c_str(), port->queues,
                port->rss ? " with RSS" : "");
    for (const auto& a : po.addr_text) std::printf(" %s", a.c_str());
    std::printf("\n");
    ports.push_back(std::move(port));
  }
  // Per-core steering: a connection's paths arrive on whatever queue RSS picks; each worker hands
  // datagrams whose connection ID names another worker to that worker's ring.
  dpdk::SteerRings steer;
  if (n_workers > 1) {
    std::vector<dpdk::Worker*> wp;
    std::vector<int> sockets;
    for (uint16_t w = 0; w < n_workers; ++w) {
      wp.push_back(workers[w].get());
      sockets.push_back(static_cast<int>(rte_lcore_to_socket_id(lcores[w])));
    }
    const std::string why = dpdk::steer_unsupported(wp.data(), n_workers);
    if (!why.empty()) {
      std::fprintf(stderr, "campd: warning: steering between workers disabled (%s): a connection "
                   "whose paths reach different workers gets Stateless Resets\n", why.c_str());
    } else if (!steer.create(n_workers, sockets.data(), &err)) {
      fail(err);
      for (auto& p : ports) dpdk::close_port(p->port_id);
      rte_eal_cleanup();
      return rc;
    } else {
      steer.attach(wp.data(), n_workers);
      std::printf("campd: steering between %u workers (%u rings of %u)\n", n_workers,
                  n_workers * (n_workers - 1u), dpdk::kSteerRingSize);
    }
  }
  if (opt.null_template == "udp")
    for (rte_mempool* mp : rx_pools) dpdk::fill_udp_template(mp, ports[0]->local);

  info.version = "0.1.0";
  info.endpoint = quic ? "quic hq-interop" : "reflector";
  info.eal_args = eal_line;
  info.udp_port = opt.udp_port;
  for (uint16_t w = 0; w < n_workers; ++w) {
    control::WorkerInfo wi;
    wi.id = w;
    wi.lcore = lcores[w];
    for (unsigned i = 0; i < workers[w]->n_queues; ++i)
      wi.queues.emplace_back(workers[w]->queues[i].port, workers[w]->queues[i].queue);
    info.workers.push_back(wi);
  }
  info.port_counters = [](uint16_t pid, control::PortCounters& c) {
    rte_eth_stats s;
    if (rte_eth_stats_get(pid, &s) != 0) return false;
    c.ipackets = s.ipackets;
    c.opackets = s.opackets;
    c.ibytes = s.ibytes;
    c.obytes = s.obytes;
    c.imissed = s.imissed;
    c.ierrors = s.ierrors;
    c.oerrors = s.oerrors;
    c.rx_nombuf = s.rx_nombuf;
    rte_eth_link link;
    if (rte_eth_link_get_nowait(pid, &link) == 0) {
      c.link_up = link.link_status == RTE_ETH_LINK_UP;
      c.link_speed_mbps = link.link_speed;
    }
    return true;
  };
  info.request_quit = [] { g_quit.store(true); };

  std::vector<WorkerChannel*> chans;
  for (auto& c : channels) chans.push_back(c.get());
  control::ControlPlane control(info, chans);
  const std::string sock = opt.ctl_socket.empty() ? control::kDefaultSocketPath : opt.ctl_socket;
  if (!control.start(sock, opt.telemetry, &err)) {
    fail(err);
    steer.release();
    for (auto& p : ports) dpdk::close_port(p->port_id);
    rte_eal_cleanup();
    return rc;
  }

  for (uint16_t w = main_works ? 1 : 0; w < n_workers; ++w)
    rte_eal_remote_launch(dpdk::worker_main, workers[w].get(), lcores[w]);
  std::printf("campd: %u worker(s) on lcore(s)", n_workers);
  for (unsigned l : lcores) std::printf(" %u", l);
  std::printf(", UDP port %u (%s), campctl socket %s%s%s; ready\n", opt.udp_port,
              info.endpoint.c_str(), sock.c_str(), opt.telemetry ? ", telemetry /camp/*" : "",
              pdump ? ", pdump enabled" : "");
  std::fflush(stdout);

  // The main thread's duties: the prompt or waiting for a signal or the duration.
  auto duties = [&] {
    const auto start = std::chrono::steady_clock::now();
    std::thread prompt;
    if (opt.interactive) prompt = std::thread([&] { control::run_interactive(control, g_quit); });
    while (!g_quit.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (opt.duration_s > 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
              opt.duration_s)
        g_quit.store(true);
    }
    if (prompt.joinable()) prompt.join();  // it sees quit within 100 ms and restores the tty
  };
  if (main_works) {
    std::thread t(duties);
    dpdk::worker_main(workers[0].get());
    t.join();
  } else {
    duties();
  }
  rte_eal_mp_wait_lcore();
  control.stop();
  // Every worker stopped: what is still parked between them is freed (counted as steer_drained).
  {
    std::vector<dpdk::Worker*> wp;
    for (auto& w : workers) wp.push_back(w.get());
    steer.drain(wp.data(), n_workers);
    steer.release();
  }

  std::vector<WorkerTelemetry> final_tel;
  for (auto& w : workers) final_tel.push_back(WorkerTelemetry{w->id, 0, 0, w->stats, w->settings});
  if (quic && !opt.final_json) std::printf("%s\n", quic->summary().c_str());
  std::printf("%s\n", control::format_stats(final_tel, info, opt.final_json).c_str());
  for (auto& p : ports) dpdk::close_port(p->port_id);
  if (pdump) rte_pdump_uninit();
  rte_eal_cleanup();
  return rc;
}
