// StatsFile: keeps a file holding a snapshot (e.g. the storage transaction counts as
// JSON) current: rewritten every `period` by a background thread and once more by
// Stop(). Each rewrite is atomic (a temporary file beside it, then rename), so a
// reader (taskhub-bench) never sees a partial file. Write errors are logged once and
// retried at the next period; they never stop the server.
// Thread-safety: Start() and Stop() from one thread; `snapshot` is called from the
// writer thread and from Stop(), so it must be thread-safe.
#ifndef TASKHUB_SERVER_DAEMON_STATS_FILE_H_
#define TASKHUB_SERVER_DAEMON_STATS_FILE_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace taskhub::daemon {

class StatsFile {
 public:
  // Writes the first snapshot at once (an error here is returned: a bad path is a
  // start-up error), then every `period`.
  static absl::StatusOr<std::unique_ptr<StatsFile>> Start(std::string path,
                                                          std::function<std::string()> snapshot,
                                                          absl::Duration period = absl::Seconds(1));
  ~StatsFile();  // Stop()
  // Stops the thread and writes the final snapshot. Idempotent.
  void Stop();

 private:
  StatsFile(std::string path, std::function<std::string()> snapshot, absl::Duration period);
  absl::Status WriteOnce();
  void Run();

  const std::string path_;
  const std::function<std::string()> snapshot_;
  const absl::Duration period_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool error_logged_ = false;  // writer thread, then Stop() after the join
  std::thread thread_;
};

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_STATS_FILE_H_
