#include "dataplane/camp/object_header.h"

#include <cstring>

#include "dataplane/codec/varint.h"

namespace camp::campfmt {
namespace {

// Reads varints from p[pos..end), never past end.
struct Reader {
  const uint8_t* p;
  size_t pos;
  size_t end;
  bool read(uint64_t* v) {
    const size_t len = varint::decode(p + pos, end - pos, v);
    pos += len;
    return len != 0;
  }
};

// Checks that [p, p + n) is a whole number of well-formed TLVs.
bool extensions_well_formed(const uint8_t* p, size_t n) {
  ExtensionReader r(p, n);
  uint64_t type;
  const uint8_t* value;
  size_t len;
  while (r.next(&type, &value, &len)) {
  }
  return !r.malformed();
}

uint64_t deadline_budget(const ObjectHeader& h) {
  return h.deadline_us == kNoDeadline ? 0 : h.deadline_us - h.generation_us;
}

// The fixed fields after Header Length, in wire order.
struct Fields {
  uint64_t v[8];
};

Fields fields_of(const ObjectHeader& h) {
  const uint64_t flags = (h.reliable ? kFlagReliable : 0) | (h.sync_end ? kFlagSyncEnd : 0);
  return {{static_cast<uint64_t>(h.modality), flags, h.object_id, h.sync_index, h.part,
           h.generation_us, deadline_budget(h), h.payload_length}};
}

// Header Length for h (the bytes after that field up to the payload), or 0 when h is invalid.
size_t header_length(const ObjectHeader& h) {
  if (static_cast<uint64_t>(h.modality) >= kModalityCount) return 0;
  if (h.object_id > varint::kMax || h.sync_index > varint::kMax || h.part > varint::kMax ||
      h.generation_us > varint::kMax || h.payload_length > kMaxPayloadLength) {
    return 0;
  }
  if (h.deadline_us != kNoDeadline &&
      (h.deadline_us <= h.generation_us || h.deadline_us > varint::kMax)) {
    return 0;
  }
  if (h.extensions_length != 0 &&
      (h.extensions == nullptr || !extensions_well_formed(h.extensions, h.extensions_length))) {
    return 0;
  }
  size_t len = h.extensions_length;
  for (uint64_t v : fields_of(h).v) len += varint::size(v);
  return len <= kMaxHeaderLength ? len : 0;
}

}  // namespace

const char* modality_name(Modality m) {
  switch (m) {
    case Modality::text: return "T";
    case Modality::audio: return "A";
    case Modality::video: return "V";
  }
  return "?";
}

const char* error_name(Error e) {
  switch (e) {
    case Error::ok: return "ok";
    case Error::truncated: return "truncated";
    case Error::bad_version: return "bad_version";
    case Error::bad_modality: return "bad_modality";
    case Error::bad_flags: return "bad_flags";
    case Error::overflow: return "overflow";
    case Error::length_mismatch: return "length_mismatch";
    case Error::buffer_too_small: return "buffer_too_small";
    case Error::invalid_field: return "invalid_field";
  }
  return "unknown";
}

bool operator==(const ObjectHeader& a, const ObjectHeader& b) {
  return a.modality == b.modality && a.reliable == b.reliable && a.sync_end == b.sync_end &&
         a.object_id == b.object_id && a.sync_index == b.sync_index && a.part == b.part &&
         a.generation_us == b.generation_us && a.deadline_us == b.deadline_us &&
         a.payload_length == b.payload_length && a.extensions_length == b.extensions_length &&
         (a.extensions_length == 0 ||
          std::memcmp(a.extensions, b.extensions, a.extensions_length) == 0);
}

size_t encoded_size(const ObjectHeader& h) {
  const size_t hl = header_length(h);
  return hl == 0 ? 0 : varint::size(kVersion) + varint::size(hl) + hl;
}

Error encode(const ObjectHeader& h, uint8_t* p, size_t cap, size_t* written) {
  *written = 0;
  const size_t hl = header_length(h);
  if (hl == 0) return Error::invalid_field;
  const size_t total = varint::size(kVersion) + varint::size(hl) + hl;
  if (cap < total) return Error::buffer_too_small;
  size_t pos = varint::encode(p, cap, kVersion);
  pos += varint::encode(p + pos, cap - pos, hl);
  for (uint64_t v : fields_of(h).v) pos += varint::encode(p + pos, cap - pos, v);
  if (h.extensions_length != 0) std::memcpy(p + pos, h.extensions, h.extensions_length);
  pos += h.extensions_length;
  *written = pos;
  return Error::ok;
}

size_t encode(const ObjectHeader& h, uint8_t* p, size_t cap) {
  size_t written = 0;
  return encode(h, p, cap, &written) == Error::ok ? written : 0;
}

Error decode(const uint8_t* p, size_t n, ObjectHeader* h, size_t* header_size) {
  Reader r{p, 0, n};
  uint64_t version, hl;
  if (!r.read(&version)) return Error::truncated;
  if (version != kVersion) return Error::bad_version;
  if (!r.read(&hl)) return Error::truncated;
  if (hl > kMaxHeaderLength) return Error::overflow;
  if (n - r.pos < hl) return Error::truncated;
  // From here on the header is all in the input: running past Header Length is the header's
  // own inconsistency, not a short read.
  r.end = r.pos + hl;
  uint64_t modality, flags, budget;
  if (!r.read(&modality)) return Error::length_mismatch;
  if (modality >= kModalityCount) return Error::bad_modality;
  if (!r.read(&flags)) return Error::length_mismatch;
  if ((flags & ~kKnownFlags) != 0) return Error::bad_flags;
  if (!r.read(&h->object_id) || !r.read(&h->sync_index) || !r.read(&h->part) ||
      !r.read(&h->generation_us) || !r.read(&budget) || !r.read(&h->payload_length)) {
    return Error::length_mismatch;
  }
  if (h->payload_length > kMaxPayloadLength) return Error::overflow;
  if (budget == 0) {
    h->deadline_us = kNoDeadline;
  } else {
    // Both are below 2^62, so the sum cannot wrap; it must stay a varint-range time.
    h->deadline_us = h->generation_us + budget;
    if (h->deadline_us > varint::kMax) return Error::overflow;
  }
  h->modality = static_cast<Modality>(modality);
  h->reliable = (flags & kFlagReliable) != 0;
  h->sync_end = (flags & kFlagSyncEnd) != 0;
  // The rest of the header is extensions: all must be well formed, none is interpreted here.
  h->extensions_length = r.end - r.pos;
  h->extensions = h->extensions_length != 0 ? p + r.pos : nullptr;
  if (!extensions_well_formed(p + r.pos, h->extensions_length)) return Error::length_mismatch;
  *header_size = r.end;
  return Error::ok;
}

Error decode_object(const uint8_t* p, size_t n, ObjectHeader* h, const uint8_t** payload,
                    size_t* object_size) {
  size_t header_size = 0;
  const Error e = decode(p, n, h, &header_size);
  if (e != Error::ok) return e;
  if (n - header_size < h->payload_length) return Error::truncated;
  *payload = p + header_size;
  *object_size = header_size + static_cast<size_t>(h->payload_length);
  return Error::ok;
}

size_t encode_extension(uint8_t* p, size_t cap, uint64_t type, const uint8_t* value, size_t len) {
  const size_t st = varint::size(type);
  const size_t sl = varint::size(len);
  if (st == 0 || sl == 0 || cap < st + sl || cap - st - sl < len) return 0;
  size_t pos = varint::encode(p, cap, type);
  pos += varint::encode(p + pos, cap - pos, len);
  if (len != 0) std::memcpy(p + pos, value, len);
  return pos + len;
}

bool ExtensionReader::next(uint64_t* type, const uint8_t** value, size_t* length) {
  if (pos_ >= n_ || malformed_) return false;
  Reader r{p_, pos_, n_};
  uint64_t len;
  if (!r.read(type) || !r.read(&len) || len > n_ - r.pos) {
    malformed_ = true;
    return false;
  }
  *value = p_ + r.pos;
  *length = static_cast<size_t>(len);
  pos_ = r.pos + static_cast<size_t>(len);
  return true;
}

}  // namespace camp::campfmt
