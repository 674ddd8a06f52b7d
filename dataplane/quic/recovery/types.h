// Shared vocabulary of QUIC loss recovery and congestion control (RFC 9002). All times are
// nanoseconds handed in by the caller; nothing here reads a clock.
#pragma once

#include <cstdint>

#include "dataplane/endpoint.h"  // camp::kNever: "no deadline", shared with the endpoint seam
#include "dataplane/quic/wire/frames.h"

namespace camp::quic {

using TimeNs = uint64_t;
using DurationNs = uint64_t;

inline constexpr DurationNs kMillisecond = 1'000'000;
inline constexpr DurationNs kSecond = 1'000'000'000;

// RFC 9002 section 6.1.1 / 6.1.2 / 6.2 / 7.6 constants (Appendix A.2 names in comments).
inline constexpr uint64_t kPacketThreshold = 3;             // kPacketThreshold
inline constexpr uint64_t kMaxPacketThreshold = 256;        // cap of the adaptive threshold
inline constexpr uint64_t kTimeThresholdNum = 9;            // kTimeThreshold = 9/8
inline constexpr uint64_t kTimeThresholdDen = 8;
inline constexpr DurationNs kGranularity = kMillisecond;    // kGranularity
inline constexpr DurationNs kInitialRtt = 333 * kMillisecond;  // kInitialRtt
inline constexpr uint64_t kPersistentCongestionThreshold = 3;  // kPersistentCongestionThreshold

// Packet number spaces (RFC 9000 section 12.3). With multipath, each path carries its own
// ApplicationData space; Initial and Handshake live only on the first path.
enum class PnSpace : uint8_t { kInitial = 0, kHandshake = 1, kApplicationData = 2 };
inline constexpr int kNumPnSpaces = 3;

// AckRange ([smallest, largest], both inclusive) and EcnCounts (ACK_ECN, RFC 9000 19.3.2) are the
// wire layer's (quic/wire/frames.h), so a connection hands parsed ranges straight to recovery.

enum class RecoveryError : uint8_t {
  kOk = 0,
  kRingFull,            // no room to track another ack-eliciting packet: do not send it
  kPacketNumberNotIncreasing,  // packet numbers within a space must grow (RFC 9000 12.3)
  kAckOfUnsentPacket,   // peer acknowledged a packet number never sent: PROTOCOL_VIOLATION
  kMalformedAckRanges,  // ranges empty, inverted, overlapping or not descending
  kEcnCountDecreased,   // ECN counts went backwards: ECN validation fails (RFC 9000 13.4.2.1)
  kSpaceDiscarded,      // the space's keys were discarded
  kBadValue,            // an override value that is not finite and positive
};

const char* to_string(RecoveryError e);

}  // namespace camp::quic
