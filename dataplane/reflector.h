// The UDP service until the QUIC endpoint replaces it: every datagram goes back to its sender
// with the same payload, from the address and port it was sent to.
#pragma once

#include "dataplane/endpoint.h"

namespace camp {

class Reflector final : public Endpoint {
 public:
  void on_datagrams(const RxDatagram* rx, size_t n, uint64_t now_ns, TxBatch& tx,
                    WorkerStats& stats) override;
  uint64_t on_timer(uint64_t now_ns, TxBatch& tx, WorkerStats& stats) override;
};

}  // namespace camp
