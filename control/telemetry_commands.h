// rte_telemetry's /camp/stats, /camp/status, /camp/ports[,ID] and /camp/workers[,ID], so the stock
// dpdk-telemetry.py reads the engine's numbers. rte_telemetry takes plain function pointers and
// cannot unregister, so the commands are registered once per process and answer for whichever
// ControlPlane is attached (an error while none is).
#pragma once

#include <string>

namespace camp::control {

class ControlPlane;

// Registers the commands (first time only) and makes cp the one that answers them. Works before
// or after rte_eal_init. Fails if another ControlPlane is attached.
bool telemetry_attach(ControlPlane* cp, std::string* err);
// Detaches cp; waits for a call in progress to finish.
void telemetry_detach(ControlPlane* cp);

}  // namespace camp::control
