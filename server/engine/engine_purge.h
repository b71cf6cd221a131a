// The state of one purge (engine_purge.cc), shared by purges requested by clients and
// by the retention sweeps (engine_retention.cc). Touched by one thread at a time: the
// purger thread, or the commit callback that posts the next slice.
#ifndef TASKHUB_SERVER_ENGINE_ENGINE_PURGE_H_
#define TASKHUB_SERVER_ENGINE_ENGINE_PURGE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "server/engine/engine.h"

namespace taskhub::engine {

// Instances deleted per slice (one commit, one WAL sync) and read per filter page.
inline constexpr size_t kPurgeSliceInstances = 500;

struct Engine::PurgeJob {
  bool recursive = false;
  size_t slice = kPurgeSliceInstances;
  // Retention sweeps: counted apart, and at most `rate` instances/s (0: no bound).
  bool retention = false;
  int rate = 0;
  // Roots still to visit: from the request's ids, or from filter pages.
  std::vector<std::string> ids;
  size_t next_id = 0;
  bool by_filter = false;
  bool filter_done = false;
  int pages = 0;
  storage::InstanceFilter filter;
  absl::Time deadline = absl::InfiniteFuture();
  // The tree walk: (instance id, the parent its record must name; empty for roots).
  std::vector<std::pair<std::string, std::string>> todo;
  absl::flat_hash_set<std::string> seen;
  int64_t deleted = 0;
  DoneWith<PurgeInstancesResponse> done;
};

}  // namespace taskhub::engine

#endif  // TASKHUB_SERVER_ENGINE_ENGINE_PURGE_H_
