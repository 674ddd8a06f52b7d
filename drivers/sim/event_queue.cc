#include "drivers/sim/event_queue.h"

namespace camp::sim {

EventQueue::EventQueue(size_t capacity) : heap_(capacity == 0 ? 1 : capacity) {}

bool EventQueue::push(uint64_t time, EventKind kind, uint32_t a, uint32_t b) {
  if (size_ == heap_.size()) return false;
  Event e{time, next_seq_++, a, b, kind};
  // Sift up: move parents down until e's place is found.
  size_t i = size_++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!before(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
  return true;
}

void EventQueue::pop() {
  if (size_ == 0) return;
  Event last = heap_[--size_];
  if (size_ == 0) return;
  // Sift down the former last element from the root.
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= size_) break;
    if (child + 1 < size_ && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], last)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = last;
}

}  // namespace camp::sim
