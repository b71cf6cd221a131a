// Time in the engine comes from the injected clock only: durable timers, scheduled
// starts, leases, abandon back-off, health pings and the server-side wait cap, on a
// FakeClock. Most tests run the engine in manual scheduling mode (no engine thread:
// the test drives commits, reads and timers), so "not before its time" is exact; one
// runs the threaded engine and advances the fake clock. Also the manual-mode hooks
// themselves (RunCommit/RunRead/RunDueTimers/NextTimer, token_seed, CrashForTesting).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/core/history.h"
#include "server/engine/engine.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/testing/fault_backend.h"
#include "tests/engine/engine_test_support.h"

namespace taskhub::engine {
namespace {

namespace wire = testing::wire;
using testing::CompleteAction;
using testing::Drain;
using testing::DriveOr;
using testing::DriveEpisode;
using testing::DriveStatus;
using testing::RecordingSink;
using testing::ScheduleTask;

constexpr absl::Duration kTick = absl::Milliseconds(1);

OrchestratorAction TimerAction(int id, absl::Time fire_at) {
  OrchestratorAction a;
  a.set_id(id);
  *a.mutable_createtimer()->mutable_fireat() = core::ToProto(fire_at);
  return a;
}

class ManualEngineTest : public ::testing::Test {
 protected:
  void TearDown() override { Close(); }
  // Health pings are off unless a test sets an interval other than the default (a
  // long interval instead), so that they do not show in NextTimer().
  void Open(EngineOptions opts = {}) {
    opts.manual_scheduling = true;
    if (opts.health_ping_interval == EngineOptions().health_ping_interval) {
      opts.health_ping_interval = absl::Hours(24 * 365);
    }
    auto e = Engine::Create(&backend_, &clock_, IdGenerator::Random(), opts);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(*e);
  }
  void Close() {
    if (!engine_) return;
    if (stream_ != 0) engine_->RemoveStream(stream_);
    stream_ = 0;
    engine_->Stop();
    engine_.reset();
  }
  void Connect(int max_activities = 0) {
    GetWorkItemsRequest req;
    req.set_maxconcurrentactivityworkitems(max_activities);
    stream_ = wire::AddStream(*engine_, &sink_, req);
  }
  absl::StatusOr<std::string> Start(const std::string& id,
                                    std::optional<absl::Time> start_at = std::nullopt) {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name("orch");
    if (start_at) *req.mutable_scheduledstarttimestamp() = core::ToProto(*start_at);
    return DriveOr<std::string>(*engine_,
                                [&](auto d) { wire::StartInstance(*engine_, req, std::move(d)); });
  }
  absl::Status Complete(const WorkItem& wi, std::vector<OrchestratorAction> actions) {
    return DriveEpisode(*engine_, wi, std::move(actions));
  }
  // The next work item already sent (manual mode sends from the driving calls).
  std::optional<WorkItem> Next() { return sink_.Next(absl::ZeroDuration()); }
  // Advances the clock and runs what became due.
  void Advance(absl::Duration d) {
    clock_.Advance(d);
    Drain(*engine_);
  }
  OrchestrationState Get(const std::string& id) {
    auto r = DriveOr<GetInstanceResponse>(
        *engine_, [&](auto d) { engine_->GetInstance(id, true, std::move(d)); });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->orchestrationstate() : OrchestrationState();
  }

  FakeClock clock_;
  storage::MemoryBackend memory_;
  storage::FaultInjectingBackend backend_{&memory_};
  RecordingSink sink_;  // outlives the engine
  uint64_t stream_ = 0;
  std::unique_ptr<Engine> engine_;
};

// The hooks: nothing happens until the test drives it; one RunCommit is one group
// commit; a read waits for the writes queued before it.
TEST_F(ManualEngineTest, NothingRunsUntilDriven) {
  Open();
  std::vector<std::string> started;
  for (const char* id : {"m1", "m2"}) {
    CreateInstanceRequest req;
    req.set_instanceid(id);
    req.set_name("orch");
    wire::StartInstance(*engine_, req, [&](absl::StatusOr<std::string> r) {
      ASSERT_TRUE(r.ok()) << r.status();
      started.push_back(*r);
    });
  }
  std::optional<bool> exists;
  engine_->GetInstance("m2", false, [&](auto r) { exists = r.ok() && r->exists(); });
  EXPECT_TRUE(started.empty());
  EXPECT_EQ(backend_.commits(), 0u);
  EXPECT_FALSE(engine_->RunRead());  // the read waits for the writes queued before it

  EXPECT_TRUE(engine_->RunCommit());
  EXPECT_EQ(backend_.commits(), 1u);  // both starts in one group commit
  EXPECT_EQ(started, std::vector<std::string>({"m1", "m2"}));
  EXPECT_FALSE(exists.has_value());
  EXPECT_TRUE(engine_->RunRead());
  EXPECT_EQ(exists, std::optional<bool>(true));
  EXPECT_FALSE(engine_->RunCommit());
  EXPECT_FALSE(engine_->RunRead());
  EXPECT_EQ(engine_->RunDueTimers(), 0u);
}

// Broken on purpose: Engine::RegisterTimer scheduled at fire time - 1 s -> the timer
// fired before its time.
TEST_F(ManualEngineTest, DurableTimerFiresAtItsTimeAndOnce) {
  Open();
  Connect();
  ASSERT_TRUE(Start("t").ok());
  auto wi = Next();
  ASSERT_TRUE(wi);
  const absl::Time fire_at = clock_.Now() + absl::Hours(1);
  ASSERT_TRUE(Complete(*wi, {TimerAction(1, fire_at)}).ok());
  EXPECT_EQ(engine_->NextTimer(), fire_at);
  Advance(absl::Hours(1) - kTick);
  EXPECT_FALSE(Next()) << "fired before its time";
  Advance(kTick);
  auto fired = Next();
  ASSERT_TRUE(fired) << "not fired at its time";
  const auto& ev = fired->orchestratorrequest().newevents();
  ASSERT_EQ(ev.size(), 2);
  EXPECT_EQ(ev[1].timerfired().timerid(), 1);
  EXPECT_EQ(core::FromProto(ev[1].timestamp()), fire_at);
  ASSERT_TRUE(Complete(*fired, {CompleteAction(2)}).ok());
  Advance(absl::Hours(2));
  EXPECT_FALSE(Next()) << "fired twice";
  EXPECT_EQ(Get("t").orchestrationstatus(), ORCHESTRATION_STATUS_COMPLETED);
}

// Broken on purpose: the `not_before > now` check in Engine::Pump removed -> the
// instance was dispatched at once.
TEST_F(ManualEngineTest, ScheduledStartWaitsForItsTime) {
  Open();
  Connect();
  ASSERT_TRUE(Start("later", clock_.Now() + absl::Minutes(10)).ok());
  EXPECT_FALSE(Next());
  EXPECT_EQ(Get("later").orchestrationstatus(), ORCHESTRATION_STATUS_PENDING);
  Advance(absl::Minutes(10) - kTick);
  EXPECT_FALSE(Next()) << "started before its scheduled time";
  Advance(kTick);
  auto wi = Next();
  ASSERT_TRUE(wi) << "not started at its scheduled time";
  EXPECT_EQ(wi->orchestratorrequest().instanceid(), "later");
}

// Broken on purpose: the cap timer scheduled at now + max_wait / 2 -> the wait ended
// early.
TEST_F(ManualEngineTest, WaitIsCappedByTheServer) {
  EngineOptions opts;
  opts.max_wait = absl::Minutes(1);
  Open(opts);
  ASSERT_TRUE(Start("w").ok());
  std::optional<absl::StatusOr<GetInstanceResponse>> got;
  engine_->WaitForInstance("w", true, false, [&](auto r) { got = std::move(r); });
  Advance(absl::Minutes(1) - kTick);
  EXPECT_FALSE(got.has_value()) << "the wait ended before the cap";
  Advance(kTick);
  ASSERT_TRUE(got.has_value()) << "the wait was not capped";
  EXPECT_EQ(got->status().code(), absl::StatusCode::kDeadlineExceeded);
}

// A caller's shorter wait (the HTTP API's ?timeout) ends on the engine's clock; a longer
// one is still capped by the server. Broken on purpose: Waiters::Add ignoring `wait` ->
// the first wait ran to the 1 min cap.
TEST_F(ManualEngineTest, AShorterWaitEndsOnTheEngineClock) {
  EngineOptions opts;
  opts.max_wait = absl::Minutes(1);
  Open(opts);
  ASSERT_TRUE(Start("w").ok());
  std::optional<absl::StatusOr<GetInstanceResponse>> shorter, longer;
  engine_->WaitForInstance(
      "w", true, false, [&](auto r) { shorter = std::move(r); }, absl::Seconds(10));
  engine_->WaitForInstance(
      "w", true, false, [&](auto r) { longer = std::move(r); }, absl::Hours(1));
  Advance(absl::Seconds(10) - kTick);
  EXPECT_FALSE(shorter.has_value()) << "the wait ended early";
  Advance(kTick);
  ASSERT_TRUE(shorter.has_value()) << "the caller's wait did not end";
  EXPECT_EQ(shorter->status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(longer.has_value());
  Advance(absl::Minutes(1) - absl::Seconds(10));
  ASSERT_TRUE(longer.has_value()) << "a longer wait was not capped by the server";
  EXPECT_EQ(longer->status().code(), absl::StatusCode::kDeadlineExceeded);
}

// Broken on purpose: AbandonDelay() not doubling -> the third redelivery came after
// 1 s instead of 4 s.
TEST_F(ManualEngineTest, AbandonBackOffDoublesUpToTheCap) {
  EngineOptions opts;
  opts.abandon_delay = absl::Seconds(1);
  opts.max_abandon_delay = absl::Seconds(4);
  Open(opts);
  Connect();
  ASSERT_TRUE(Start("ab").ok());
  auto wi = Next();
  ASSERT_TRUE(wi);
  for (absl::Duration expected : {absl::Seconds(1), absl::Seconds(2), absl::Seconds(4),
                                  absl::Seconds(4)}) {
    ASSERT_TRUE(DriveStatus(*engine_, [&](Done d) {
                  wire::AbandonOrchestration(*engine_, wi->completiontoken(), std::move(d));
                }).ok());
    Advance(expected - kTick);
    EXPECT_FALSE(Next()) << "redelivered before the back-off of " << expected;
    Advance(kTick);
    auto again = Next();
    ASSERT_TRUE(again) << "not redelivered after the back-off of " << expected;
    EXPECT_NE(again->completiontoken(), wi->completiontoken());
    wi = again;
  }
}

// Broken on purpose: the orchestration lease timer scheduled at InfiniteFuture -> no
// redelivery; the activity lease's `> 0` branch removed -> no redelivery.
TEST_F(ManualEngineTest, LeasesExpireOnTheClock) {
  EngineOptions opts;
  opts.orchestration_lease = absl::Minutes(5);
  opts.activity_lease = absl::Minutes(2);
  opts.abandon_delay = absl::ZeroDuration();  // redeliver as soon as a lease expires
  Open(opts);
  Connect();
  ASSERT_TRUE(Start("lease").ok());
  auto first = Next();
  ASSERT_TRUE(first);
  Advance(absl::Minutes(5) - kTick);
  EXPECT_FALSE(Next()) << "redelivered within the orchestration lease";
  Advance(kTick);
  auto second = Next();
  ASSERT_TRUE(second && second->has_orchestratorrequest()) << "the lease did not expire";
  ASSERT_TRUE(Complete(*second, {ScheduleTask(1)}).ok());
  auto act = Next();
  ASSERT_TRUE(act && act->has_activityrequest());
  Advance(absl::Minutes(2) - kTick);
  EXPECT_FALSE(Next()) << "redelivered within the activity lease";
  Advance(kTick);
  auto act2 = Next();
  ASSERT_TRUE(act2 && act2->has_activityrequest()) << "the activity lease did not expire";
  EXPECT_NE(act2->completiontoken(), act->completiontoken());
}

// Broken on purpose: SchedulePing() not re-arming itself -> one ping only.
TEST_F(ManualEngineTest, HealthPingsFollowTheClock) {
  EngineOptions opts;
  opts.health_ping_interval = absl::Seconds(45);
  Open(opts);
  Connect();
  EXPECT_EQ(sink_.pings(), 0);
  Advance(absl::Seconds(45) - kTick);
  EXPECT_EQ(sink_.pings(), 0);
  Advance(kTick);
  EXPECT_EQ(sink_.pings(), 1);
  Advance(absl::Seconds(45));
  EXPECT_EQ(sink_.pings(), 2);
  engine_->RemoveStream(stream_);
  stream_ = 0;
  Advance(absl::Minutes(5));
  EXPECT_EQ(sink_.pings(), 2);
}

// The same seed gives the same tokens in every process (a failing simulation seed
// replays): the first token of seed 42 is a constant. Broken on purpose: token_seed
// ignored (OS entropy) -> the two runs' tokens differ; the generator seeded as
// absl::BitGen(std::seed_seq) -> the same tokens within a process but not the
// constant (absl salts seed sequences per process).
TEST_F(ManualEngineTest, SameTokenSeedSameTokens) {
  auto tokens = [&](uint64_t seed) {
    storage::MemoryBackend memory;
    EngineOptions opts;
    opts.manual_scheduling = true;
    opts.token_seed = seed;
    auto e = Engine::Create(&memory, &clock_, IdGenerator::Random(), opts);
    EXPECT_TRUE(e.ok()) << e.status();
    RecordingSink sink;
    wire::AddStream(**e, &sink, GetWorkItemsRequest());
    std::vector<std::string> out;
    for (const char* id : {"s1", "s2", "s3"}) {
      CreateInstanceRequest req;
      req.set_instanceid(id);
      req.set_name("orch");
      EXPECT_TRUE(DriveOr<std::string>(**e, [&](auto d) {
                    wire::StartInstance(**e, req, std::move(d));
                  }).ok());
      auto wi = sink.Next(absl::ZeroDuration());
      out.push_back(wi ? wi->completiontoken() : "");
    }
    (*e)->Stop();
    return out;
  };
  const auto a = tokens(42), b = tokens(42), c = tokens(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a[0], a[1]);
  EXPECT_EQ(a[0], "oc151df7d6ee5e2d6a3978fb9b92502a8");
}

// Broken on purpose: CommitQueue::Abandon() committing what is queued instead of
// dropping it -> "lost" and the event were in the store after the crash.
TEST_F(ManualEngineTest, CrashDropsWhatIsNotCommitted) {
  Open();
  ASSERT_TRUE(Start("kept").ok());
  std::optional<absl::Status> start_st, raise_st;
  bool read_ran = false;
  CreateInstanceRequest req;
  req.set_instanceid("lost");
  req.set_name("orch");
  wire::StartInstance(*engine_, req, [&](auto r) { start_st = r.status(); });
  RaiseEventRequest ev;
  ev.set_instanceid("kept");
  ev.set_name("go");
  wire::RaiseEvent(*engine_, ev, [&](absl::Status s) { raise_st = s; });
  engine_->GetInstance("kept", false, [&](auto) { read_ran = true; });
  std::optional<absl::StatusOr<GetInstanceResponse>> waited;
  engine_->WaitForInstance("kept", true, false, [&](auto r) { waited = std::move(r); });
  ASSERT_TRUE(engine_->NextTimer().has_value());  // the wait's cap
  const uint64_t commits = backend_.commits();

  engine_->CrashForTesting();
  ASSERT_TRUE(start_st && raise_st);
  EXPECT_EQ(start_st->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(raise_st->code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(waited.has_value());
  EXPECT_EQ(waited->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(engine_->NextTimer(), std::nullopt);
  EXPECT_FALSE(engine_->RunCommit());
  EXPECT_FALSE(engine_->RunRead());
  EXPECT_FALSE(read_ran);
  EXPECT_EQ(backend_.commits(), commits);  // nothing reached the store
  engine_.reset();

  auto stored = memory_.LoadRecoveryState();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->live_instances.size(), 1u);
  EXPECT_EQ(stored->live_instances[0].instance_id(), "kept");
  for (const auto& item : stored->inbox) EXPECT_FALSE(item.event.has_eventraised());
  Open();  // recovers from what was committed
  EXPECT_TRUE(Get("kept").orchestrationstatus() == ORCHESTRATION_STATUS_PENDING);
  EXPECT_FALSE(DriveOr<GetInstanceResponse>(*engine_, [&](auto d) {
                 engine_->GetInstance("lost", false, std::move(d));
               })->exists());
}

// The threaded engine on a FakeClock: a durable timer fires when the test advances
// the clock (the timer thread waits for the clock, not for real time). The clock
// starts far in the future: a timer queue comparing with real time never fires.
// Broken on purpose: TimerQueue::Run comparing with absl::Now() -> not fired.
TEST(ThreadedEngineOnFakeClock, DurableTimerFiresWhenTheClockIsAdvanced) {
  FakeClock clock(absl::FromCivil(absl::CivilSecond(2100, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  storage::MemoryBackend memory;
  RecordingSink sink(absl::Seconds(30));  // a bound on a hang only
  auto e = Engine::Create(&memory, &clock, IdGenerator::Random(), EngineOptions());
  ASSERT_TRUE(e.ok()) << e.status();
  Engine& engine = **e;
  const uint64_t stream = wire::AddStream(engine, &sink, GetWorkItemsRequest());
  CreateInstanceRequest req;
  req.set_instanceid("tt");
  req.set_name("orch");
  ASSERT_TRUE(testing::AwaitOr<std::string>([&](auto d) {
                wire::StartInstance(engine, req, std::move(d));
              }).ok());
  auto wi = sink.Next();
  ASSERT_TRUE(wi);
  const absl::Time fire_at = clock.Now() + absl::Hours(1);
  ASSERT_TRUE(testing::CompleteEpisode(engine, *wi, {TimerAction(1, fire_at)}).ok());
  clock.Advance(absl::Hours(1));
  auto fired = sink.Next();
  ASSERT_TRUE(fired) << "the timer did not fire when the clock reached it";
  ASSERT_EQ(fired->orchestratorrequest().newevents_size(), 2);
  EXPECT_EQ(fired->orchestratorrequest().newevents(1).timerfired().timerid(), 1);
  engine.RemoveStream(stream);
  engine.Stop();
}

}  // namespace
}  // namespace taskhub::engine
