#include "bench/azurite_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace taskhub::bench {

absl::StatusOr<AzuriteProcess> AzuriteProcess::Start(const std::string& binary) {
  if (access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("azurite not found at ", binary,
                                            " (tools/azurite.sh install, or pass --azurite)"));
  }
  AzuriteProcess p;
  char tmpl[] = "/tmp/taskhub-bench-azurite-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  p.dir_ = tmpl;
  const std::string log = p.dir_ + "/azurite.log";
  std::vector<std::string> args = {binary, "--silent", "--disableTelemetry", "--location",
                                   p.dir_ + "/location"};
  for (const char* s : {"blob", "queue", "table"}) {
    args.insert(args.end(), {absl::StrCat("--", s, "Host"), "127.0.0.1",
                             absl::StrCat("--", s, "Port"), "0"});
  }
  p.pid_ = fork();
  if (p.pid_ < 0) return absl::InternalError("fork failed");
  if (p.pid_ == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  // Azurite prints "Azurite Blob service is successfully listening at http://127.0.0.1:N".
  const std::regex listening("Azurite (Blob|Queue|Table) service is successfully listening at "
                             "http://[^:]+:(\\d+)");
  for (int i = 0; i < 1200; ++i) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (std::sregex_iterator m(s.begin(), s.end(), listening), end; m != end; ++m) {
      const int port = std::stoi((*m)[2]);
      const std::string service = (*m)[1];
      (service == "Blob" ? p.blob_port_ : service == "Queue" ? p.queue_port_ : p.table_port_) =
          port;
    }
    if (p.blob_port_ && p.queue_port_ && p.table_port_) return p;
    int status = 0;
    if (waitpid(p.pid_, &status, WNOHANG) == p.pid_) {
      p.pid_ = 0;
      return absl::UnavailableError(absl::StrCat("azurite exited at start:\n", s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("azurite did not listen within 60 s");
}

AzuriteProcess::AzuriteProcess(AzuriteProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, 0)),
      blob_port_(o.blob_port_),
      queue_port_(o.queue_port_),
      table_port_(o.table_port_),
      dir_(std::exchange(o.dir_, "")) {}

AzuriteProcess::~AzuriteProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string AzuriteProcess::connection_string() const {
  // Azurite's well-known development account (public, documented by Microsoft).
  constexpr const char* kAccount = "devstoreaccount1";
  constexpr const char* kKey =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
  auto endpoint = [&](const char* service, int port) {
    return absl::StrCat(service, "Endpoint=http://127.0.0.1:", port, "/", kAccount, ";");
  };
  return absl::StrCat("DefaultEndpointsProtocol=http;AccountName=", kAccount, ";AccountKey=", kKey,
                      ";", endpoint("Blob", blob_port_), endpoint("Queue", queue_port_),
                      endpoint("Table", table_port_));
}

}  // namespace taskhub::bench
