#include "server/daemon/stats_file.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace taskhub::daemon {

absl::StatusOr<std::unique_ptr<StatsFile>> StatsFile::Start(std::string path,
                                                            std::function<std::string()> snapshot,
                                                            absl::Duration period) {
  std::unique_ptr<StatsFile> f(new StatsFile(std::move(path), std::move(snapshot), period));
  if (absl::Status st = f->WriteOnce(); !st.ok()) return st;
  f->thread_ = std::thread([p = f.get()] { p->Run(); });
  return f;
}

StatsFile::StatsFile(std::string path, std::function<std::string()> snapshot, absl::Duration period)
    : path_(std::move(path)), snapshot_(std::move(snapshot)), period_(period) {}

StatsFile::~StatsFile() { Stop(); }

void StatsFile::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (absl::Status st = WriteOnce(); !st.ok()) {
    Logger("daemon")->warn("{}", std::string(st.message()));
  }
}

absl::Status StatsFile::WriteOnce() {
  const std::string tmp = path_ + ".tmp";
  bool written = false;
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << snapshot_() << "\n";
    out.flush();
    written = out.good();
  }
  if (!written || std::rename(tmp.c_str(), path_.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write --storage-stats-file ", path_,
                     "; check that its directory exists and is writable"));
  }
  return absl::OkStatus();
}

void StatsFile::Run() {
  absl::MutexLock l(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), period_)) {
    mu_.Unlock();
    absl::Status st = WriteOnce();
    if (!st.ok() && !error_logged_) {
      Logger("daemon")->warn("{} (retrying every {})", std::string(st.message()),
                             absl::FormatDuration(period_));
      error_logged_ = true;
    }
    mu_.Lock();
  }
}

}  // namespace taskhub::daemon
