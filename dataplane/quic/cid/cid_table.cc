#include "dataplane/quic/cid/cid_table.h"

#include <cstring>

namespace camp::quic {

namespace {
uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}
}  // namespace

CidTable::CidTable(size_t capacity, uint64_t seed) : capacity_(capacity ? capacity : 1), seed_(seed) {
  size_t n = 2;
  while (n < 2 * capacity_) n <<= 1;  // load factor <= 1/2
  slots_.resize(n);
  mask_ = n - 1;
}

size_t CidTable::home(ByteView cid) const {
  uint64_t h = seed_ ^ cid.size;
  size_t i = 0;
  for (; i + 8 <= cid.size; i += 8) {
    uint64_t w;
    std::memcpy(&w, cid.data + i, 8);
    h = mix(h ^ w);
  }
  uint64_t w = 0;
  for (size_t k = 0; i < cid.size; ++i, ++k) w |= uint64_t{cid[i]} << (8 * k);
  return static_cast<size_t>(mix(h ^ w)) & mask_;
}

size_t CidTable::probe(ByteView cid) const {
  size_t i = home(cid);
  while (slots_[i].length != 0) {
    const Slot& s = slots_[i];
    if (s.length == cid.size && std::memcmp(s.bytes, cid.data, cid.size) == 0) return i;
    i = (i + 1) & mask_;
  }
  return i;
}

CidTableError CidTable::insert(ByteView cid, ConnectionHandle handle, uint64_t path_id) {
  if (cid.size == 0 || cid.size > kMaxCidLength) return CidTableError::kBadLength;
  if (path_id > kMaxPathId) return CidTableError::kBadPathId;
  const size_t i = probe(cid);
  if (slots_[i].length != 0) return CidTableError::kDuplicate;
  if (size_ == capacity_) return CidTableError::kFull;
  Slot& s = slots_[i];
  s.length = static_cast<uint8_t>(cid.size);
  std::memcpy(s.bytes, cid.data, cid.size);
  s.handle = handle;
  s.path_id = static_cast<uint32_t>(path_id);
  ++size_;
  return CidTableError::kOk;
}

std::optional<ConnectionHandle> CidTable::find(ByteView cid) const {
  if (cid.size == 0 || cid.size > kMaxCidLength) return std::nullopt;
  const Slot& s = slots_[probe(cid)];
  if (s.length == 0) return std::nullopt;
  return s.handle;
}

std::optional<CidEntry> CidTable::find_entry(ByteView cid) const {
  if (cid.size == 0 || cid.size > kMaxCidLength) return std::nullopt;
  const Slot& s = slots_[probe(cid)];
  if (s.length == 0) return std::nullopt;
  return CidEntry{s.handle, s.path_id};
}

bool CidTable::erase(ByteView cid) {
  if (cid.size == 0 || cid.size > kMaxCidLength) return false;
  size_t hole = probe(cid);
  if (slots_[hole].length == 0) return false;
  slots_[hole].length = 0;
  --size_;
  // Backward shift: pull later entries of the run into the hole when the hole lies on their probe
  // path, so lookups never need tombstones.
  for (size_t j = (hole + 1) & mask_; slots_[j].length != 0; j = (j + 1) & mask_) {
    const size_t h = home(ByteView(slots_[j].bytes, slots_[j].length));
    // Entry j may move to `hole` if its home is not cyclically within (hole, j].
    const bool stays = ((j - h) & mask_) < ((j - hole) & mask_);
    if (stays) continue;
    slots_[hole] = slots_[j];
    slots_[j].length = 0;
    hole = j;
  }
  return true;
}

}  // namespace camp::quic
