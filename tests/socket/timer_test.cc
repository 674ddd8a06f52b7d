// The timer path: on_timer runs first thing (a client starts by sending from it), then whenever
// its deadline passes, and after datagrams were delivered so a deadline armed by rx is learnt.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/socket/udp_peer.h"

namespace camp::sockdrv::test {
namespace {

// A client: sends `count` numbered datagrams to `target`, one every `interval_ns`, all from
// on_timer; counts what comes back.
class Sender final : public Endpoint {
 public:
  Sender(const SockAddr& target, uint32_t count, uint64_t interval_ns)
      : target_(target), count_(count), interval_(interval_ns) {}

  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t, TxBatch&, WorkerStats&) override {
    for (size_t i = 0; i < n; ++i) {
      if (rx[i].len == 4 && rx[i].tuple.remote == target_.ip() &&
          rx[i].tuple.remote_port == target_.port()) {
        echoes.fetch_add(1);
      }
    }
  }

  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats&) override {
    timer_calls.fetch_add(1);
    if (sent_ < count_ && now >= next_) {
      TxSlot* s = tx.acquire();
      if (s != nullptr && s->cap >= 4) {
        std::memcpy(s->data, &sent_, 4);
        s->len = 4;
        s->tuple.remote = target_.ip();
        s->tuple.remote_port = target_.port();
        s->tuple.iface = 0;
        tx.commit();
        ++sent_;
        next_ = now + interval_;
      }
    }
    return sent_ < count_ ? next_ : kNever;
  }

  std::atomic<uint32_t> echoes{0};
  std::atomic<uint32_t> timer_calls{0};

 private:
  SockAddr target_;
  uint32_t count_;
  uint64_t interval_;
  uint32_t sent_ = 0;
  uint64_t next_ = 0;
};

TEST(SocketTimer, ClientSendsFromOnTimer) {
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  constexpr uint32_t kCount = 10;
  constexpr uint64_t kInterval = 5'000'000;
  Sender ep(peer.self(), kCount, kInterval);
  Driver d(ep);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  const auto start = std::chrono::steady_clock::now();
  {
    DriverThread run(d);
    for (uint32_t i = 0; i < kCount; ++i) {
      std::vector<uint8_t> in;
      SockAddr from;
      ASSERT_TRUE(peer.recv(&in, &from)) << "datagram " << i;
      EXPECT_EQ(format_address(from), d.local_address(0));
      ASSERT_EQ(in.size(), 4u);
      uint32_t seq = 0;
      std::memcpy(&seq, in.data(), 4);
      EXPECT_EQ(seq, i);
      ASSERT_TRUE(peer.send_to(from, in));  // echo: the endpoint counts these
    }
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (ep.echoes.load() < kCount && std::chrono::steady_clock::now() < limit) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ep.echoes.load(), kCount);
  EXPECT_GE(elapsed, std::chrono::nanoseconds((kCount - 1) * kInterval));
  // Woken by deadlines, not spinning: a few calls per datagram sent and per echo delivered.
  EXPECT_LE(ep.timer_calls.load(), 4 * kCount + 10);
  const WorkerStats& s = d.stats();
  EXPECT_EQ(s.udp_tx, kCount);
  EXPECT_EQ(s.tx_packets, kCount);
  EXPECT_EQ(s.tx_bytes, 4u * kCount);
  EXPECT_EQ(s.udp_rx, kCount);
  EXPECT_EQ(s.rx_packets, kCount);
  EXPECT_EQ(s.dropped(), 0u);
  EXPECT_GT(s.sleeps, 0u);
}

// Driven by hand with made-up times: on_timer runs on the first step, then only once due.
TEST(SocketTimer, OnTimerRunsOnlyWhenDue) {
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  Sender ep(peer.self(), 3, 1000);
  Driver d(ep);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  EXPECT_EQ(d.next_timer(), 0u);
  d.poll(5000);
  EXPECT_EQ(ep.timer_calls.load(), 1u);
  EXPECT_EQ(d.next_timer(), 6000u);
  d.poll(5999);
  EXPECT_EQ(ep.timer_calls.load(), 1u);
  d.poll(6000);
  EXPECT_EQ(ep.timer_calls.load(), 2u);
  d.poll(7500);
  EXPECT_EQ(ep.timer_calls.load(), 3u);
  EXPECT_EQ(d.next_timer(), kNever);
  d.poll(UINT64_MAX - 1);
  EXPECT_EQ(ep.timer_calls.load(), 3u);
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> in;
    ASSERT_TRUE(peer.recv(&in, nullptr)) << i;
  }
  EXPECT_EQ(d.stats().tx_packets, 3u);
}

// Holds each datagram for `delay` and then sends it back: the deadline is armed in
// on_datagrams, which cannot return it, so the driver must ask on_timer afterwards.
class DelayedEcho final : public Endpoint {
 public:
  explicit DelayedEcho(uint64_t delay) : delay_(delay) {}
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now, TxBatch&, WorkerStats&) override {
    for (size_t i = 0; i < n && held_ < kHold; ++i, ++held_) {
      held_len_[held_] = rx[i].len;
      std::memcpy(held_data_[held_], rx[i].data, rx[i].len < 64 ? rx[i].len : 64);
      held_tuple_[held_] = rx[i].tuple;
    }
    due_ = now + delay_;
  }
  uint64_t on_timer(uint64_t now, TxBatch& tx, WorkerStats&) override {
    if (held_ == 0) return kNever;
    if (now < due_) return due_;
    for (uint32_t i = 0; i < held_; ++i) {
      TxSlot* s = tx.acquire();
      if (s == nullptr) break;
      s->len = held_len_[i] < 64 ? held_len_[i] : 64;
      std::memcpy(s->data, held_data_[i], s->len);
      s->tuple = held_tuple_[i];
      tx.commit();
    }
    held_ = 0;
    return kNever;
  }

 private:
  static constexpr uint32_t kHold = 8;
  uint64_t delay_;
  uint64_t due_ = kNever;
  uint32_t held_ = 0;
  uint16_t held_len_[kHold] = {};
  uint8_t held_data_[kHold][64] = {};
  Tuple held_tuple_[kHold];
};

TEST(SocketTimer, DeadlineArmedByRxIsHonoured) {
  constexpr uint64_t kDelay = 30'000'000;
  DelayedEcho ep(kDelay);
  Driver d(ep);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  UdpPeer peer("127.0.0.1:0");
  ASSERT_TRUE(peer.ok());
  DriverThread run(d);
  for (uint32_t i = 0; i < 3; ++i) {
    const auto sent = std::chrono::steady_clock::now();
    ASSERT_TRUE(peer.send_to(d.local_sockaddr(0), pattern(40, i)));
    std::vector<uint8_t> in;
    ASSERT_TRUE(peer.recv(&in, nullptr, 1500)) << "the held datagram never came back";
    const auto took = std::chrono::steady_clock::now() - sent;
    EXPECT_TRUE(in == pattern(40, i));
    EXPECT_GE(took, std::chrono::nanoseconds(kDelay));
    EXPECT_LT(took, std::chrono::seconds(1));
  }
}

// Nothing to do at all: run() still notices the quit flag promptly.
TEST(SocketTimer, RunStopsPromptlyWhenIdle) {
  DelayedEcho ep(1);
  Driver d(ep);
  std::string err;
  ASSERT_TRUE(d.open({"127.0.0.1:0"}, &err)) << err;
  DriverThread run(d);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const auto t0 = std::chrono::steady_clock::now();
  run.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  EXPECT_GT(d.stats().sleeps, 0u);
  EXPECT_EQ(d.stats().rx_packets, 0u);
}

}  // namespace
}  // namespace camp::sockdrv::test
