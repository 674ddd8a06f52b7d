#include "tools/campd/run_socket.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "control/control_plane.h"
#include "dataplane/reflector.h"
#include "drivers/socket/driver.h"
#include "tools/campd/quic_service.h"

namespace camp::campd {

namespace {
// How long an idle worker blocks in ppoll: short enough that control commands, the telemetry push
// and the quit flag are seen promptly.
constexpr uint64_t kMaxWaitNs = 20'000'000;
}  // namespace

int run_socket_engine(const Options& opt, std::atomic<bool>& quit) {
  Reflector reflector;
  std::string err;
  std::unique_ptr<QuicService> quic;
  Endpoint* endpoint = &reflector;
  if (!opt.www.empty()) {
    quic = QuicService::create(opt, &err);
    if (quic) endpoint = quic->make_worker_endpoint(0, 1, &err);
    if (!quic || !endpoint) {
      std::fprintf(stderr, "campd: %s\n", err.c_str());
      return 1;
    }
  }
  sockdrv::Driver drv(*endpoint);
  if (!drv.open(opt.listen, &err)) {
    std::fprintf(stderr, "campd: %s\n", err.c_str());
    return 1;
  }

  control::EngineInfo info;
  info.version = "0.1.0";
  info.endpoint = quic ? "quic hq-interop" : "reflector";
  info.eal_args = "(none: socket driver)";
  info.udp_port = drv.local_port(0);
  control::WorkerInfo wi;
  wi.id = 0;
  for (size_t i = 0; i < drv.size(); ++i) {
    control::PortInfo pi;
    pi.port_id = static_cast<uint16_t>(i);
    pi.name = "udp " + drv.local_address(i);
    pi.driver = "socket";
    pi.addresses = {drv.local_address(i)};
    pi.rx_queues = pi.tx_queues = 1;
    info.ports.push_back(pi);
    wi.queues.emplace_back(static_cast<uint16_t>(i), 0);
  }
  info.workers.push_back(wi);
  info.request_quit = [&quit] { quit.store(true); };

  WorkerChannel ch;
  control::ControlPlane control(info, {&ch});
  const std::string sock = opt.ctl_socket.empty() ? control::kDefaultSocketPath : opt.ctl_socket;
  // rte_telemetry needs EAL, which the socket driver does not start.
  if (!control.start(sock, false, &err)) {
    std::fprintf(stderr, "campd: %s\n", err.c_str());
    return 1;
  }
  std::printf("campd: socket driver, 1 worker, UDP on");
  for (size_t i = 0; i < drv.size(); ++i) std::printf(" %s", drv.local_address(i).c_str());
  std::printf(" (%s), campctl socket %s; ready\n", info.endpoint.c_str(), sock.c_str());
  std::fflush(stdout);

  std::thread prompt;
  if (opt.interactive) prompt = std::thread([&] { control::run_interactive(control, quit); });

  WorkerSettings settings = opt.worker;
  const uint64_t start = sockdrv::monotonic_ns();
  uint64_t next_push = 0;
  while (!quit.load(std::memory_order_relaxed)) {
    const uint64_t now = sockdrv::monotonic_ns();
    const size_t got = drv.poll(now);
    if (ch.commands.read_available() &&
        service_commands(ch, 0, now, drv.stats(), settings, endpoint).run_timer)
      drv.wake();  // send what a command queued (a path status) now, not at the next deadline
    if (now >= next_push) {
      ch.telemetry.push(WorkerTelemetry{0, 0, now, drv.stats(), settings});
      next_push = now + settings.get(WorkerKey::telemetry_ms) * 1'000'000ull;
    }
    if (opt.duration_s > 0 && static_cast<double>(now - start) / 1e9 >= opt.duration_s) break;
    if (got == 0) drv.wait(kMaxWaitNs);
  }
  quit.store(true);
  if (prompt.joinable()) prompt.join();
  control.stop();
  const std::vector<WorkerTelemetry> final_tel = {WorkerTelemetry{0, 0, 0, drv.stats(), settings}};
  if (quic && !opt.final_json) std::printf("%s\n", quic->summary().c_str());
  std::printf("%s\n", control::format_stats(final_tel, info, opt.final_json).c_str());
  return 0;
}

}  // namespace camp::campd
