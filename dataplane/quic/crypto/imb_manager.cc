#include "dataplane/quic/crypto/imb_manager.h"

namespace camp::quic {

ImbManager::ImbManager() {
  IMB_MGR* m = alloc_mb_mgr(0);
  if (m == nullptr) return;
  init_mb_mgr_auto(m, &arch_);
  if (arch_ == IMB_ARCH_NONE || imb_get_errno(m) != 0) {
    free_mb_mgr(m);
    return;
  }
  mgr_ = m;
}

ImbManager::~ImbManager() {
  if (mgr_ != nullptr) free_mb_mgr(mgr_);
}

const char* ImbManager::arch_name() const {
  switch (arch_) {
    case IMB_ARCH_NOAESNI: return "no-aesni";
    case IMB_ARCH_SSE: return "sse";
    case IMB_ARCH_AVX: return "avx";
    case IMB_ARCH_AVX2: return "avx2";
    case IMB_ARCH_AVX512: return "avx512";
    default: return "none";
  }
}

}  // namespace camp::quic
