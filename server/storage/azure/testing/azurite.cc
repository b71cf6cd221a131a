#include "server/storage/azure/testing/azurite.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace taskhub::azure::testing {
namespace {

constexpr char kKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
constexpr absl::Duration kStartTimeout = absl::Seconds(60);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The port in "Azurite <Service> service is successfully listening at http://h:PORT".
int ListeningPort(const std::string& log, const std::string& service) {
  std::string marker = absl::StrCat("Azurite ", service, " service is successfully listening at ");
  size_t pos = log.find(marker);
  if (pos == std::string::npos) return 0;
  size_t eol = log.find('\n', pos);
  if (eol == std::string::npos) return 0;  // line not complete yet
  std::string url = log.substr(pos + marker.size(), eol - pos - marker.size());
  int port = 0;
  if (!absl::SimpleAtoi(url.substr(url.rfind(':') + 1), &port)) return 0;
  return port;
}

}  // namespace

std::string AzuriteBinary() {
  if (const char* env = getenv("TASKHUB_AZURITE"); env != nullptr && *env != '\0') return env;
  return TASKHUB_AZURITE_DEFAULT;
}

absl::StatusOr<std::unique_ptr<Azurite>> Azurite::Start(Options options) {
  std::unique_ptr<Azurite> a(new Azurite());
  a->options_ = std::move(options);
  char tmpl[] = "/tmp/taskhub-azurite-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  a->temp_dir_ = tmpl;
  if (absl::Status s = a->Launch(/*fixed_ports=*/false); !s.ok()) return s;
  return a;
}

Azurite::~Azurite() {
  Kill();
  if (!temp_dir_.empty()) {
    unlink(log_path_.c_str());
    rmdir(temp_dir_.c_str());
  }
}

absl::Status Azurite::Launch(bool fixed_ports) {
  const std::string binary = options_.binary.empty() ? AzuriteBinary() : options_.binary;
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Azurite not found at ", binary,
        ": run `tools/azurite.sh install` (or set TASKHUB_AZURITE to an azurite binary)"));
  }
  log_path_ = temp_dir_ + "/azurite.log";
  std::vector<std::string> args = {binary, "--silent", "--disableTelemetry"};
  if (options_.location.empty()) {
    args.push_back("--inMemoryPersistence");
  } else {
    args.insert(args.end(), {"--location", options_.location});
  }
  const char* services[] = {"blob", "queue", "table"};
  for (int i = 0; i < 3; ++i) {
    args.insert(args.end(), {absl::StrCat("--", services[i], "Host"), "127.0.0.1",
                             absl::StrCat("--", services[i], "Port"),
                             std::to_string(fixed_ports ? ports_[i] : 0)});
  }
  unlink(log_path_.c_str());  // else the wait below could read the previous run's lines
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  pid_ = pid;
  // Wait for the three "listening" lines (or the process to exit), bounded.
  absl::Time deadline = absl::Now() + kStartTimeout;
  while (true) {
    std::string log = ReadFile(log_path_);
    int ports[3] = {ListeningPort(log, "Blob"), ListeningPort(log, "Queue"),
                    ListeningPort(log, "Table")};
    if (ports[0] && ports[1] && ports[2]) {
      std::copy(ports, ports + 3, ports_);
      return absl::OkStatus();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("Azurite exited during start-up: ", log));
    }
    if (absl::Now() > deadline) {
      Kill();
      return absl::DeadlineExceededError(absl::StrCat(
          "Azurite did not start in ", absl::FormatDuration(kStartTimeout), ": ", log));
    }
    absl::SleepFor(absl::Milliseconds(50));  // polls a file the child writes
  }
}

std::string Azurite::ConnectionString() const {
  return absl::StrCat(
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=", kKey,
      ";BlobEndpoint=http://127.0.0.1:", ports_[0],
      "/devstoreaccount1;QueueEndpoint=http://127.0.0.1:", ports_[1],
      "/devstoreaccount1;TableEndpoint=http://127.0.0.1:", ports_[2], "/devstoreaccount1;");
}

Account Azurite::account() const { return *ParseConnectionString(ConnectionString()); }

absl::Status Azurite::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) != pid_) {
    if (absl::Now() > deadline) {
      Kill();
      return absl::DeadlineExceededError("Azurite ignored SIGTERM for 10 s; killed it");
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid_ = -1;
  return absl::OkStatus();
}

void Azurite::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::Status Azurite::Restart() {
  if (pid_ > 0) return absl::FailedPreconditionError("Azurite is still running");
  // The old listening sockets may linger briefly; retry the bind for a while.
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    absl::Status s = Launch(/*fixed_ports=*/true);
    if (s.ok() || absl::Now() > deadline) return s;
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::StatusOr<Azurite*> SharedAzurite() {
  static absl::StatusOr<std::unique_ptr<Azurite>> azurite = Azurite::Start();
  if (!azurite.ok()) return azurite.status();
  return azurite->get();
}

Azurite* SharedAzuriteOrDie() {
  absl::StatusOr<Azurite*> a = SharedAzurite();
  if (!a.ok()) {
    std::fprintf(stderr, "cannot start Azurite: %s\n", a.status().ToString().c_str());
    std::abort();
  }
  return *a;
}

std::string FreshHubName(const std::string& prefix) {
  static std::atomic<int> n{0};
  return absl::StrCat(prefix, getpid(), "x", ++n);
}

}  // namespace taskhub::azure::testing
