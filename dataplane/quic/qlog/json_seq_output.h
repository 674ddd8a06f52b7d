// A bounded JSON-SEQ (RFC 7464) emitter: formats JSON values straight into one fixed-size buffer
// and hands each full buffer to a sink, so memory stays bounded however much is logged and
// nothing allocates after construction. Records may be split across chunks; the sink sees one
// continuous byte stream. Used by QlogWriter; not a general JSON library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "dataplane/quic/wire/byte_view.h"

namespace camp::quic {

// Receives formatted qlog bytes. Called with every full buffer and on flush(); must not call back
// into the writer that owns it. The span is only valid during the call.
using QlogSink = std::function<void(std::span<const char>)>;

namespace qlog {

inline constexpr char kRecordSeparator = 0x1e;

class JsonSeqOutput {
 public:
  // capacity 0 is taken as 1 so that every write makes progress.
  JsonSeqOutput(size_t capacity, QlogSink sink);
  ~JsonSeqOutput() { flush(); }  // nothing formatted is lost
  JsonSeqOutput(const JsonSeqOutput&) = delete;
  JsonSeqOutput& operator=(const JsonSeqOutput&) = delete;

  // Records: RS, one JSON value, LF.
  void begin_record();
  void end_record();

  // Structure. Commas are placed automatically: a value or key that follows a finished value
  // gets one.
  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view name);  // name must be plain ASCII without quotes (our literals)

  // Values.
  void u64(uint64_t v);
  void boolean(bool b);
  // Nanoseconds as milliseconds with microsecond precision ("12.345"), rounded to the nearest us.
  void ms_from_ns(int64_t ns);
  // A JSON string from arbitrary bytes: quote, backslash, every control byte and every byte
  // >= 0x7f are escaped (\u00XX), so the output is valid JSON whatever the input.
  void str(std::string_view s);
  void str(ByteView b) { str(std::string_view(reinterpret_cast<const char*>(b.data), b.size)); }
  // Lower-case hex of the bytes, quoted.
  void hex(ByteView b);
  // A string from a trusted literal (ASCII, nothing to escape).
  void literal(std::string_view s);

  // Hands what is buffered to the sink (nothing when empty).
  void flush();

  size_t capacity() const { return cap_; }
  size_t buffered() const { return len_; }
  uint64_t total_bytes() const { return total_; }  // every byte formatted so far

 private:
  void value_start() {
    if (need_comma_) put(',');
  }
  // The common cases inline: a byte, or bytes that fit before the buffer is full.
  void put(char c) {
    buf_[len_++] = c;
    ++total_;
    if (len_ == cap_) emit();  // hand over as soon as full: never more than cap_ held
  }
  void append(const char* p, size_t n) {
    if (n < cap_ - len_) {
      if (n != 0) std::memcpy(buf_.get() + len_, p, n);  // p may be null when n is 0
      len_ += n;
      total_ += n;
    } else {
      append_slow(p, n);
    }
  }
  void append_slow(const char* p, size_t n);
  void emit();

  std::unique_ptr<char[]> buf_;
  size_t cap_;
  size_t len_ = 0;
  uint64_t total_ = 0;
  bool need_comma_ = false;
  QlogSink sink_;
};

}  // namespace qlog
}  // namespace camp::quic
