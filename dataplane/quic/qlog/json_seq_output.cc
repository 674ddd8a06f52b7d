#include "dataplane/quic/qlog/json_seq_output.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace camp::quic::qlog {

namespace {
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

JsonSeqOutput::JsonSeqOutput(size_t capacity, QlogSink sink)
    : buf_(new char[std::max<size_t>(capacity, 1)]),
      cap_(std::max<size_t>(capacity, 1)),
      sink_(std::move(sink)) {}

void JsonSeqOutput::emit() {
  if (len_ == 0) return;
  // Reset first: a sink that throws still leaves the buffer consistent.
  const size_t n = len_;
  len_ = 0;
  if (sink_) sink_(std::span<const char>(buf_.get(), n));
}

void JsonSeqOutput::append_slow(const char* p, size_t n) {
  total_ += n;
  while (n > 0) {
    const size_t k = std::min(n, cap_ - len_);
    std::memcpy(buf_.get() + len_, p, k);
    len_ += k;
    p += k;
    n -= k;
    if (len_ == cap_) emit();
  }
}

void JsonSeqOutput::flush() { emit(); }

void JsonSeqOutput::begin_record() {
  put(kRecordSeparator);
  need_comma_ = false;
}

void JsonSeqOutput::end_record() {
  put('\n');
  need_comma_ = false;
}

void JsonSeqOutput::begin_object() {
  value_start();
  put('{');
  need_comma_ = false;
}

void JsonSeqOutput::end_object() {
  put('}');
  need_comma_ = true;
}

void JsonSeqOutput::begin_array() {
  value_start();
  put('[');
  need_comma_ = false;
}

void JsonSeqOutput::end_array() {
  put(']');
  need_comma_ = true;
}

void JsonSeqOutput::key(std::string_view name) {
  value_start();
  put('"');
  append(name.data(), name.size());
  put('"');
  put(':');
  need_comma_ = false;
}

void JsonSeqOutput::u64(uint64_t v) {
  value_start();
  char tmp[24];
  const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  append(tmp, static_cast<size_t>(r.ptr - tmp));
  need_comma_ = true;
}

void JsonSeqOutput::boolean(bool b) {
  value_start();
  if (b) {
    append("true", 4);
  } else {
    append("false", 5);
  }
  need_comma_ = true;
}

void JsonSeqOutput::ms_from_ns(int64_t ns) {
  value_start();
  // Work on the magnitude as unsigned so INT64_MIN has no overflow.
  const bool neg = ns < 0;
  const uint64_t mag = neg ? uint64_t{0} - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  const uint64_t us = mag / 1000 + (mag % 1000 >= 500 ? 1 : 0);
  char tmp[32];
  char* p = tmp;
  if (neg && us != 0) *p++ = '-';
  p = std::to_chars(p, tmp + sizeof tmp, us / 1000).ptr;
  const unsigned frac = static_cast<unsigned>(us % 1000);
  *p++ = '.';
  *p++ = static_cast<char>('0' + frac / 100);
  *p++ = static_cast<char>('0' + frac / 10 % 10);
  *p++ = static_cast<char>('0' + frac % 10);
  append(tmp, static_cast<size_t>(p - tmp));
  need_comma_ = true;
}

void JsonSeqOutput::str(std::string_view s) {
  value_start();
  put('"');
  size_t run = 0;  // bytes that need no escaping, copied in one go
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    if (plain) {
      ++run;
      continue;
    }
    append(s.data() + i - run, run);
    run = 0;
    if (c == '"' || c == '\\') {
      const char esc[2] = {'\\', static_cast<char>(c)};
      append(esc, 2);
    } else {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      append(esc, 6);
    }
  }
  append(s.data() + s.size() - run, run);
  put('"');
  need_comma_ = true;
}

void JsonSeqOutput::hex(ByteView b) {
  value_start();
  put('"');
  char tmp[64];
  size_t n = 0;
  for (size_t i = 0; i < b.size; ++i) {
    tmp[n++] = kHex[b[i] >> 4];
    tmp[n++] = kHex[b[i] & 0xf];
    if (n == sizeof tmp) {
      append(tmp, n);
      n = 0;
    }
  }
  append(tmp, n);
  put('"');
  need_comma_ = true;
}

void JsonSeqOutput::literal(std::string_view s) {
  value_start();
  put('"');
  append(s.data(), s.size());
  put('"');
  need_comma_ = true;
}

}  // namespace camp::quic::qlog
