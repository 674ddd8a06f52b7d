// A Google Benchmark reporter for camp's benchmarks: keeps the console table (without colour, so
// no escape codes land in front of the JSON lines when piped) and remembers, per benchmark, the
// CPU time per iteration in ns and the items/s counter. With --benchmark_repetitions the median
// is kept; without, the single run. CPU time, not wall time: these benchmarks are single-threaded
// and never block, so on an idle machine they agree, and on a shared one CPU time leaves out the
// time other processes held the core.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace camp::perf {

class Capture : public benchmark::ConsoleReporter {
 public:
  Capture() : ConsoleReporter(OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (!median && !(r.run_type == Run::RT_Iteration && r.repetitions <= 1)) continue;
      const std::string& name = r.run_name.function_name;
      ns_[name] = r.GetAdjustedCPUTime();  // default unit: nanoseconds
      const auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) items_s_[name] = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // -1 / 0 when the benchmark did not run.
  double ns(const std::string& name) const { return get(ns_, name, -1); }
  double items_per_second(const std::string& name) const { return get(items_s_, name, 0); }

 private:
  static double get(const std::map<std::string, double>& m, const std::string& k, double none) {
    const auto it = m.find(k);
    return it == m.end() ? none : it->second;
  }
  std::map<std::string, double> ns_, items_s_;
};

}  // namespace camp::perf
