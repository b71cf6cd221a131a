#include "bench/server_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace taskhub::bench {

absl::StatusOr<ServerProcess> ServerProcess::Start(
    const std::string& binary, const std::vector<std::string>& extra_args,
    const std::vector<std::pair<std::string, std::string>>& env, bool storage_stats) {
  ServerProcess p;
  char tmpl[] = "/tmp/taskhub-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError("mkdtemp failed");
  p.dir_ = tmpl;
  const std::string port_file = p.dir_ + "/port";
  std::vector<std::string> args = {binary, "--listen", "127.0.0.1:0", "--data-dir",
                                   p.dir_ + "/data", "--port-file", port_file,
                                   "--log-level", "warn"};
  if (storage_stats) {
    p.stats_file_ = p.dir_ + "/storage-stats.json";
    args.insert(args.end(), {"--storage-stats-file", p.stats_file_});
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  p.args_ = std::move(args);
  p.env_ = env;
  if (absl::Status st = p.Spawn(); !st.ok()) return st;
  return p;
}

absl::Status ServerProcess::Spawn() {
  const std::string port_file = dir_ + "/port";
  std::error_code ec;
  std::filesystem::remove(port_file, ec);
  port_ = 0;
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    for (const auto& [name, value] : env_) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    for (auto& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 4000; ++i) {
    std::ifstream in(port_file);
    if (in >> port_ && port_ > 0) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return absl::UnavailableError(absl::StrCat("taskhubd (", args_[0], ") exited at start"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::DeadlineExceededError("taskhubd did not start serving within 20 s");
}

absl::StatusOr<absl::Duration> ServerProcess::Restart() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }
  const absl::Time t0 = absl::Now();
  if (absl::Status st = Spawn(); !st.ok()) return st;
  return absl::Now() - t0;
}

ServerProcess::ServerProcess(ServerProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, 0)),
      port_(o.port_),
      dir_(std::exchange(o.dir_, "")),
      stats_file_(std::move(o.stats_file_)),
      args_(std::move(o.args_)),
      env_(std::move(o.env_)) {}

ServerProcess::~ServerProcess() {
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

absl::Duration ServerProcess::CpuTime() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string line;
  std::getline(in, line);
  // Fields after the command (which is in parentheses): utime is field 14, stime 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return absl::Seconds(static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK));
}

int64_t ServerProcess::RssBytes() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
    std::string skip;
    std::getline(in, skip);
  }
  return 0;
}

absl::StatusOr<std::map<std::string, double>> ServerProcess::StorageStats() const {
  if (stats_file_.empty()) return absl::FailedPreconditionError("no --storage-stats-file");
  // Wait for the next rewrite (every second) so that the counts are current.
  std::error_code ec;
  const auto before = std::filesystem::last_write_time(stats_file_, ec);
  for (int i = 0; i < 100 && !ec && std::filesystem::last_write_time(stats_file_, ec) == before;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::ifstream in(stats_file_);
  const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return absl::DataLossError(absl::StrCat("cannot parse --storage-stats-file ", stats_file_));
  }
  std::map<std::string, double> out;
  for (const auto& [kind, n] : json.items()) {
    if (n.is_number()) out[kind] = n.get<double>();
  }
  return out;
}

}  // namespace taskhub::bench
