// Runs a benchmark's server calls on a core of their own, in lock-step with the caller.
//
// On a real server the worker core runs the endpoint alone; its peers and the network are other
// machines. A simulator run on one thread puts the clients' work (decrypting, reassembling,
// checking every byte) between two server calls on the same core, where it evicts the server's
// state from L1 and L2. ServerCore keeps the two apart: the caller posts a call, waits until it
// is done (asleep, so that it takes no execution resources should the two CPUs share a physical
// core), and goes on; the server's core sees only server work. Nothing runs concurrently, so the
// simulator's single-threaded design holds: the handoff (release/acquire) orders everything either
// side wrote before it.
#pragma once

#include <immintrin.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <thread>
#include <type_traits>
#include <vector>

namespace camp::bench {

class ServerCore {
 public:
  // The CPUs this process may run on, in order.
  static std::vector<int> allowed_cpus() {
    std::vector<int> v;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return v;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) v.push_back(c);
    return v;
  }

  // Server calls on server_cpu, the caller pinned to caller_cpu.
  ServerCore(int server_cpu, int caller_cpu) : thread_([this] { loop(); }) {
    pin(thread_.native_handle(), server_cpu);
    pin(pthread_self(), caller_cpu);
  }
  ~ServerCore() {
    state_.store(kQuit, std::memory_order_release);
    thread_.join();
  }
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  // Runs f() on the server's core and returns when it has.
  template <class F>
  void run(F&& f) {
    using Fn = std::remove_reference_t<F>;
    fn_ = [](void* p) { (*static_cast<Fn*>(p))(); };
    arg_ = &f;
    state_.store(kPosted, std::memory_order_release);
    while (state_.load(std::memory_order_acquire) != kDone) {
      state_.wait(kPosted, std::memory_order_acquire);  // asleep: the server's core runs alone
    }
    state_.store(kIdle, std::memory_order_relaxed);
  }

 private:
  enum : int { kIdle, kPosted, kDone, kQuit };

  static void pin(pthread_t t, int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(t, sizeof set, &set);
  }

  void loop() {
    for (;;) {
      int s;
      while ((s = state_.load(std::memory_order_acquire)) != kPosted && s != kQuit) _mm_pause();
      if (s == kQuit) return;
      fn_(arg_);
      state_.store(kDone, std::memory_order_release);
      state_.notify_one();
    }
  }

  void (*fn_)(void*) = nullptr;
  void* arg_ = nullptr;
  std::atomic<int> state_{kIdle};
  std::thread thread_;  // last: it starts once the rest is in place
};

}  // namespace camp::bench
