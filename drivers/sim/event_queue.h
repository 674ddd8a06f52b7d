// The simulator's agenda: a binary min-heap of events ordered by (time, insertion number), with
// its capacity fixed at construction so that running never allocates. Ties at the same instant
// run in the order they were scheduled, which is what makes a run repeatable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace camp::sim {

enum class EventKind : uint8_t {
  timer,    // a node's endpoint asked to run: a = node, b = timer generation
  tx_done,  // a link finished serialising its current packet: a = link
  arrival,  // a packet reaches the far end of its link: a = packet, b = receiving node
  action,   // a scheduled call (cut, restore, reconfigure, user code): a = action index
};

struct Event {
  uint64_t time = 0;
  uint64_t seq = 0;  // insertion number: the tie-breaker
  uint32_t a = 0;
  uint32_t b = 0;
  EventKind kind = EventKind::timer;
};

class EventQueue {
 public:
  explicit EventQueue(size_t capacity);

  // False when the queue is full (the event is not scheduled; the caller counts it).
  bool push(uint64_t time, EventKind kind, uint32_t a, uint32_t b = 0);
  // The earliest event; only valid when !empty().
  const Event& top() const { return heap_[0]; }
  void pop();

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  size_t capacity() const { return heap_.size(); }
  uint64_t scheduled() const { return next_seq_; }

 private:
  static bool before(const Event& x, const Event& y) {
    return x.time < y.time || (x.time == y.time && x.seq < y.seq);
  }
  std::vector<Event> heap_;  // sized once; the first size_ entries are live
  size_t size_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace camp::sim
