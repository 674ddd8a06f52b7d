// The packetiser's scheduler seam (DESIGN.md "Seams"): for every packet that may carry
// application data the connection asks a Scheduler which path it goes on and what fills it.
// Schedulers see each path's RTT, rate, loss, bytes in flight and status; the filler exposes the
// queued DATAGRAMs and streams. The multipath ones (draft-ietf-quic-multipath-21 5.5: minRTT,
// round-robin, redundant) live here; CAMP's consistency-aware one plugs in the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "dataplane/quic/recovery/types.h"
#include "dataplane/quic/stream/send_meta.h"

namespace camp::quic {

struct PathView {
  uint32_t path_id = 0;
  DurationNs smoothed_rtt = 0;
  DurationNs min_rtt = 0;
  uint64_t cwnd = 0;
  uint64_t bytes_in_flight = 0;
  double delivery_rate = 0;  // bytes per second
  uint64_t packets_lost = 0;
  DurationNs last_ack_age = 0;  // since the path's last newly acknowledged packet
  bool available = true;  // neither side asked for backup (3.3), not failing over
  bool backup = false;    // offered only when no available path is alive
  bool can_send = false;  // window and pacer allow a full packet now
};

// A piece of application data waiting to be sent, as a scheduler sees it: a DATAGRAM (id: its
// number) or a stream's data (id: the stream ID), with what the application said about it.
struct QueuedData {
  bool datagram = false;
  uint64_t id = 0;
  SendMeta meta;  // deadline, synchronisation index, pinned path
};

// What a scheduler may put into the packet being built. Each call adds at most one frame and
// says whether it did. has_* and add_* see only the data this packet's path may carry (data
// pinned to another path waits for it).
class PacketFiller {
 public:
  virtual size_t room() const = 0;
  virtual bool has_datagram() const = 0;
  virtual bool has_stream_data() const = 0;
  // The data waiting, DATAGRAMs first, then streams in round-robin order, up to out.size();
  // returns how many were written. For schedulers that weigh deadlines and sync indices (CAMP).
  virtual size_t queued_data(std::span<QueuedData> out) const = 0;
  // The oldest queued DATAGRAM, if it fits what is left.
  virtual bool add_datagram() = 0;
  // A STREAM frame from `stream`, or from the next stream in round-robin order.
  virtual bool add_stream_data(std::optional<uint64_t> stream) = 0;

 protected:
  ~PacketFiller() = default;
};

enum class SchedulerKind : uint8_t { kMinRtt, kRoundRobin, kRedundant };
inline constexpr SchedulerKind kSchedulerKinds[] = {SchedulerKind::kMinRtt,
                                                    SchedulerKind::kRoundRobin,
                                                    SchedulerKind::kRedundant};
const char* to_string(SchedulerKind k);
// "minrtt", "rr" (or "roundrobin"), "redundant".
std::optional<SchedulerKind> scheduler_kind_by_name(std::string_view name);

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual SchedulerKind kind() const = 0;
  const char* name() const { return to_string(kind()); }
  // The index into `paths` for the next packet with application data; nullopt: none now. Every
  // entry passed is alive; a scheduler takes backup entries only when no available one is there,
  // and never an entry whose can_send is false (the connection relies on it).
  virtual std::optional<size_t> pick_path(std::span<const PathView> paths) = 0;
  // Whether pick_path would pick a path now, without changing any state (the connection's
  // timer asks this; it must agree with pick_path or the connection would wake for nothing).
  virtual bool would_pick(std::span<const PathView> paths) const;
  // Redundant: every packet of application data is sent again on each other path that can send.
  virtual bool redundant() const { return false; }
  // Whether the connection may send the next packets of a burst (same time, nothing changed but
  // the picked path's sends) on the path pick_path chose, without asking again. A scheduler says
  // true only when pick_path changes no state and reads nothing of the entries but path_id,
  // smoothed_rtt, min_rtt, available, backup and can_send: then, while the picked entry can
  // still send and no other entry changed, it would pick the same. With
  // ConnectionConfig::check_send_cache every reuse is compared with a fresh pick_path.
  virtual bool keeps_pick() const { return false; }
  // Whether pick_path and would_pick ignore last_ack_age: then an answer of would_pick stays
  // true or false until some path's state or can_send changes, and the connection keeps its
  // next_timeout() between calls. A scheduler that reads the age over time says false.
  virtual bool ignores_ack_age() const { return false; }
  // Fills one packet: DATAGRAMs (latency-sensitive, small) before stream data, streams round
  // robin. mix_objects: more than one stream or datagram may share it (MMF 8.1.2).
  virtual void fill(PacketFiller& f, bool mix_objects);
};

// Lowest smoothed RTT among the paths with window to spare (the usual multipath default: with
// one path it is simply that path).
class MinRttScheduler final : public Scheduler {
 public:
  SchedulerKind kind() const override { return SchedulerKind::kMinRtt; }
  std::optional<size_t> pick_path(std::span<const PathView> paths) override;
  // Stateless, on RTT and eligibility only: it keeps choosing the fastest path until its window
  // or pacer says no.
  bool keeps_pick() const override { return true; }
  bool ignores_ack_age() const override { return true; }
};

// Each path in turn, skipping those whose window is full.
class RoundRobinScheduler final : public Scheduler {
 public:
  SchedulerKind kind() const override { return SchedulerKind::kRoundRobin; }
  std::optional<size_t> pick_path(std::span<const PathView> paths) override;
  // Every packet moves on to the next path: no pick is reused.
  bool ignores_ack_age() const override { return true; }

 private:
  uint32_t last_ = UINT32_MAX;  // path ID served last
};

// New data only when every path in use can take it; minRTT for the first copy, and the connection
// then repeats the packet's data on every other path (loss- and outage-proof delivery of small,
// urgent data, at the rate of the slowest path).
class RedundantScheduler final : public Scheduler {
 public:
  SchedulerKind kind() const override { return SchedulerKind::kRedundant; }
  std::optional<size_t> pick_path(std::span<const PathView> paths) override;
  bool would_pick(std::span<const PathView> paths) const override;
  bool redundant() const override { return true; }
  bool ignores_ack_age() const override { return true; }

 private:
  MinRttScheduler min_rtt_;
};

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind k);

// Whether paths[i] may take data now under the backup rule every scheduler follows (a backup
// path only when no available one is offered).
bool may_carry_data(std::span<const PathView> paths, size_t i);

}  // namespace camp::quic
