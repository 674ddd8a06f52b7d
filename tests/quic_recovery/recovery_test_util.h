// Helpers shared by the recovery tests: a recording observer and packet builders.
#pragma once

#include <vector>

#include "dataplane/quic/recovery/path_recovery.h"

namespace camp::quic::test {

constexpr DurationNs ms = kMillisecond;

struct RecordingObserver final : RecoveryObserver {
  std::vector<uint64_t> acked, lost;
  std::vector<uint64_t> acked_tags, lost_tags;
  void on_packet_acked(PnSpace, const SentPacket& p) override {
    acked.push_back(p.packet_number);
    acked_tags.push_back(p.tag);
  }
  void on_packet_lost(PnSpace, const SentPacket& p) override {
    lost.push_back(p.packet_number);
    lost_tags.push_back(p.tag);
  }
};

inline SentPacket data_packet(uint64_t pn, TimeNs t, uint32_t bytes = 1200, uint64_t tag = 0) {
  SentPacket p;
  p.packet_number = pn;
  p.time_sent = t;
  p.sent_bytes = bytes;
  p.ack_eliciting = true;
  p.in_flight = true;
  p.tag = tag;
  return p;
}

}  // namespace camp::quic::test
