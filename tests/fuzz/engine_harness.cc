#include "tests/fuzz/engine_harness.h"

#include <cstdio>

#include "absl/synchronization/notification.h"
#include "tests/engine/wire_requests.h"

namespace taskhub::fuzz {
namespace wire = engine::testing::wire;
namespace {

// Runs `call` with a completion callback and waits for that callback.
template <typename T, typename Call>
void AwaitWith(Call call) {
  absl::Notification done;
  call([&done](T) { done.Notify(); });
  done.WaitForNotification();
}
template <typename Call>
void Await(Call call) {
  AwaitWith<absl::Status>(std::move(call));
}

}  // namespace

void RecordingSink::Send(const WorkItem& item) {
  if (item.has_healthping()) return;
  absl::MutexLock l(&mu_);
  items_.push_back(item);
}

std::vector<WorkItem> RecordingSink::Items() {
  absl::MutexLock l(&mu_);
  return items_;
}

engine::EngineOptions FuzzEngineOptions() {
  engine::EngineOptions o;
  o.max_payload_bytes = 4096;
  o.abandon_delay = absl::Milliseconds(1);
  o.max_abandon_delay = absl::Milliseconds(2);
  o.max_wait = absl::Seconds(5);
  o.history_cache_events = 64;  // evictions happen
  o.default_max_concurrent = 4;
  o.max_actions_per_response = 32;
  o.max_episode_history_bytes = 64 << 10;
  o.max_purge_time = absl::Milliseconds(50);
  return o;
}

EngineHarness::EngineHarness(storage::Backend* backend) : backend_(backend) { Create(); }

void EngineHarness::Create() {
  auto e =
      engine::Engine::Create(backend_, Clock::Real(), IdGenerator::Random(), FuzzEngineOptions());
  if (e.ok()) {
    engine_ = std::move(*e);
  } else {
    create_status_ = e.status();
  }
}

EngineHarness::~EngineHarness() {
  if (engine_ == nullptr) return;
  Disconnect();
  engine_->Stop();
}

void EngineHarness::Disconnect() {
  if (!connected_) return;
  engine_->RemoveStream(stream_);
  old_sinks_.push_back(std::move(sink_));
  connected_ = false;
}

void EngineHarness::Connect(const GetWorkItemsRequest& req) {
  Disconnect();
  stream_req_ = req;
  peer_ = "ipv4:127.0.0.1:" + std::to_string(40000 + ++connections_);
  sink_ = std::make_unique<RecordingSink>();
  stream_ = wire::AddStream(*engine_, sink_.get(), req, peer_);
  connected_ = true;
}

bool EngineHarness::Restart() {
  const bool reconnect = connected_;
  Disconnect();
  engine_->Stop();
  engine_.reset();
  Create();
  if (engine_ == nullptr) return false;
  if (reconnect) Connect(stream_req_);
  return true;
}

void EngineHarness::Barrier() {
  AwaitWith<absl::StatusOr<GetInstanceResponse>>(
      [&](auto d) { engine_->GetInstance("", false, std::move(d)); });
}

std::vector<WorkItem> EngineHarness::Received(WorkItem::RequestCase kind) {
  std::vector<WorkItem> out;
  auto take = [&](RecordingSink* s) {
    if (s == nullptr) return;
    for (auto& wi : s->Items()) {
      const bool entity = wi.has_entityrequest() || wi.has_entityrequestv2();
      if (kind == WorkItem::kEntityRequestV2 ? entity : wi.request_case() == kind) {
        out.push_back(std::move(wi));
      }
    }
  };
  for (auto& s : old_sinks_) take(s.get());
  take(sink_.get());
  return out;
}

void EngineHarness::Apply(const ClientCall& c) {
  engine::Engine& e = *engine_;
  using R = ClientCall;
  switch (c.call_case()) {
    case R::kStart:
      return AwaitWith<absl::StatusOr<std::string>>(
          [&](auto d) { wire::StartInstance(e, c.start(), std::move(d)); });
    case R::kRaise:
      return Await([&](auto d) { wire::RaiseEvent(e, c.raise(), std::move(d)); });
    case R::kTerminate:
      return Await([&](auto d) { wire::Terminate(e, c.terminate(), std::move(d)); });
    case R::kSuspend:
      return Await([&](auto d) { wire::Suspend(e, c.suspend(), std::move(d)); });
    case R::kResume:
      return Await([&](auto d) { wire::Resume(e, c.resume(), std::move(d)); });
    case R::kRewind:
      return Await([&](auto d) { wire::Rewind(e, c.rewind(), std::move(d)); });
    case R::kRestart:
      return AwaitWith<absl::StatusOr<std::string>>(
          [&](auto d) { wire::Restart(e, c.restart(), std::move(d)); });
    case R::kPurge:
      return AwaitWith<absl::StatusOr<PurgeInstancesResponse>>(
          [&](auto d) { wire::Purge(e, c.purge(), std::move(d)); });
    case R::kQuery:
      return AwaitWith<absl::StatusOr<QueryInstancesResponse>>(
          [&](auto d) { wire::Query(e, c.query().query(), std::move(d)); });
    case R::kList:
      return AwaitWith<absl::StatusOr<ListInstanceIdsResponse>>(
          [&](auto d) { wire::ListInstanceIds(e, c.list(), std::move(d)); });
    case R::kGet:
      return AwaitWith<absl::StatusOr<GetInstanceResponse>>([&](auto d) {
        e.GetInstance(c.get().instanceid(), c.get().getinputsandoutputs(), std::move(d));
      });
    case R::kWaitStart:
    case R::kWaitCompletion: {
      const GetInstanceRequest& g =
          c.call_case() == R::kWaitStart ? c.wait_start() : c.wait_completion();
      absl::Notification done;
      const uint64_t h =
          e.WaitForInstance(g.instanceid(), c.call_case() == R::kWaitCompletion,
                            g.getinputsandoutputs(), [&done](auto) { done.Notify(); });
      Barrier();
      e.CancelWait(h);
      done.WaitForNotification();
      return;
    }
    case R::kHistory:
      return AwaitWith<absl::StatusOr<std::vector<HistoryEvent>>>(
          [&](auto d) { e.GetHistory(c.history().instanceid(), std::move(d)); });
    case R::kDeleteTaskHub:
      return Await([&](auto d) { e.DeleteTaskHub(std::move(d)); });
    case R::kSignalEntity:
      return Await([&](auto d) { wire::SignalEntity(e, c.signal_entity(), std::move(d)); });
    case R::kGetEntity:
      return AwaitWith<absl::StatusOr<GetEntityResponse>>(
          [&](auto d) { wire::GetEntity(e, c.get_entity(), std::move(d)); });
    case R::kQueryEntities:
      return AwaitWith<absl::StatusOr<QueryEntitiesResponse>>(
          [&](auto d) { wire::QueryEntities(e, c.query_entities().query(), std::move(d)); });
    case R::kCleanEntities:
      return AwaitWith<absl::StatusOr<CleanEntityStorageResponse>>(
          [&](auto d) { wire::CleanEntityStorage(e, c.clean_entities(), std::move(d)); });
    case R::CALL_NOT_SET:
      return;
  }
}

void EngineHarness::Apply(const WorkerStep& s) {
  engine::Engine& e = *engine_;
  // The kind of work item the step answers (entities: either format).
  WorkItem::RequestCase kind = WorkItem::REQUEST_NOT_SET;
  if (s.has_orchestrator() || s.has_abandon_orchestration()) {
    kind = WorkItem::kOrchestratorRequest;
  } else if (s.has_activity() || s.has_abandon_activity()) {
    kind = WorkItem::kActivityRequest;
  } else if (s.has_entity() || s.has_abandon_entity()) {
    kind = WorkItem::kEntityRequestV2;
  }
  std::vector<WorkItem> items;
  if (kind != WorkItem::REQUEST_NOT_SET) {
    Barrier();  // let dispatches of earlier steps arrive
    items = Received(kind);
  }
  // The work item whose token (and ids) the step uses; null = use the fuzzed values.
  const WorkItem* wi = nullptr;
  if (!items.empty() && s.token() != 2) {
    wi = s.token() < 2 ? &items.back() : &items[(s.token() - 3) % items.size()];
  }
  const bool fill_ids = wi != nullptr && s.token() != 1;
  const std::string peer = s.other_peer() ? "ipv4:10.0.0.1:1" : peer_;
  switch (s.step_case()) {
    case WorkerStep::kOrchestrator: {
      OrchestratorResponse r = s.orchestrator();
      if (wi != nullptr) r.set_completiontoken(wi->completiontoken());
      if (fill_ids) r.set_instanceid(wi->orchestratorrequest().instanceid());
      return Await([&](auto d) { wire::CompleteOrchestration(e, r, peer, std::move(d)); });
    }
    case WorkerStep::kActivity: {
      ActivityResponse r = s.activity();
      if (wi != nullptr) r.set_completiontoken(wi->completiontoken());
      if (fill_ids) {
        r.set_instanceid(wi->activityrequest().orchestrationinstance().instanceid());
        r.set_taskid(wi->activityrequest().taskid());
      }
      return Await([&](auto d) { wire::CompleteActivity(e, r, peer, std::move(d)); });
    }
    case WorkerStep::kAbandonOrchestration:
      return Await([&](auto d) {
        wire::AbandonOrchestration(e, wi ? wi->completiontoken() : s.abandon_orchestration(),
                                   std::move(d));
      });
    case WorkerStep::kAbandonActivity:
      return Await([&](auto d) {
        wire::AbandonActivity(e, wi ? wi->completiontoken() : s.abandon_activity(), std::move(d));
      });
    case WorkerStep::kEntity: {
      EntityBatchResult r = s.entity();  // correlated by token only
      if (wi != nullptr) r.set_completiontoken(wi->completiontoken());
      return Await([&](auto d) { wire::CompleteEntity(e, r, std::move(d)); });
    }
    case WorkerStep::kAbandonEntity:
      return Await([&](auto d) {
        wire::AbandonEntity(e, wi ? wi->completiontoken() : s.abandon_entity(), std::move(d));
      });
    case WorkerStep::kClient:
      return Apply(s.client());
    case WorkerStep::kReconnect:
      return Connect(s.reconnect());
    case WorkerStep::kRestart:
      // An engine recovers whatever an engine wrote: a failure here is a bug.
      if (!Restart()) {
        fprintf(stderr, "recovery failed after restart: %s\n", create_status_.ToString().c_str());
        __builtin_trap();
      }
      return;
    case WorkerStep::STEP_NOT_SET:
      return;
  }
}

}  // namespace taskhub::fuzz
