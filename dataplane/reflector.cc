#include "dataplane/reflector.h"

#include <cstring>

namespace camp {

void Reflector::on_datagrams(const RxDatagram* rx, size_t n, uint64_t, TxBatch& tx,
                             WorkerStats& stats) {
  for (size_t i = 0; i < n; ++i) {
    TxSlot* s = tx.acquire_in_place(rx[i]);
    if (s == nullptr || s->cap < rx[i].len) {
      stats.drop(s == nullptr && tx.out_of_buffers() ? DropReason::no_mbuf
                                                      : DropReason::endpoint_no_tx_room);
      continue;
    }
    if (s->data != rx[i].data) std::memcpy(s->data, rx[i].data, rx[i].len);
    s->len = rx[i].len;
    s->tuple = rx[i].tuple;
    tx.commit();
  }
}

uint64_t Reflector::on_timer(uint64_t, TxBatch&, WorkerStats&) { return kNever; }

}  // namespace camp
