// One direction of a simulated link: its configuration, its counters, and the per-packet random
// decisions (loss, Gilbert-Elliott state, delay and jitter, reordering, duplication,
// serialisation time). The queue and the events around it live in the Simulator.
#pragma once

#include <cstdint>
#include <string_view>

#include "drivers/sim/rng.h"

namespace camp::sim {

enum class JitterModel : uint8_t {
  uniform,  // uniform in [-jitter_ns, +jitter_ns]
  normal,   // normal with jitter_sigma_ns, clamped to [-jitter_ns, +jitter_ns]
};

// Gilbert-Elliott two-state loss: each packet first moves the chain (good -> bad with p,
// bad -> good with r), then is lost with the current state's probability. Stationary loss:
//   P(bad) = p / (p + r);  loss = loss_good * r / (p + r) + loss_bad * p / (p + r).
// Mean time in the bad state is 1 / r packets. p = 0 disables the model.
struct GilbertElliott {
  double p = 0.0;
  double r = 1.0;
  double loss_good = 0.0;
  double loss_bad = 1.0;

  bool enabled() const { return p > 0.0; }
  double stationary_loss() const {
    if (!enabled()) return 0.0;
    return (loss_good * r + loss_bad * p) / (p + r);
  }
};

struct LinkConfig {
  uint64_t delay_ns = 0;          // propagation delay
  uint64_t jitter_ns = 0;         // bound on the jitter added to delay_ns (the total stays >= 0)
  JitterModel jitter_model = JitterModel::uniform;
  uint64_t jitter_sigma_ns = 0;   // normal model; 0 means jitter_ns / 3
  bool jitter_reorders = false;   // false: jitter never lets a packet overtake an earlier one
  uint64_t rate_bps = 0;          // serialisation rate; 0 = infinite (no queue)
  uint32_t overhead_bytes = 0;    // added to each datagram's length for serialisation (IP+UDP)
  uint32_t queue_packets = 0;     // waiting packets allowed (not counting the one on the wire)
  uint64_t queue_bytes = 0;       // waiting bytes allowed; 0 and 0 = unbounded (the pool bounds)
  double loss = 0.0;              // Bernoulli loss probability
  GilbertElliott burst_loss;      // bursty loss, applied as well as `loss`
  double reorder = 0.0;           // probability a packet is held back by reorder_delay_ns
  uint64_t reorder_delay_ns = 0;
  double duplicate = 0.0;         // probability a second copy is delivered
};

enum class ConfigError : uint8_t {
  ok,
  bad_probability,   // a probability outside [0, 1] or NaN
  bad_gilbert,       // Gilbert-Elliott enabled with r <= 0 (the bad state would never end)
  bad_jitter,        // sigma given without a bound, or a bound over the delay range
};
std::string_view config_error_name(ConfigError e);
ConfigError validate(const LinkConfig& c);

struct LinkCounters {
  uint64_t sent = 0;            // datagrams offered to the link
  uint64_t sent_bytes = 0;
  uint64_t delivered = 0;       // copies handed to the receiving node (duplicates included)
  uint64_t delivered_bytes = 0;
  uint64_t dropped_loss = 0;        // Bernoulli loss
  uint64_t dropped_burst_loss = 0;  // Gilbert-Elliott loss
  uint64_t dropped_queue_full = 0;  // tail drop
  uint64_t dropped_cut = 0;         // offered while cut, queued or in flight when it was cut
  uint64_t dropped_no_buffer = 0;   // a duplicate the packet pool had no buffer for
  uint64_t dropped_no_event = 0;    // the event queue was full
  uint64_t duplicated = 0;          // extra copies made
  uint64_t reordered = 0;           // packets held back by the reorder model
  uint64_t max_queue_packets = 0;
  uint64_t max_queue_bytes = 0;

  uint64_t dropped() const {
    return dropped_loss + dropped_burst_loss + dropped_queue_full + dropped_cut +
           dropped_no_buffer + dropped_no_event;
  }
};

// The random side of a link. One Rng per link, derived from (seed, link id), so traffic on one
// link never shifts the random numbers another link sees.
class LinkModel {
 public:
  LinkModel(const LinkConfig& c, uint64_t seed, uint64_t stream) : cfg_(c), rng_(seed, stream) {}

  const LinkConfig& config() const { return cfg_; }
  void set_config(const LinkConfig& c) { cfg_ = c; }  // state (GE state, rate remainder) kept

  enum class Fate : uint8_t { pass, loss, burst_loss };
  // Steps the Gilbert-Elliott chain (every packet that reaches the wire) and draws the losses.
  Fate loss_fate();
  // Propagation delay plus jitter, never negative.
  uint64_t sample_delay();
  bool sample_reorder() { return rng_.bernoulli(cfg_.reorder); }
  bool sample_duplicate() { return rng_.bernoulli(cfg_.duplicate); }
  // Time to put `len` bytes on the wire; the sub-nanosecond remainder carries over so a long
  // run's throughput is exact.
  uint64_t serialisation_ns(uint32_t len);
  bool in_bad_state() const { return bad_; }

 private:
  LinkConfig cfg_;
  Rng rng_;
  bool bad_ = false;
  uint64_t rate_rem_ = 0;  // remainder of bits * 1e9 / rate_bps
};

}  // namespace camp::sim
