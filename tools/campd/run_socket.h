// campd on kernel UDP sockets (--driver socket): no EAL, one worker on the calling thread, the
// same control plane and campctl as with DPDK.
#pragma once

#include <atomic>

#include "tools/campd/options.h"

namespace camp::campd {

// Runs until `quit` is set (a signal, campctl stop, --duration). Returns the exit status.
int run_socket_engine(const Options& opt, std::atomic<bool>& quit);

}  // namespace camp::campd
