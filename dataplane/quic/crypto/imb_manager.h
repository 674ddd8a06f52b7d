// One intel-ipsec-mb manager (IMB_MGR) per worker thread.
//
// The manager holds the CPU-specific function table and the job queue. It is not thread-safe: each
// worker owns exactly one, creates it at start-up (it allocates), and passes it to every seal,
// open and header-protection call it makes. Keys (PacketAead, HeaderProtection) are plain data and
// may be prepared with any manager, but a call must use the calling thread's own manager.
// Calls here use the job queue synchronously (submit, then drain): nobody may leave jobs in flight
// on a manager shared with this code.
#pragma once

#include <intel-ipsec-mb.h>

namespace camp::quic {

class ImbManager {
 public:
  ImbManager();  // allocates and picks the best code path for this CPU; check ok()
  ~ImbManager();
  ImbManager(const ImbManager&) = delete;
  ImbManager& operator=(const ImbManager&) = delete;

  bool ok() const { return mgr_ != nullptr; }
  IMB_MGR* get() const { return mgr_; }
  // "avx512", "avx2", "avx", "sse", "no-aesni" or "none".
  const char* arch_name() const;

 private:
  IMB_MGR* mgr_ = nullptr;
  IMB_ARCH arch_ = IMB_ARCH_NONE;
};

}  // namespace camp::quic
