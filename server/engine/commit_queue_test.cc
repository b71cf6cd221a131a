// CommitQueue in manual mode (RunOnce: one group commit per call, on the caller's
// thread), its sticky failure, and Abandon (crash simulation). Over the in-memory
// backend wrapped by the fault-injecting backend.
#include "server/engine/commit_queue.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/testing/fault_backend.h"

namespace taskhub::engine {
namespace {

storage::WriteSet PutOne(const std::string& id) {
  store::InstanceRecord rec;
  rec.set_instance_id(id);
  rec.set_name("orch");
  rec.set_execution_id("e");
  rec.set_status(ORCHESTRATION_STATUS_RUNNING);
  storage::WriteSet ws;
  ws.ops.push_back(storage::PutInstance{rec, std::nullopt});
  return ws;
}

class CommitQueueManualTest : public ::testing::Test {
 protected:
  bool Stored(const std::string& id) {
    auto r = memory_.GetInstance(id);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->has_value();
  }
  // A callback recording "<name>:<code>".
  CommitQueue::After Record(const std::string& name) {
    return [this, name](absl::Status st) {
      log_.push_back(name + ":" + std::string(absl::StatusCodeToString(st.code())));
    };
  }

  storage::MemoryBackend memory_;
  storage::FaultInjectingBackend backend_{&memory_};
  std::vector<std::string> log_;
  std::vector<absl::Status> failures_;
  CommitQueue q_{&backend_, [this](const absl::Status& st) { failures_.push_back(st); },
                 /*manual=*/true};
};

TEST_F(CommitQueueManualTest, NothingHappensUntilRunOnceThenOneGroupCommit) {
  EXPECT_FALSE(q_.RunOnce());  // nothing queued
  q_.Submit(PutOne("a"), Record("a"));
  q_.Submit(storage::WriteSet{}, Record("barrier"));
  q_.Submit(PutOne("b"), Record("b"));
  EXPECT_TRUE(log_.empty());
  EXPECT_EQ(backend_.commits(), 0u);
  EXPECT_FALSE(Stored("a"));

  EXPECT_TRUE(q_.RunOnce());
  EXPECT_EQ(backend_.commits(), 1u);  // one durable write for the whole group
  EXPECT_EQ(q_.commits(), 1u);
  EXPECT_EQ(q_.submissions(), 3u);
  EXPECT_TRUE(Stored("a"));
  EXPECT_TRUE(Stored("b"));
  EXPECT_EQ(log_, std::vector<std::string>({"a:OK", "barrier:OK", "b:OK"}));
  EXPECT_FALSE(q_.RunOnce());
}

// A read barrier waits for every write submitted before it, except purge writes
// (read_barrier = false): a read during a long purge commit runs at once.
TEST_F(CommitQueueManualTest, ReadBarrierWaitsForWritesButNotForPurges) {
  q_.ReadBarrier(Record("idle"));  // nothing queued: at once
  EXPECT_EQ(log_, std::vector<std::string>({"idle:OK"}));

  q_.Submit(PutOne("p"), Record("purge"), /*read_barrier=*/false);
  q_.ReadBarrier(Record("read1"));
  EXPECT_EQ(log_, std::vector<std::string>({"idle:OK", "read1:OK"}));  // not behind the purge

  q_.Submit(PutOne("w"), Record("write"));
  q_.ReadBarrier(Record("read2"));
  EXPECT_EQ(log_.size(), 2u);  // behind the write
  EXPECT_TRUE(q_.RunOnce());
  EXPECT_EQ(log_, std::vector<std::string>(
                      {"idle:OK", "read1:OK", "purge:OK", "write:OK", "read2:OK"}));
  q_.ReadBarrier(Record("read3"));  // everything durable again: at once
  EXPECT_EQ(log_.back(), "read3:OK");
  EXPECT_FALSE(q_.RunOnce());
}

TEST_F(CommitQueueManualTest, SubmissionsFromCallbacksWaitForTheNextCall) {
  q_.Submit(PutOne("a"), [this](absl::Status st) {
    Record("a")(st);
    q_.Submit(PutOne("b"), Record("b"));
  });
  EXPECT_TRUE(q_.RunOnce());
  EXPECT_EQ(log_, std::vector<std::string>({"a:OK"}));
  EXPECT_FALSE(Stored("b"));
  EXPECT_TRUE(q_.RunOnce());
  EXPECT_EQ(log_, std::vector<std::string>({"a:OK", "b:OK"}));
  EXPECT_TRUE(Stored("b"));
  EXPECT_EQ(backend_.commits(), 2u);
}

TEST_F(CommitQueueManualTest, FailedCommitIsSticky) {
  backend_.FailNextCommits(1);
  q_.Submit(PutOne("a"), Record("a"));
  q_.Submit(PutOne("b"), Record("b"));
  EXPECT_TRUE(q_.RunOnce());
  EXPECT_EQ(log_, std::vector<std::string>({"a:UNAVAILABLE", "b:UNAVAILABLE"}));
  ASSERT_EQ(failures_.size(), 1u);
  EXPECT_EQ(failures_[0].code(), absl::StatusCode::kUnavailable);

  // The backend works again, but the queue refuses every later write without
  // touching it (the in-memory state may be ahead of a store that lost a write).
  q_.Submit(PutOne("c"), Record("c"));
  EXPECT_TRUE(q_.RunOnce());
  EXPECT_EQ(log_.back(), "c:UNAVAILABLE");
  EXPECT_EQ(backend_.commits(), 1u);
  EXPECT_FALSE(Stored("a"));
  EXPECT_FALSE(Stored("c"));
  EXPECT_EQ(failures_.size(), 1u);  // on_failure runs once
}

TEST_F(CommitQueueManualTest, AbandonDropsQueuedWritesWithUnavailable) {
  q_.Submit(PutOne("a"), Record("a"));
  EXPECT_TRUE(q_.RunOnce());
  q_.Submit(PutOne("b"), Record("b"));
  q_.Submit(storage::WriteSet{}, Record("barrier"));
  q_.Abandon();
  EXPECT_EQ(log_, std::vector<std::string>({"a:OK", "b:UNAVAILABLE", "barrier:UNAVAILABLE"}));
  EXPECT_TRUE(Stored("a"));
  EXPECT_FALSE(Stored("b"));
  EXPECT_EQ(backend_.commits(), 1u);
  // Later submissions fail at once and never reach the backend, Stop() included.
  q_.Submit(PutOne("c"), Record("c"));
  EXPECT_EQ(log_.back(), "c:UNAVAILABLE");
  EXPECT_FALSE(q_.RunOnce());
  q_.Stop();
  EXPECT_FALSE(Stored("c"));
  EXPECT_EQ(backend_.commits(), 1u);
  EXPECT_TRUE(failures_.empty());
}

TEST_F(CommitQueueManualTest, StopCommitsWhatIsQueued) {
  q_.Submit(PutOne("a"), [this](absl::Status st) {
    Record("a")(st);
    q_.Submit(PutOne("late"), Record("late"));  // after Stop began: refused
  });
  q_.Stop();
  EXPECT_EQ(log_, std::vector<std::string>({"a:OK", "late:UNAVAILABLE"}));
  EXPECT_TRUE(Stored("a"));
  EXPECT_FALSE(Stored("late"));
}

TEST(CommitQueueThreaded, RunOnceIsManualOnly) {
  storage::MemoryBackend memory;
  CommitQueue q(&memory);
  EXPECT_FALSE(q.RunOnce());
  absl::Status got = absl::UnknownError("not run");
  absl::Mutex mu;
  bool done = false;
  q.Submit(PutOne("a"), [&](absl::Status st) {
    absl::MutexLock l(&mu);
    got = st;
    done = true;
  });
  {
    absl::MutexLock l(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(30)));
  }
  EXPECT_TRUE(got.ok()) << got;
}

TEST(CommitQueueThreaded, AbandonStopsTheThreadAndRefusesLaterWrites) {
  storage::MemoryBackend memory;
  storage::FaultInjectingBackend backend(&memory);
  CommitQueue q(&backend);
  q.Abandon();  // joins the committer
  absl::Status got = absl::UnknownError("not run");
  q.Submit(PutOne("a"), [&](absl::Status st) { got = st; });  // runs inline
  EXPECT_EQ(got.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(backend.commits(), 0u);
}

}  // namespace
}  // namespace taskhub::engine
