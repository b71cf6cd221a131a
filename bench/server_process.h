// Starts a local taskhubd on a temporary data directory (port 0) for the benchmark,
// and reads its CPU time and memory from /proc. Not thread-safe.
#ifndef TASKHUB_BENCH_SERVER_PROCESS_H_
#define TASKHUB_BENCH_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace taskhub::bench {

class ServerProcess {
 public:
  // Starts `binary` with `extra_args`; waits until it serves.
  static absl::StatusOr<ServerProcess> Start(const std::string& binary,
                                             const std::vector<std::string>& extra_args);
  ServerProcess(ServerProcess&& o) noexcept;
  ~ServerProcess();  // SIGTERM, wait, remove the data directory

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return pid_; }
  // CPU time (user + system) the process has used so far.
  absl::Duration CpuTime() const;
  // Resident set size in bytes.
  int64_t RssBytes() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = 0;
  int port_ = 0;
  std::string dir_;
};

}  // namespace taskhub::bench

#endif  // TASKHUB_BENCH_SERVER_PROCESS_H_
