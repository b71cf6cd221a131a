// Small statistics helpers for the benchmark (percentiles, rates).
#ifndef TASKHUB_BENCH_STATS_H_
#define TASKHUB_BENCH_STATS_H_

#include <algorithm>
#include <vector>

#include "absl/time/time.h"

namespace taskhub::bench {

// The p-th percentile (0..100) of `values` (nearest rank); 0 when empty.
inline double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(p / 100.0 * values.size() + 0.5);
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

inline double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

}  // namespace taskhub::bench

#endif  // TASKHUB_BENCH_STATS_H_
