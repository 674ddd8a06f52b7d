// Connection ID -> connection handle for one worker. Fixed capacity chosen at construction (no
// growth, so no allocation after start); open addressing with linear probing and backward-shift
// deletion (no tombstones), at most half the slots filled so probe runs stay short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

using ConnectionHandle = uint32_t;

enum class CidTableError : uint8_t { kOk, kFull, kDuplicate, kBadLength };

class CidTable {
 public:
  // Room for `capacity` CIDs (>= 1). `seed` keys the hash so probe chains are not predictable.
  CidTable(size_t capacity, uint64_t seed);

  CidTableError insert(ByteView cid, ConnectionHandle handle);
  std::optional<ConnectionHandle> find(ByteView cid) const;
  // True if the CID was there.
  bool erase(ByteView cid);

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

 private:
  struct Slot {
    uint8_t length = 0;  // 0: empty
    uint8_t bytes[kMaxCidLength];
    ConnectionHandle handle = 0;
  };

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
