// Starts a local taskhubd on a temporary data directory (port 0) for the benchmark,
// and reads its CPU time and memory from /proc. Not thread-safe.
#ifndef TASKHUB_BENCH_SERVER_PROCESS_H_
#define TASKHUB_BENCH_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace taskhub::bench {

class ServerProcess {
 public:
  // Starts `binary` with `extra_args` (and `env` added to its environment); waits
  // until it serves. storage_stats: also pass --storage-stats-file (in the temporary
  // directory), read by StorageStats().
  static absl::StatusOr<ServerProcess> Start(
      const std::string& binary, const std::vector<std::string>& extra_args,
      const std::vector<std::pair<std::string, std::string>>& env = {},
      bool storage_stats = false);
  ServerProcess(ServerProcess&& o) noexcept;
  ~ServerProcess();  // SIGTERM, wait, remove the data directory

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  // CPU time (user + system) the process has used so far.
  absl::Duration CpuTime() const;
  // Stops the server (SIGTERM, wait) and starts it again on the same data dir (a new
  // port: see address()); returns the time until it served again.
  absl::StatusOr<absl::Duration> Restart();
  std::string data_dir() const { return dir_ + "/data"; }
  // Resident set size in bytes.
  int64_t RssBytes() const;
  bool has_storage_stats() const { return !stats_file_.empty(); }
  // The storage transactions taskhubd has made so far, by kind and "total", from its
  // --storage-stats-file (rewritten every second: waits for a rewrite first, so the
  // figures are at most a few milliseconds old).
  absl::StatusOr<std::map<std::string, double>> StorageStats() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
  std::string stats_file_;
  std::vector<std::string> args_;  // argv, for Restart()
  std::vector<std::pair<std::string, std::string>> env_;
  // Forks and execs args_; waits until the port file names a port.
  absl::Status Spawn();
};

}  // namespace taskhub::bench

#endif  // TASKHUB_BENCH_SERVER_PROCESS_H_
