// Connection ID -> connection handle for one worker. Fixed capacity chosen at construction (no
// growth, so no allocation after start); open addressing with linear probing and backward-shift
// deletion (no tombstones), at most half the slots filled so probe runs stay short. Each CID also
// carries the multipath path ID it was issued for (draft-ietf-quic-multipath-21 3.2): a packet's
// DCID alone says which path, and so which packet number space and nonce, it belongs to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/quic/wire/byte_view.h"
#include "dataplane/quic/wire/frames.h"  // kMaxPathId

namespace camp::quic {

using ConnectionHandle = uint32_t;

enum class CidTableError : uint8_t {
  kOk,
  kFull,
  kDuplicate,
  kBadLength,
  kBadPathId,  // above 2^32-1 (multipath-21 2.1)
};

// What a CID routes to: the owning connection and the path ID the CID was issued on (0 without
// multipath).
struct CidEntry {
  ConnectionHandle handle = 0;
  uint32_t path_id = 0;
  bool operator==(const CidEntry&) const = default;
};

class CidTable {
 public:
  // Room for `capacity` CIDs (>= 1). `seed` keys the hash so probe chains are not predictable.
  CidTable(size_t capacity, uint64_t seed);

  CidTableError insert(ByteView cid, ConnectionHandle handle, uint64_t path_id = 0);
  std::optional<ConnectionHandle> find(ByteView cid) const;
  // find() plus the path ID the CID was inserted with.
  std::optional<CidEntry> find_entry(ByteView cid) const;
  // True if the CID was there.
  bool erase(ByteView cid);

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    uint8_t length = 0;  // 0: empty
    uint8_t bytes[kMaxCidLength];
    ConnectionHandle handle = 0;
    uint32_t path_id = 0;  // fits the padding: a slot stays 32 bytes
  };
  static_assert(sizeof(Slot) == 32, "two slots per cache line");

  size_t home(ByteView cid) const;
  // Slot holding `cid`, or the empty slot ending its probe run.
  size_t probe(ByteView cid) const;

  std::vector<Slot> slots_;
  size_t mask_;
  size_t capacity_;
  size_t size_ = 0;
  uint64_t seed_;
};

}  // namespace camp::quic
