#include "drivers/sim/link.h"

#include <algorithm>
#include <cmath>

namespace camp::sim {

namespace {
bool probability(double p) { return p >= 0.0 && p <= 1.0; }  // false for NaN too
}  // namespace

std::string_view config_error_name(ConfigError e) {
  switch (e) {
    case ConfigError::ok: return "ok";
    case ConfigError::bad_probability: return "bad_probability";
    case ConfigError::bad_gilbert: return "bad_gilbert";
    case ConfigError::bad_jitter: return "bad_jitter";
  }
  return "unknown";
}

ConfigError validate(const LinkConfig& c) {
  const GilbertElliott& g = c.burst_loss;
  if (!probability(c.loss) || !probability(c.reorder) || !probability(c.duplicate) ||
      !probability(g.p) || !probability(g.r) || !probability(g.loss_good) ||
      !probability(g.loss_bad)) {
    return ConfigError::bad_probability;
  }
  if (g.enabled() && g.r <= 0.0) return ConfigError::bad_gilbert;
  // Bounds kept well inside int64 so delay +/- jitter cannot overflow.
  if (c.jitter_ns > (UINT64_C(1) << 62) || c.delay_ns > (UINT64_C(1) << 62) ||
      c.reorder_delay_ns > (UINT64_C(1) << 62)) {
    return ConfigError::bad_jitter;
  }
  if (c.jitter_sigma_ns != 0 && c.jitter_ns == 0) return ConfigError::bad_jitter;
  return ConfigError::ok;
}

LinkModel::Fate LinkModel::loss_fate() {
  const GilbertElliott& g = cfg_.burst_loss;
  Fate f = Fate::pass;
  if (g.enabled()) {
    bad_ = bad_ ? !rng_.bernoulli(g.r) : rng_.bernoulli(g.p);
    if (rng_.bernoulli(bad_ ? g.loss_bad : g.loss_good)) f = Fate::burst_loss;
  }
  // Bernoulli is drawn whatever GE decided so the two streams of decisions stay independent.
  if (rng_.bernoulli(cfg_.loss) && f == Fate::pass) f = Fate::loss;
  return f;
}

uint64_t LinkModel::sample_delay() {
  if (cfg_.jitter_ns == 0) return cfg_.delay_ns;
  int64_t j;
  if (cfg_.jitter_model == JitterModel::uniform) {
    j = rng_.symmetric(cfg_.jitter_ns);
  } else {
    const double sigma = cfg_.jitter_sigma_ns != 0 ? static_cast<double>(cfg_.jitter_sigma_ns)
                                                   : static_cast<double>(cfg_.jitter_ns) / 3.0;
    const double bound = static_cast<double>(cfg_.jitter_ns);
    // llround is exact IEEE rounding, no platform-dependent libm approximation.
    j = std::llround(std::clamp(rng_.normal() * sigma, -bound, bound));
  }
  const int64_t d = static_cast<int64_t>(cfg_.delay_ns) + j;
  return d < 0 ? 0 : static_cast<uint64_t>(d);
}

uint64_t LinkModel::serialisation_ns(uint32_t len) {
  if (cfg_.rate_bps == 0) return 0;
  // bits * 1e9 for a 64 KiB datagram is ~5e14: far from overflowing.
  const uint64_t num = (static_cast<uint64_t>(len) + cfg_.overhead_bytes) * 8 * 1000000000ULL +
                       rate_rem_;
  rate_rem_ = num % cfg_.rate_bps;
  return num / cfg_.rate_bps;
}

}  // namespace camp::sim
