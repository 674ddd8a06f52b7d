// The packetiser's scheduler seam (DESIGN.md "Seams"): for every packet that may carry
// application data the connection asks a Scheduler which path it goes on and what fills it.
// Schedulers see each path's RTT, rate, loss, bytes in flight and status; the filler exposes the
// queued DATAGRAMs and streams. Multipath schedulers (minRTT, round-robin, redundant) and CAMP's
// consistency-aware one plug in here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

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
  bool available = true;     // not backup, not abandoned
  bool can_send = false;     // window and pacer allow a full packet now
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

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual const char* name() const = 0;
  // The index into `paths` for the next packet with application data; nullopt: none now.
  virtual std::optional<size_t> pick_path(std::span<const PathView> paths) = 0;
  // Fills one packet. mix_objects: more than one stream or datagram may share it (MMF 8.1.2).
  virtual void fill(PacketFiller& f, bool mix_objects) = 0;
};

// Single-path default: the first path that can send; DATAGRAMs (latency-sensitive, small) before
// stream data; streams round robin.
class DefaultScheduler final : public Scheduler {
 public:
  const char* name() const override { return "default"; }
  std::optional<size_t> pick_path(std::span<const PathView> paths) override {
    for (size_t i = 0; i < paths.size(); ++i) {
      if (paths[i].available && paths[i].can_send) return i;
    }
    return std::nullopt;
  }
  void fill(PacketFiller& f, bool mix_objects) override {
    bool added = false;
    while (f.has_datagram() && f.add_datagram()) {
      added = true;
      if (!mix_objects) return;
    }
    if (added && !mix_objects) return;
    while (f.has_stream_data() && f.add_stream_data(std::nullopt)) {
      if (!mix_objects) return;
    }
  }
};

}  // namespace camp::quic
