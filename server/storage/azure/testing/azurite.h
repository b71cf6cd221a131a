// Test fixture (also taskhub-bench's Azurite): one Azurite (Azure Storage emulator) process on free
// loopback ports. The binary is $TASKHUB_AZURITE, else build/azurite/node_modules/.bin/azurite
// (installed by `tools/azurite.sh install`); when missing, Start fails saying so.
//
// Azurite runs with --inMemoryPersistence, or with Options::location as its workspace
// (then Stop/Kill + Restart keep the data: outage tests). Restart reuses the ports, so
// a connection string stays valid. Dies with the thread that started it
// (PR_SET_PDEATHSIG: start it from the test's main thread or a long-lived one).
//
// Thread-safety: not thread-safe; one thread drives the fixture (clients may run on
// any thread).
#ifndef TASKHUB_SERVER_STORAGE_AZURE_TESTING_AZURITE_H_
#define TASKHUB_SERVER_STORAGE_AZURE_TESTING_AZURITE_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/azure/client/azure_client.h"

namespace taskhub::azure::testing {

// The Azurite binary to run (see above).
std::string AzuriteBinary();

class Azurite {
 public:
  struct Options {
    std::string location = "";  // workspace directory; empty: --inMemoryPersistence
    std::string binary = "";    // the azurite executable; empty: AzuriteBinary()
  };
  // Starts Azurite and waits until its three services listen.
  static absl::StatusOr<std::unique_ptr<Azurite>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<Azurite>> Start() { return Start(Options{}); }
  ~Azurite();  // Kill()

  // "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=...;
  // BlobEndpoint=http://127.0.0.1:<port>/devstoreaccount1;..."
  std::string ConnectionString() const;
  Account account() const;  // the parsed connection string
  int blob_port() const { return ports_[0]; }
  int queue_port() const { return ports_[1]; }
  int table_port() const { return ports_[2]; }
  bool running() const { return pid_ > 0; }

  absl::Status Stop();  // SIGTERM and wait
  void Kill();          // SIGKILL and wait (no-op when not running)
  // Starts it again on the same ports (after Stop or Kill).
  absl::Status Restart();

 private:
  Azurite() = default;
  absl::Status Launch(bool fixed_ports);

  Options options_;
  std::string log_path_;
  std::string temp_dir_;
  pid_t pid_ = -1;
  int ports_[3] = {0, 0, 0};
};

// One Azurite for the whole test binary (in memory), started by the first call and
// killed at exit; every call returns the same result. Call it from the main thread
// (see PR_SET_PDEATHSIG above).
absl::StatusOr<Azurite*> SharedAzurite();
// SharedAzurite(), or abort with the reason (for suites that cannot run without it).
Azurite* SharedAzuriteOrDie();
// A task hub name not used before by this process: `prefix`, the pid, 'x', a counter.
std::string FreshHubName(const std::string& prefix);

}  // namespace taskhub::azure::testing

#endif  // TASKHUB_SERVER_STORAGE_AZURE_TESTING_AZURITE_H_
