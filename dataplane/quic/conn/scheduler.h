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

// What a scheduler may put into the packet being built. Each call adds at most one frame and
// says whether it did.
class PacketFiller {
 public:
  virtual size_t room() const = 0;
  virtual bool has_datagram() const = 0;
  virtual bool has_stream_data() const = 0;
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
  // entry passed is alive; a scheduler takes backup entries only when no available one is there.
  virtual std::optional<size_t> pick_path(std::span<const PathView> paths) = 0;
  // Whether pick_path would pick a path now, without changing any state (the connection's
  // timer asks this; it must agree with pick_path or the connection would wake for nothing).
  virtual bool would_pick(std::span<const PathView> paths) const;
  // Redundant: every packet of application data is sent again on each other path that can send.
  virtual bool redundant() const { return false; }
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
};

// Each path in turn, skipping those whose window is full.
class RoundRobinScheduler final : public Scheduler {
 public:
  SchedulerKind kind() const override { return SchedulerKind::kRoundRobin; }
  std::optional<size_t> pick_path(std::span<const PathView> paths) override;

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

 private:
  MinRttScheduler min_rtt_;
};

std::unique_ptr<Scheduler> make_scheduler(SchedulerKind k);

// Whether paths[i] may take data now under the backup rule every scheduler follows (a backup
// path only when no available one is offered).
bool may_carry_data(std::span<const PathView> paths, size_t i);

}  // namespace camp::quic
