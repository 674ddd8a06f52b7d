// What the application says about a piece of data it sends (a stream's data, or one DATAGRAM),
// for the scheduler: when it is due, the synchronisation index it belongs to (CAMP), and the
// path it must go on (multipath: the application pins data to a path).
#pragma once

#include <cstdint>

namespace camp::quic {

// Any path may carry the data (no pin).
inline constexpr uint32_t kAnyPath = UINT32_MAX;

struct SendMeta {
  uint64_t deadline = UINT64_MAX;    // the connection's clock (ns); UINT64_MAX: none
  uint64_t sync_index = UINT64_MAX;  // UINT64_MAX: none
  uint32_t path_id = kAnyPath;       // kAnyPath: whichever path the scheduler picks
};

}  // namespace camp::quic
