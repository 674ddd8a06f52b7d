// camp-client's DATAGRAM probe (RFC 9221): COUNT distinct payloads for an echo server, and the
// tally of what became of them. Each payload is an 8-byte big-endian sequence number followed by
// a pattern derived from it, 100-1000 bytes long (within the size the path allows), so an echo is
// checked byte for byte without keeping copies of what was sent. No I/O: the connection owner
// sends what payload() prepares and reports acknowledgements, losses and echoes.
//
// An echo server holds what it has not echoed yet in bounded queues, so a sender that bursts the
// whole COUNT makes it drop (correctly). The probe keeps at most `window` datagrams unresolved:
// sent, and neither echoed nor reported lost. An echo lost on its way back would hold its place
// for ever, so once everything is acknowledged the owner may write the missing echoes off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace camp::hq {

class DatagramProbe {
 public:
  static constexpr size_t kHeaderBytes = 8;
  static constexpr size_t kMinSize = 100;
  static constexpr size_t kMaxSize = 1000;
  static constexpr uint64_t kMaxCount = 1'000'000;  // bounds the per-datagram state (one byte)

  // count <= kMaxCount; max_payload: the largest payload the connection can send both ways
  // (sizes are clamped to it; it must be at least kHeaderBytes + 1).
  DatagramProbe(uint64_t count, size_t max_payload, uint64_t window = 32);

  // Sequence number `seq`'s payload, written into out (its capacity is reused).
  void payload(uint64_t seq, std::vector<uint8_t>& out) const;
  size_t size_of(uint64_t seq) const;

  bool all_sent() const { return sent_ == count_; }
  // Another datagram may go: not all sent, and fewer than `window` unresolved.
  bool may_send() const { return sent_ < count_ && unresolved_ < window_; }
  uint64_t unresolved() const { return unresolved_; }
  // Every acknowledged datagram still without an echo is taken to have lost its echo: it leaves
  // the window (a late echo still counts). Returns how many were written off.
  uint64_t write_off_unechoed();
  uint64_t next_seq() const { return sent_; }
  // The payload of next_seq() was queued on the connection under datagram ID `id`. IDs must be
  // consecutive (the connection numbers the datagrams it accepts 0, 1, 2...).
  void on_sent(uint64_t id);
  void on_acked(uint64_t id);
  void on_lost(uint64_t id);

  enum class Echo : uint8_t { kNew, kDuplicate, kBad };
  // A DATAGRAM received from the peer: one of ours, whole and unchanged, or not.
  Echo on_echo(std::span<const uint8_t> data);

  uint64_t count() const { return count_; }
  uint64_t sent() const { return sent_; }
  uint64_t acked() const { return acked_; }
  uint64_t lost() const { return lost_; }
  uint64_t pending() const { return sent_ - acked_ - lost_; }  // neither acked nor lost yet
  uint64_t echoed() const { return echoed_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t bad() const { return bad_; }
  uint64_t spurious_losses() const { return spurious_; }  // declared lost, then acknowledged
  uint64_t unknown_ids() const { return unknown_ids_; }  // outcomes for IDs we never sent

  // "datagrams: sent N, acked A, lost L, echoed E" (+ pending, duplicates, bad, spurious when
  // not zero).
  std::string summary() const;

 private:
  enum State : uint8_t { kPending = 0, kAcked = 1, kLost = 2, kEchoed = 4, kWrittenOff = 8 };
  static bool resolved(uint8_t s) { return s & (kLost | kEchoed | kWrittenOff); }
  // Keeps unresolved_ in step with one datagram's state change.
  void set_state(uint8_t& s, uint8_t next);
  // Index of a datagram ID, or count_ when it is not one of ours.
  uint64_t index_of(uint64_t id) const;

  uint64_t count_;
  size_t max_payload_;
  uint64_t window_;
  uint64_t unresolved_ = 0;
  uint64_t first_id_ = 0;
  uint64_t sent_ = 0;
  uint64_t acked_ = 0;
  uint64_t lost_ = 0;
  uint64_t echoed_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t bad_ = 0;
  uint64_t spurious_ = 0;
  uint64_t unknown_ids_ = 0;
  std::vector<uint8_t> state_;  // per sequence number: State bits
};

}  // namespace camp::hq
