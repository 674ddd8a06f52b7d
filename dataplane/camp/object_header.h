// The CAMP object header: the metadata every data unit carries in CAMP's three-stream format
// (draft CAMP section 4.2): modality, synchronisation index, generation time, deadline,
// reliability and payload length, plus the MoQ Object ID that MMF feedback names the unit by.
// Wire layout, versioning and the Object ID / sync index mapping: dataplane/camp/README.md.
#pragma once

#include <cstddef>
#include <cstdint>

namespace camp::campfmt {

// The three logical streams, one MoQ track each: T, A, V.
enum class Modality : uint8_t { text = 0, audio = 1, video = 2 };
inline constexpr uint64_t kModalityCount = 3;
const char* modality_name(Modality m);  // "T", "A", "V"

inline constexpr uint64_t kVersion = 0;               // the only version this code reads
inline constexpr size_t kMaxHeaderLength = 4096;      // bound on what a peer makes us parse
inline constexpr uint64_t kMaxPayloadLength = (uint64_t{1} << 32) - 1;
inline constexpr uint64_t kNoDeadline = ~uint64_t{0};  // deadline_us when the unit has none

// Flags field bits; the other bits are reserved and must be zero.
inline constexpr uint64_t kFlagReliable = 1u << 0;
inline constexpr uint64_t kFlagSyncEnd = 1u << 1;
inline constexpr uint64_t kKnownFlags = kFlagReliable | kFlagSyncEnd;

struct ObjectHeader {
  Modality modality = Modality::text;
  bool reliable = false;        // CAMP r_m: loss must be repaired (within the deadline)
  bool sync_end = false;        // last object of sync_index on this track
  uint64_t object_id = 0;       // MoQ Object ID in this modality's track = MMF's Object ID
  uint64_t sync_index = 0;      // k: units with equal k across modalities belong together
  uint64_t part = 0;            // this object's place among the objects of sync_index (0, 1, ...)
  uint64_t generation_us = 0;   // g_mk: when the model produced the unit, sender clock, in us
  uint64_t deadline_us = kNoDeadline;  // by when it must arrive, same clock; > generation_us
  uint64_t payload_length = 0;  // bytes of payload after the header
  // Extension TLVs (Type (i), Length (i), Value), encoded, not owned. On decode they point into
  // the input; on encode they are copied as given (they must be well formed).
  const uint8_t* extensions = nullptr;
  size_t extensions_length = 0;
};

// Field by field, extension bytes compared by content.
bool operator==(const ObjectHeader& a, const ObjectHeader& b);

enum class Error : uint8_t {
  ok = 0,
  truncated,          // the input ends inside the header (or, for decode_object, the payload)
  bad_version,        // Version is not kVersion
  bad_modality,       // Modality is not T, A or V
  bad_flags,          // a reserved flag bit is set
  overflow,           // a value past its range: header length, payload length, deadline
  length_mismatch,    // the fields or an extension run past Header Length
  buffer_too_small,   // encode: cap is too small
  invalid_field,      // encode: a field cannot be represented (see encode())
};
const char* error_name(Error e);

// Bytes encode() would write for h (header only, not the payload), or 0 when h is invalid.
size_t encoded_size(const ObjectHeader& h);

// Writes the header into p[0..cap). invalid_field when: modality out of range, a value above the
// varint range, deadline_us not kNoDeadline and not after generation_us, payload_length above
// kMaxPayloadLength, malformed extensions, or the header would exceed kMaxHeaderLength.
Error encode(const ObjectHeader& h, uint8_t* p, size_t cap, size_t* written);
// Same; returns the bytes written, or 0 on any error.
size_t encode(const ObjectHeader& h, uint8_t* p, size_t cap);

// Reads a header from p[0..n). The payload need not be there yet (stream data arrives in
// pieces); *header_size is where it starts. Unknown extensions are kept (h->extensions) and
// otherwise skipped. Reads nothing outside p[0..n); h is unspecified unless ok.
Error decode(const uint8_t* p, size_t n, ObjectHeader* h, size_t* header_size);

// Reads a whole object: header and payload_length bytes of payload, which must all be in
// p[0..n) (truncated otherwise). Bytes after the object (another object) are left alone.
Error decode_object(const uint8_t* p, size_t n, ObjectHeader* h, const uint8_t** payload,
                    size_t* object_size);

// Appends one extension TLV at p[0..cap). Returns the bytes written, or 0 when it does not fit.
size_t encode_extension(uint8_t* p, size_t cap, uint64_t type, const uint8_t* value, size_t len);

// Walks an extension block (h.extensions). next() returns false at the end or, for a block that
// decode() did not check, at the first malformed TLV (then malformed() is true).
class ExtensionReader {
 public:
  ExtensionReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool next(uint64_t* type, const uint8_t** value, size_t* length);
  bool malformed() const { return malformed_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool malformed_ = false;
};

}  // namespace camp::campfmt
