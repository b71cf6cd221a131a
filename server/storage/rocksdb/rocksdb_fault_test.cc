// Storage faults under the real RocksDB backend, through a fault-injecting FileSystem:
// - a crash model that drops every byte not yet synced (a `kill -9` keeps the page
//   cache, so only this catches a WAL that is not synced before acknowledging);
// - I/O errors on the WAL (append or sync), which must turn into UNAVAILABLE for that
//   commit and every later one, through the backend and through the engine.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "server/common/clock.h"
#include "server/common/ids.h"
#include "server/engine/engine.h"
#include "server/storage/rocksdb/rocksdb_backend.h"
#include "tests/engine/wire_requests.h"

namespace taskhub::storage {
namespace wire = engine::testing::wire;
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& tag) {
  static int n = 0;
  auto dir = fs::temp_directory_path() /
             ("taskhub_fault_" + tag + "_" + std::to_string(getpid()) + "_" + std::to_string(++n));
  fs::remove_all(dir);
  return dir.string();
}

bool IsWal(const std::string& name) { return name.size() > 4 && name.ends_with(".log"); }

// A FileSystem that remembers, for every file written through it, how many bytes a
// Sync/Fsync made durable, and can fail WAL appends or syncs on demand.
// CrashCopy() copies the store as a power cut would leave it: each file written through
// us truncated to its last synced size (files never synced are empty). Directory
// entries are assumed durable. Thread-safe.
class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFs(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(base) {}
  const char* Name() const override { return "TaskhubFaultFs"; }

  enum class Fail { kNone, kWalAppend, kWalSync, kSstNoSpace };
  void FailWal(Fail f) {
    absl::MutexLock l(&mu_);
    fail_ = f;
  }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    auto s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) {
      {
        absl::MutexLock l(&mu_);
        synced_[f] = 0;
      }
      *r = std::make_unique<File>(this, f, std::move(*r), 0);
    }
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    auto s = target()->ReopenWritableFile(f, o, r, dbg);
    if (s.ok()) {
      std::error_code ec;
      const uint64_t size = fs::file_size(f, ec);
      {
        absl::MutexLock l(&mu_);
        if (!synced_.contains(f)) synced_[f] = ec ? 0 : size;  // existing bytes are durable
      }
      *r = std::make_unique<File>(this, f, std::move(*r), ec ? 0 : size);
    }
    return s;
  }
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    auto s = target()->RenameFile(src, dst, o, dbg);
    absl::MutexLock l(&mu_);
    if (s.ok() && synced_.contains(src)) {
      synced_[dst] = synced_[src];
      synced_.erase(src);
    }
    return s;
  }
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    auto s = target()->DeleteFile(f, o, dbg);
    absl::MutexLock l(&mu_);
    if (s.ok()) synced_.erase(f);
    return s;
  }

  // Copies `dir` to `to` as a crash at this instant would leave it.
  void CrashCopy(const std::string& dir, const std::string& to) {
    absl::MutexLock l(&mu_);
    fs::create_directories(to);
    for (const auto& e : fs::directory_iterator(dir)) {
      const fs::path dst = fs::path(to) / e.path().filename();
      fs::copy_file(e.path(), dst);
      auto it = synced_.find(e.path().string());
      if (it != synced_.end() && it->second < fs::file_size(dst)) {
        fs::resize_file(dst, it->second);
      }
    }
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(FaultFs* fs, std::string name, std::unique_ptr<rocksdb::FSWritableFile> f,
         uint64_t size)
        : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), name_(std::move(name)),
          size_(size), wal_(IsWal(name_)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      if (wal_ && fs_->failing(Fail::kWalAppend)) {
        return rocksdb::IOStatus::IOError("injected WAL append failure");
      }
      if (name_.ends_with(".sst") && fs_->failing(Fail::kSstNoSpace)) {
        return rocksdb::IOStatus::NoSpace("injected: no space left for a table file");
      }
      auto s = target()->Append(d, o, dbg);
      if (s.ok()) size_ += d.size();
      return s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo&,
                             rocksdb::IODebugContext* dbg) override {
      return Append(d, o, dbg);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t offset,
                                       const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* dbg) override {
      auto s = target()->PositionedAppend(d, offset, o, dbg);
      if (s.ok()) size_ = std::max<uint64_t>(size_, offset + d.size());
      return s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t offset,
                                       const rocksdb::IOOptions& o,
                                       const rocksdb::DataVerificationInfo&,
                                       rocksdb::IODebugContext* dbg) override {
      return PositionedAppend(d, offset, o, dbg);
    }
    rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
      auto s = target()->Truncate(size, o, dbg);
      if (s.ok()) size_ = size;
      return s;
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      return Synced(target()->Sync(o, dbg));
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      return Synced(target()->Fsync(o, dbg));
    }
    rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      return target()->Close(o, dbg);  // closing does not make anything durable
    }

   private:
    rocksdb::IOStatus Synced(rocksdb::IOStatus s) {
      if (wal_ && fs_->failing(Fail::kWalSync)) {
        return rocksdb::IOStatus::IOError("injected WAL sync failure");
      }
      if (s.ok()) fs_->MarkSynced(name_, size_);
      return s;
    }
    FaultFs* fs_;
    const std::string name_;
    uint64_t size_;
    const bool wal_;
  };

  bool failing(Fail f) {
    absl::MutexLock l(&mu_);
    return fail_ == f;
  }
  void MarkSynced(const std::string& name, uint64_t size) {
    absl::MutexLock l(&mu_);
    auto it = synced_.find(name);
    if (it != synced_.end()) it->second = std::max(it->second, size);
  }

  absl::Mutex mu_;
  std::map<std::string, uint64_t> synced_ ABSL_GUARDED_BY(mu_);
  Fail fail_ ABSL_GUARDED_BY(mu_) = Fail::kNone;
};

class RocksDbFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("db");
    fault_ = std::make_shared<FaultFs>(rocksdb::FileSystem::Default());
    env_ = rocksdb::NewCompositeEnv(fault_);
  }
  void TearDown() override {
    engine_.reset();
    backend_.reset();
    for (const auto& d : dirs_) fs::remove_all(d);
    fs::remove_all(dir_);
  }
  // The options under test are the defaults taskhubd uses, plus the fault Env.
  void Open(RocksDbOptions opts = {}) {
    opts.path = dir_;
    opts.env = env_.get();
    auto b = OpenRocksDbBackend(opts);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }
  void OpenEngine() {
    engine::EngineOptions opts;
    opts.on_store_failure = [this](const absl::Status& st) {
      absl::MutexLock l(&mu_);
      ++failures_;
      failure_ = st;
    };
    auto e = engine::Engine::Create(backend_.get(), Clock::Real(), IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  // Crashes (a copy of) the store and opens the copy with the plain default Env.
  std::unique_ptr<Backend> CrashAndReopen() {
    const std::string copy = TempDir("crashed");
    dirs_.push_back(copy);
    fault_->CrashCopy(dir_, copy);
    auto b = OpenRocksDbBackend({.path = copy});
    EXPECT_TRUE(b.ok()) << b.status();
    return b.ok() ? std::move(*b) : nullptr;
  }
  static WriteSet PutOne(const std::string& id, uint64_t seq) {
    store::InstanceRecord rec;
    rec.set_instance_id(id);
    rec.set_name("Foo");
    WriteSet ws;
    ws.ops.push_back(PutInstance{rec, std::nullopt});
    ws.max_seq = seq;
    return ws;
  }
  absl::StatusOr<std::string> Start(const std::string& id) {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name("Foo");
    absl::Notification done;
    absl::StatusOr<std::string> out;
    wire::StartInstance(*engine_, req, [&](absl::StatusOr<std::string> r) {
      out = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return out;
  }

  std::string dir_;
  std::vector<std::string> dirs_;
  std::shared_ptr<FaultFs> fault_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<engine::Engine> engine_;
  absl::Mutex mu_;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

// The crash model itself: with the WAL not synced, a crash loses what was written.
// (If this passes while the next test fails, the backend stopped syncing.)
TEST_F(RocksDbFaultTest, CrashModelDropsWritesThatWereNotSynced) {
  RocksDbOptions unsynced;
  unsynced.sync = false;
  Open(unsynced);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(backend_->Commit(PutOne(absl::StrCat("i", i), i + 1)).ok());
  }
  auto crashed = CrashAndReopen();
  ASSERT_NE(crashed, nullptr);
  auto rec = crashed->GetInstance("i19");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_FALSE(rec->has_value()) << "an unsynced write survived the simulated power cut";
}

// Every commit the backend acknowledged survives a power cut right after it.
TEST_F(RocksDbFaultTest, EveryAcknowledgedCommitSurvivesACrash) {
  Open();  // taskhubd's defaults
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(backend_->Commit(PutOne(absl::StrCat("i", i), i + 1)).ok());
  }
  auto crashed = CrashAndReopen();
  ASSERT_NE(crashed, nullptr);
  for (int i = 0; i < 20; ++i) {
    auto rec = crashed->GetInstance(absl::StrCat("i", i));
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_TRUE(rec->has_value()) << "acknowledged instance i" << i << " lost in the crash";
  }
}

// The same through the engine (group commit): an acknowledged StartInstance survives.
TEST_F(RocksDbFaultTest, EveryAcknowledgedStartSurvivesACrashThroughTheEngine) {
  Open();
  OpenEngine();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Start(absl::StrCat("e", i)).ok());
  auto crashed = CrashAndReopen();  // the engine is still running: a real crash
  ASSERT_NE(crashed, nullptr);
  for (int i = 0; i < 20; ++i) {
    auto rec = crashed->GetInstance(absl::StrCat("e", i));
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_TRUE(rec->has_value()) << "acknowledged instance e" << i << " lost in the crash";
  }
}

class WalFailureTest : public RocksDbFaultTest,
                       public ::testing::WithParamInterface<FaultFs::Fail> {};

// A real RocksDB write failure: that commit and every later one fail with UNAVAILABLE
// (nothing is acknowledged that is not durable); what was acknowledged before stays.
TEST_P(WalFailureTest, BackendRefusesEveryWriteAfterAFailedWalWrite) {
  Open();
  ASSERT_TRUE(backend_->Commit(PutOne("before", 1)).ok());
  fault_->FailWal(GetParam());
  absl::Status st = backend_->Commit(PutOne("during", 2));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  fault_->FailWal(FaultFs::Fail::kNone);  // the disk recovers; the store stays refused
  st = backend_->Commit(PutOne("after", 3));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  auto rec = backend_->GetInstance("before");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->has_value());
  backend_.reset();
  auto reopened = OpenRocksDbBackend({.path = dir_});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  rec = (*reopened)->GetInstance("before");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->has_value());
  rec = (*reopened)->GetInstance("after");
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_FALSE(rec->has_value()) << "a write refused with UNAVAILABLE was stored";
}

// Through the engine: UNAVAILABLE for the failed start and every later one, and the
// store-failure hook (which drives the health service to NOT_SERVING) runs once.
TEST_P(WalFailureTest, EngineRefusesWritesAndReportsTheFailure) {
  Open();
  OpenEngine();
  ASSERT_TRUE(Start("before").ok());
  fault_->FailWal(GetParam());
  EXPECT_EQ(Start("during").status().code(), absl::StatusCode::kUnavailable);
  fault_->FailWal(FaultFs::Fail::kNone);
  EXPECT_EQ(Start("after").status().code(), absl::StatusCode::kUnavailable);
  absl::MutexLock l(&mu_);
  EXPECT_EQ(failures_, 1);
  EXPECT_EQ(failure_.code(), absl::StatusCode::kUnavailable) << failure_;
}

// A background flush that runs out of space (a table file cannot be written): the
// daemon must not abort (the Debian librocksdb keeps its assertions); the failure
// reaches the next commits as UNAVAILABLE, and what was acknowledged stays readable.
TEST_F(RocksDbFaultTest, FlushOutOfSpaceIsUnavailableNotACrash) {
  RocksDbOptions small;
  small.write_buffer_bytes = 64 << 10;  // flush every 64 KiB
  Open(small);
  fault_->FailWal(FaultFs::Fail::kSstNoSpace);
  absl::Status st;
  int acked = 0;
  const std::string big(4096, 'x');
  for (; acked < 2000; ++acked) {
    WriteSet ws = PutOne(absl::StrCat("f", acked), acked + 1);
    std::get<PutInstance>(ws.ops[0]).record.set_name(big);
    st = backend_->Commit(ws);
    if (!st.ok()) break;
  }
  ASSERT_FALSE(st.ok()) << "2000 commits of 4 KiB with every flush failing all succeeded";
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  fault_->FailWal(FaultFs::Fail::kNone);
  st = backend_->Commit(PutOne("after", 100000));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  for (int i = 0; i < acked; ++i) {
    auto rec = backend_->GetInstance(absl::StrCat("f", i));
    ASSERT_TRUE(rec.ok()) << rec.status();
    ASSERT_TRUE(rec->has_value()) << "acknowledged f" << i << " unreadable";
  }
  backend_.reset();  // a clean close after the failure, no assertion
  auto reopened = OpenRocksDbBackend({.path = dir_});
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (int i = 0; i < acked; ++i) {
    auto rec = (*reopened)->GetInstance(absl::StrCat("f", i));
    ASSERT_TRUE(rec.ok()) << rec.status();
    ASSERT_TRUE(rec->has_value()) << "acknowledged f" << i << " lost after a restart";
  }
}

INSTANTIATE_TEST_SUITE_P(AppendAndSync, WalFailureTest,
                         ::testing::Values(FaultFs::Fail::kWalAppend, FaultFs::Fail::kWalSync),
                         [](const auto& info) {
                           return info.param == FaultFs::Fail::kWalAppend ? "Append" : "Sync";
                         });

}  // namespace
}  // namespace taskhub::storage
