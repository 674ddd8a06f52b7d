// The hq-interop application protocol (QUIC Interop Runner's HTTP/0.9 over QUIC): per request the
// client opens a bidirectional stream, sends "GET /path\r\n" and FIN; the server answers with the
// file's bytes and FIN, or resets the stream when it cannot.
#pragma once

#include <cstdint>
#include <string_view>

namespace camp::hq {

inline constexpr std::string_view kAlpn = "hq-interop";
// The one application error code hq-interop peers use (RESET_STREAM / STOP_SENDING): a bad
// request, a missing file, or a stream this side does not want.
inline constexpr uint64_t kHqRequestError = 1;

}  // namespace camp::hq
