// Windowed maximum over a sliding window of "time" (rounds, here), kept as the best, second best
// and third best samples so an old maximum ages out without storing every sample (the
// Kathleen Nichols filter BBR implementations use).
#pragma once

#include <cstdint>

namespace camp::quic {

template <typename T>
class WindowedMaxFilter {
 public:
  void reset(T value, uint64_t time) {
    for (auto& s : s_) s = Sample{value, time};
  }
  T get() const { return s_[0].value; }

  T update(T value, uint64_t time, uint64_t window) {
    const Sample n{value, time};
    if (value >= s_[0].value || time - s_[2].time > window) {
      reset(value, time);  // new maximum, or the whole window is stale
      return get();
    }
    if (value >= s_[1].value) {
      s_[1] = n;
      s_[2] = n;
    } else if (value >= s_[2].value) {
      s_[2] = n;
    }
    // Age out: promote the runners-up when the best is older than the window.
    if (time - s_[0].time > window) {
      s_[0] = s_[1];
      s_[1] = s_[2];
      s_[2] = n;
      if (time - s_[0].time > window) {
        s_[0] = s_[1];
        s_[1] = s_[2];
      }
    } else if (s_[1].time == s_[0].time && time - s_[1].time > window / 4) {
      s_[1] = s_[2] = n;  // keep the runners-up from sharing the best sample's age
    } else if (s_[2].time == s_[1].time && time - s_[2].time > window / 2) {
      s_[2] = n;
    }
    return get();
  }

 private:
  struct Sample {
    T value{};
    uint64_t time = 0;
  };
  Sample s_[3];
};

}  // namespace camp::quic
