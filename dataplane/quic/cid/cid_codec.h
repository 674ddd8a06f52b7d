// Connection IDs in the QUIC-LB plaintext layout (draft-ietf-quic-load-balancers, "CID format"),
// with this server's worker number at the end of the Server ID, so that any worker can steer a
// packet to the worker that owns its connection without looking anything up:
//
//   octet 0                 Config Rotation (3 bits) | CID Len or Random Bits (5 bits)
//   octets 1 .. S+W         Server ID: the server's octets (S = server_id_len >= 1), then the
//                           worker number, big-endian (W = worker_len, 1 or 2)
//   octets S+W+1 .. S+W+N   Nonce, all random (N = nonce_len >= 4)
//
// A server may hold several server IDs ("Server ID Allocation"): here one per worker, which a
// QUIC-LB load balancer routes like any other. The worker is not put in the Nonce, which the draft
// requires to have no observable relationship to earlier CIDs ("Server Actions"). Without a
// QUIC-LB configuration the config rotation bits are 0b111 and the length is self-described
// ("Configuration Failover"); campd's own steering still reads the worker from its CIDs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/quic/cid/random_source.h"
#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

// Codepoint 0b111 marks CIDs as unroutable (draft section "Configuration Failover").
inline constexpr uint8_t kUnroutableConfigId = 7;
inline constexpr size_t kMaxServerIdLength = 15;  // 19 octets after the first, nonce >= 4
inline constexpr size_t kMinNonceLength = 4;

struct CidConfig {
  // Config rotation bits of the QUIC-LB configuration, 0..6; kUnroutableConfigId (the default):
  // no configuration, which requires encode_length.
  uint8_t config_id = kUnroutableConfigId;
  std::array<uint8_t, kMaxServerIdLength> server_id{};
  uint8_t server_id_len = 1;  // the server's octets of the Server ID, before the worker number
  uint8_t worker_len = 1;     // 1 or 2 octets ending the Server ID
  uint8_t nonce_len = 4;      // random octets after the Server ID
  uint32_t worker_count = 1;  // workers on this server; higher worker numbers are rejected
  bool encode_length = true;  // length self-description in the first octet, else random bits

  size_t wire_server_id_len() const { return size_t{server_id_len} + worker_len; }
  size_t cid_length() const { return 1u + wire_server_id_len() + nonce_len; }
};

enum class CidConfigError : uint8_t {
  kOk,
  kBadConfigId,       // > 7, or 7 without encode_length
  kBadServerIdLength,  // 0, or with the worker field > 15
  kBadNonceLength,    // < 4, or Server ID + nonce > 19 octets
  kBadWorkerLength,   // not 1 or 2
  kBadWorkerCount,    // 0 or more than the worker field can hold
};
const char* to_string(CidConfigError e);

// Why a received CID does not route to one of our workers.
enum class CidStatus : uint8_t {
  kOk,
  kWrongLength,     // not our CID length (client-chosen or truncated)
  kUnroutable,      // config rotation 0b111 (when ours is not)
  kOtherConfig,     // config rotation bits of another configuration
  kLengthMismatch,  // self-described length disagrees with the CID length
  kForeignServer,   // server ID is not ours
  kBadWorker,       // worker number >= worker_count
};
const char* to_string(CidStatus s);

struct DecodedCid {
  CidStatus status = CidStatus::kWrongLength;
  uint8_t config_id = 0;
  uint16_t worker = 0;
  ByteView server_id;  // the whole Server ID, worker number included; points into the CID
};

class CidCodec {
 public:
  // Validates the configuration; on error the codec is unusable (valid() is false).
  explicit CidCodec(const CidConfig& config);

  CidConfigError error() const { return error_; }
  bool valid() const { return error_ == CidConfigError::kOk; }
  const CidConfig& config() const { return config_; }
  size_t cid_length() const { return length_; }

  // Writes a fresh CID for `worker`. False if the codec is invalid, the worker is out of range or
  // the random source fails.
  bool generate(uint16_t worker, RandomSource& random, ConnectionId& out) const;

  // Parses a CID of our layout without checking it against our server ID: the load balancer's
  // view, which routes no 0b111 CID (kUnroutable). Reads only cid[0..cid_length()).
  DecodedCid decode(ByteView cid) const;

  // The steering function: the worker that owns `cid` if it is one of ours. O(1), no allocation,
  // reads only cid[0..cid_length()); anything else yields a non-kOk status.
  DecodedCid route(ByteView cid) const;

  // Same for a short-header packet: the DCID follows the first octet and has our length.
  DecodedCid route_short_header(ByteView packet) const;

 private:
  // decode() once the config rotation bits are known to be ours.
  DecodedCid fields(ByteView cid, uint8_t config_id) const;

  CidConfig config_;
  CidConfigError error_;
  size_t length_;
};

}  // namespace camp::quic
