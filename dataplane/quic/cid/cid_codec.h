// Connection IDs in the QUIC-LB plaintext layout (draft-ietf-quic-load-balancers, "CID format"),
// with this server's worker number inside the nonce so that any worker can steer a packet to the
// worker that owns its connection without looking anything up:
//
//   octet 0                 Config Rotation (3 bits) | CID Len or Random Bits (5 bits)
//   octets 1 .. S           Server ID (S = server_id_len >= 1)
//   octets S+1 .. S+W       Worker number, big-endian (W = worker_len, 1 or 2): the first octets
//                           of the Nonce
//   octets S+W+1 .. S+N     random (N = nonce_len >= 4; at least 3 random octets)
//
// The worker field is fixed per worker, so like the plaintext server ID it is visible to observers;
// the random rest of the nonce keeps each CID unique.
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
inline constexpr size_t kMinRandomNonceOctets = 3;

struct CidConfig {
  uint8_t config_id = 0;  // config rotation bits, 0..6
  std::array<uint8_t, kMaxServerIdLength> server_id{};
  uint8_t server_id_len = 1;
  uint8_t nonce_len = 4;   // includes the worker field
  uint8_t worker_len = 1;  // 1 or 2 octets at the start of the nonce
  uint32_t worker_count = 1;  // workers on this server; higher worker numbers are rejected
  bool encode_length = true;  // length self-description in the first octet, else random bits

  size_t cid_length() const { return 1u + server_id_len + nonce_len; }
};

enum class CidConfigError : uint8_t {
  kOk,
  kBadConfigId,       // > 6
  kBadServerIdLength,  // 0 or > 15
  kBadNonceLength,    // < 4, or server ID + nonce > 19 octets
  kBadWorkerLength,   // not 1 or 2, or fewer than 3 random nonce octets left
  kBadWorkerCount,    // 0 or more than the worker field can hold
};
const char* to_string(CidConfigError e);

// Why a received CID does not route to one of our workers.
enum class CidStatus : uint8_t {
  kOk,
  kWrongLength,     // not our CID length (client-chosen or truncated)
  kUnroutable,      // config rotation 0b111
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
  ByteView server_id;  // points into the decoded CID
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
  // view. Reads only cid[0..cid_length()).
  DecodedCid decode(ByteView cid) const;

  // The steering function: the worker that owns `cid` if it is one of ours. O(1), no allocation,
  // reads only cid[0..cid_length()); anything else yields a non-kOk status.
  DecodedCid route(ByteView cid) const;

  // Same for a short-header packet: the DCID follows the first octet and has our length.
  DecodedCid route_short_header(ByteView packet) const;

 private:
  CidConfig config_;
  CidConfigError error_;
  size_t length_;
};

}  // namespace camp::quic
