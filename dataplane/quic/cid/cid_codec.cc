#include "dataplane/quic/cid/cid_codec.h"

#include <cstring>

namespace camp::quic {

const char* to_string(CidConfigError e) {
  switch (e) {
    case CidConfigError::kOk: return "ok";
    case CidConfigError::kBadConfigId:
      return "config ID must be 0..6, or 7 (no configuration) with the length self-described";
    case CidConfigError::kBadServerIdLength:
      return "server ID must be 1 or more octets, 15 at most with the worker field";
    case CidConfigError::kBadNonceLength: return "nonce length must be >= 4, server ID + nonce <= 19";
    case CidConfigError::kBadWorkerLength: return "worker field must be 1 or 2 octets";
    case CidConfigError::kBadWorkerCount: return "worker count must be 1..2^(8*worker_len)";
  }
  return "unknown";
}

const char* to_string(CidStatus s) {
  switch (s) {
    case CidStatus::kOk: return "ok";
    case CidStatus::kWrongLength: return "wrong length";
    case CidStatus::kUnroutable: return "unroutable config";
    case CidStatus::kOtherConfig: return "other config";
    case CidStatus::kLengthMismatch: return "self-described length mismatch";
    case CidStatus::kForeignServer: return "foreign server ID";
    case CidStatus::kBadWorker: return "worker out of range";
  }
  return "unknown";
}

namespace {
CidConfigError validate(const CidConfig& c) {
  if (c.config_id > kUnroutableConfigId || (c.config_id == kUnroutableConfigId && !c.encode_length)) {
    return CidConfigError::kBadConfigId;
  }
  if (c.worker_len < 1 || c.worker_len > 2) return CidConfigError::kBadWorkerLength;
  if (c.server_id_len == 0 || c.wire_server_id_len() > kMaxServerIdLength) {
    return CidConfigError::kBadServerIdLength;
  }
  if (c.nonce_len < kMinNonceLength || c.wire_server_id_len() + c.nonce_len > kMaxCidLength - 1) {
    return CidConfigError::kBadNonceLength;
  }
  if (c.worker_count == 0 || c.worker_count > (1u << (8 * c.worker_len))) {
    return CidConfigError::kBadWorkerCount;
  }
  return CidConfigError::kOk;
}
}  // namespace

CidCodec::CidCodec(const CidConfig& config)
    : config_(config), error_(validate(config)), length_(config.cid_length()) {}

bool CidCodec::generate(uint16_t worker, RandomSource& random, ConnectionId& out) const {
  if (!valid() || worker >= config_.worker_count) return false;
  uint8_t* p = out.bytes.data();
  // One draw for the first octet's low bits (used when not self-describing) and the nonce.
  const size_t nonce_at = 1u + config_.wire_server_id_len();
  if (!random.fill(p + nonce_at - 1, config_.nonce_len + 1u)) return false;
  const uint8_t low = config_.encode_length ? static_cast<uint8_t>(length_ - 1)
                                            : static_cast<uint8_t>(p[nonce_at - 1] & 0x1f);
  p[0] = static_cast<uint8_t>(config_.config_id << 5 | low);
  std::memcpy(p + 1, config_.server_id.data(), config_.server_id_len);
  uint8_t* w = p + 1 + config_.server_id_len;
  if (config_.worker_len == 2) {
    w[0] = static_cast<uint8_t>(worker >> 8);
    w[1] = static_cast<uint8_t>(worker);
  } else {
    w[0] = static_cast<uint8_t>(worker);
  }
  out.length = static_cast<uint8_t>(length_);
  return true;
}

DecodedCid CidCodec::fields(ByteView cid, uint8_t config_id) const {
  DecodedCid d;
  d.config_id = config_id;
  if (config_.encode_length && (cid[0] & 0x1f) != length_ - 1) {
    d.status = CidStatus::kLengthMismatch;
    return d;
  }
  d.server_id = ByteView(cid.data + 1, config_.wire_server_id_len());
  const uint8_t* w = cid.data + 1 + config_.server_id_len;
  d.worker = config_.worker_len == 2 ? static_cast<uint16_t>(w[0] << 8 | w[1]) : w[0];
  d.status = CidStatus::kOk;
  return d;
}

DecodedCid CidCodec::decode(ByteView cid) const {
  DecodedCid d;
  if (!valid() || cid.size != length_) return d;
  d.config_id = cid[0] >> 5;
  if (d.config_id == kUnroutableConfigId) {
    d.status = CidStatus::kUnroutable;
  } else if (d.config_id != config_.config_id) {
    d.status = CidStatus::kOtherConfig;
  } else {
    d = fields(cid, d.config_id);
  }
  return d;
}

DecodedCid CidCodec::route(ByteView cid) const {
  // Our own CIDs route whatever our config rotation bits are, 0b111 (no configuration) included.
  DecodedCid d;
  if (!valid() || cid.size != length_) return d;
  d.config_id = cid[0] >> 5;
  if (d.config_id != config_.config_id) {
    d.status = d.config_id == kUnroutableConfigId ? CidStatus::kUnroutable : CidStatus::kOtherConfig;
    return d;
  }
  d = fields(cid, d.config_id);
  if (d.status != CidStatus::kOk) return d;
  if (std::memcmp(d.server_id.data, config_.server_id.data(), config_.server_id_len) != 0) {
    d.status = CidStatus::kForeignServer;
  } else if (d.worker >= config_.worker_count) {
    d.status = CidStatus::kBadWorker;
  }
  return d;
}

DecodedCid CidCodec::route_short_header(ByteView packet) const {
  if (packet.size < 1 + length_) return DecodedCid{};
  return route(ByteView(packet.data + 1, length_));
}

}  // namespace camp::quic
