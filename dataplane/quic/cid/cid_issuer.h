// Issuing one of our CIDs end to end: generate it for this worker, make sure it is new in the
// worker's table, derive its stateless reset token, record it in the connection's CidManager.
#pragma once

#include <optional>

#include "dataplane/quic/cid/cid_codec.h"
#include "dataplane/quic/cid/cid_manager.h"
#include "dataplane/quic/cid/cid_table.h"
#include "dataplane/quic/cid/stateless_reset.h"

namespace camp::quic {

struct CidIssuer {
  const CidCodec& codec;
  const StatelessResetKey& reset_key;
  CidTable& table;
  RandomSource& random;
  uint16_t worker;

  // The new CID's sequence number on `path_id`, or nothing when the peer's limit is reached, the
  // table is full or no unique CID came out of a few draws. Nothing is left half-registered.
  std::optional<uint64_t> issue(CidManager& manager, uint64_t path_id, ConnectionHandle handle);
};

}  // namespace camp::quic
