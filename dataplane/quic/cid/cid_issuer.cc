#include "dataplane/quic/cid/cid_issuer.h"

namespace camp::quic {

std::optional<uint64_t> CidIssuer::issue(CidManager& manager, uint64_t path_id,
                                         ConnectionHandle handle) {
  if (manager.local_cids_wanted(path_id) == 0) return std::nullopt;
  ConnectionId cid;
  // A collision needs the same random nonce tail on this worker: retry a few times, then give up.
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (!codec.generate(worker, random, cid)) return std::nullopt;
    const CidTableError e = table.insert(cid.view(), handle);
    if (e == CidTableError::kDuplicate) continue;
    if (e != CidTableError::kOk) return std::nullopt;
    StatelessResetToken token;
    std::optional<uint64_t> seq;
    if (reset_key.token(cid.view(), token)) seq = manager.add_local_cid(path_id, cid, token);
    if (!seq) table.erase(cid.view());
    return seq;
  }
  return std::nullopt;
}

}  // namespace camp::quic
