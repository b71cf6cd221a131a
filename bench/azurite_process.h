// Starts Azurite (the Azure Storage emulator, npm package) for `taskhub-bench --store
// azure` when no storage account is given: kernel-chosen ports on 127.0.0.1, data in
// a temporary directory; SIGTERM and the directory removed on destruction.
// Not thread-safe.
#ifndef TASKHUB_BENCH_AZURITE_PROCESS_H_
#define TASKHUB_BENCH_AZURITE_PROCESS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace taskhub::bench {

class AzuriteProcess {
 public:
  // Starts `binary` (the azurite executable) and waits until its three services listen.
  static absl::StatusOr<AzuriteProcess> Start(const std::string& binary);
  AzuriteProcess(AzuriteProcess&& o) noexcept;
  ~AzuriteProcess();

  // The connection string of Azurite's well-known development account on its ports.
  std::string connection_string() const;

 private:
  AzuriteProcess() = default;
  pid_t pid_ = 0;
  int blob_port_ = 0, queue_port_ = 0, table_port_ = 0;
  std::string dir_;
};

}  // namespace taskhub::bench

#endif  // TASKHUB_BENCH_AZURITE_PROCESS_H_
