// A stand-in for a DPDK worker: a thread that owns its WorkerStats and WorkerSettings and calls
// service_commands() on a real WorkerChannel between "bursts", as dpdk::worker_main does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "dataplane/worker_channel.h"

namespace camp::testing {

class FakeWorker {
 public:
  explicit FakeWorker(uint32_t id) : id_(id) {}
  ~FakeWorker() { join(); }

  // Before start() (or after join()) the test owns stats and settings.
  WorkerStats stats;
  WorkerSettings settings;
  WorkerChannel channel;
  Endpoint* endpoint = nullptr;  // answers conns commands; set before start()

  void start() {
    run_.store(true);
    thread_ = std::thread([this] { loop(); });
  }
  void join() {
    run_.store(false);
    if (thread_.joinable()) thread_.join();
  }

  // While paused the worker neither counts nor answers: a worker stuck in a long burst.
  void pause(bool p) {
    paused_.store(p);
    // Wait for the loop to see it, so a paused worker is really quiet from here on.
    const uint64_t seen = turns_.load();
    while (thread_.joinable() && turns_.load() < seen + 2) std::this_thread::yield();
  }
  // The worker adds n to rx_packets at its next turn; wait_applied() returns once it has.
  void add_rx(uint64_t n) { wanted_.fetch_add(n); }
  bool wait_applied(std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (applied_.load() != wanted_.load()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
  }
  // Pushes one periodic report (seq 0) at its next turn.
  void push_periodic() { periodic_.store(true); }
  // Pushes a periodic report every `every` until set back to zero; counts full-queue refusals.
  void push_every(std::chrono::microseconds every) { every_us_.store(every.count()); }
  uint64_t refused_pushes() const { return refused_.load(); }
  uint64_t pushes() const { return pushes_.load(); }

 private:
  static uint64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void push_report() {
    ++pushes_;
    if (!channel.telemetry.push(WorkerTelemetry{id_, 0, now_ns(), stats, settings})) ++refused_;
  }
  void loop() {
    auto last_push = std::chrono::steady_clock::now();
    while (run_.load()) {
      turns_.fetch_add(1);
      if (!paused_.load()) {
        const uint64_t want = wanted_.load();
        stats.rx_packets += want - applied_.load();
        stats.polls++;
        applied_.store(want);
        service_commands(channel, id_, now_ns(), stats, settings, endpoint);
        if (periodic_.exchange(false)) push_report();
        const long every = every_us_.load();
        if (every > 0 &&
            std::chrono::steady_clock::now() - last_push >= std::chrono::microseconds(every)) {
          last_push = std::chrono::steady_clock::now();
          push_report();
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  const uint32_t id_;
  std::thread thread_;
  std::atomic<bool> run_{false}, paused_{false}, periodic_{false};
  std::atomic<uint64_t> wanted_{0}, applied_{0}, turns_{0}, refused_{0}, pushes_{0};
  std::atomic<long> every_us_{0};
};

}  // namespace camp::testing
