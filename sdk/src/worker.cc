#include "taskhub/worker.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator_service.grpc.pb.h"
#include "sdk/src/sdk_util.h"
#include "taskhub/channel.h"
#include "taskhub/replay.h"

namespace taskhub {
namespace {

using Stub = TaskHubSidecarService::Stub;

std::chrono::system_clock::time_point Deadline(absl::Duration d) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// Runs one activity; exceptions become failure details.
ActivityResponse RunActivity(const Registry& registry, const WorkItem& item) {
  const ActivityRequest& req = item.activityrequest();
  ActivityResponse resp;
  resp.set_instanceid(req.orchestrationinstance().instanceid());
  resp.set_taskid(req.taskid());
  resp.set_completiontoken(item.completiontoken());
  const ActivityFn* fn = registry.FindActivity(req.name());
  if (fn == nullptr) {
    internal::FailureToProto(
        TaskFailure{"ActivityNotFound",
                    "no activity named '" + req.name() + "' is registered on this worker",
                    {},
                    {},
                    true},
        resp.mutable_failuredetails());
    return resp;
  }
  ActivityContext ctx{req.orchestrationinstance().instanceid(), req.name(), req.taskid()};
  std::optional<std::string> input;
  if (req.has_input()) input = req.input().value();
  try {
    std::optional<std::string> result = (*fn)(ctx, input);
    if (result) resp.mutable_result()->set_value(*result);
  } catch (...) {
    internal::FailureToProto(internal::CurrentExceptionFailure(), resp.mutable_failuredetails());
  }
  return resp;
}

}  // namespace

struct Worker::Impl {
  Registry registry;
  WorkerOptions options;

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  std::atomic<bool> connected{false};
  std::shared_ptr<grpc::ClientContext> stream_ctx;
  struct Job {
    WorkItem item;
    std::shared_ptr<Stub> stub;
  };
  std::deque<Job> queue;
  int running = 0;
  // Orchestrations kept in memory between episodes (bounded, least recently used
  // dropped first). A session is taken out while an episode runs.
  std::mutex sessions_mu;
  std::map<std::string, std::pair<std::unique_ptr<OrchestrationSession>, uint64_t>> sessions;
  uint64_t session_clock = 0;
  static constexpr size_t kMaxSessions = 1024;
  std::unique_ptr<OrchestrationSession> TakeSession(const std::string& id);
  void ReturnSession(const std::string& id, std::unique_ptr<OrchestrationSession> s);
  std::thread reader;
  std::vector<std::thread> pool;

  void Reader();
  void PoolLoop();
  void Execute(Job job);
  bool SleepUnlessStopping(absl::Duration d) {
    std::unique_lock<std::mutex> l(mu);
    return !cv.wait_for(l, std::chrono::milliseconds(absl::ToInt64Milliseconds(d)),
                        [this] { return stopping; });
  }
  GetWorkItemsRequest Request() const {
    GetWorkItemsRequest req;
    req.set_maxconcurrentorchestrationworkitems(options.max_concurrent_orchestrations);
    req.set_maxconcurrentactivityworkitems(options.max_concurrent_activities);
    req.set_maxconcurrententityworkitems(options.max_concurrent_entities);
    if (options.use_work_item_filters) {
      auto* f = req.mutable_workitemfilters();
      for (const auto& n : registry.OrchestratorNames()) f->add_orchestrations()->set_name(n);
      for (const auto& n : registry.ActivityNames()) f->add_activities()->set_name(n);
      for (const auto& n : registry.EntityNames()) f->add_entities()->set_name(n);
    }
    return req;
  }
};

void Worker::Impl::Reader() {
  using internal::LogLevel;
  using internal::SdkLog;
  absl::Duration backoff = options.initial_backoff;
  std::mt19937 rng(std::random_device{}());
  while (true) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (stopping) return;
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    auto channel = NewChannel(options.address, options.tls, options.token, args);
    auto stub = std::shared_ptr<Stub>(TaskHubSidecarService::NewStub(channel));
    grpc::ClientContext hello_ctx;
    hello_ctx.set_deadline(Deadline(absl::Seconds(10)));
    google::protobuf::Empty empty;
    grpc::Status st = stub->Hello(&hello_ctx, empty, &empty);
    if (st.ok()) {
      auto ctx = std::make_shared<grpc::ClientContext>();
      {
        std::lock_guard<std::mutex> l(mu);
        if (stopping) return;
        stream_ctx = ctx;
      }
      auto stream = stub->GetWorkItems(ctx.get(), Request());
      connected = true;
      backoff = options.initial_backoff;
      SdkLog(LogLevel::kInfo, absl::StrCat("worker connected to ", options.address));
      WorkItem item;
      while (stream->Read(&item)) {
        if (item.has_healthping()) continue;
        if (!item.has_orchestratorrequest() && !item.has_activityrequest() &&
            !item.has_entityrequest() && !item.has_entityrequestv2()) {
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        queue.push_back(Job{std::move(item), stub});
        cv.notify_one();
      }
      connected = false;
      st = stream->Finish();
      {
        std::lock_guard<std::mutex> l(mu);
        stream_ctx.reset();
        if (stopping) return;
      }
      SdkLog(LogLevel::kInfo,
             absl::StrCat("work item stream ended (", st.error_message(), "); reconnecting"));
    } else if (st.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
               st.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      SdkLog(LogLevel::kError,
             absl::StrCat(options.address, " refused the worker (check WorkerOptions::token): ",
                          st.error_message()));
    } else {
      SdkLog(LogLevel::kWarn,
             absl::StrCat("cannot reach ", options.address, ": ", st.error_message()));
    }
    // Full jitter back-off.
    const int64_t cap = absl::ToInt64Milliseconds(backoff);
    const absl::Duration sleep =
        absl::Milliseconds(std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng));
    if (!SleepUnlessStopping(sleep)) return;
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

void Worker::Impl::PoolLoop() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [this] { return stopping || !queue.empty(); });
      if (stopping) return;  // queued items are abandoned by Stop()
      job = std::move(queue.front());
      queue.pop_front();
      ++running;
    }
    Execute(std::move(job));
    std::lock_guard<std::mutex> l(mu);
    --running;
  }
}

void Worker::Impl::Execute(Job job) {
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(absl::Seconds(30)));
  CompleteTaskResponse done;
  grpc::Status st;
  if (job.item.has_orchestratorrequest()) {
    const std::string& id = job.item.orchestratorrequest().instanceid();
    std::unique_ptr<OrchestrationSession> session = TakeSession(id);
    OrchestratorResponse resp =
        session->Execute(job.item.orchestratorrequest(), job.item.completiontoken());
    ReturnSession(id, std::move(session));
    st = job.stub->CompleteOrchestratorTask(&ctx, resp, &done);
  } else if (job.item.has_entityrequest() || job.item.has_entityrequestv2()) {
    EntityBatchResult resp =
        job.item.has_entityrequest()
            ? ExecuteEntityBatch(registry, job.item.entityrequest(), job.item.completiontoken())
            : ExecuteEntityRequest(registry, job.item.entityrequestv2(),
                                   job.item.completiontoken());
    st = job.stub->CompleteEntityTask(&ctx, resp, &done);
  } else {
    ActivityResponse resp = RunActivity(registry, job.item);
    st = job.stub->CompleteActivityTask(&ctx, resp, &done);
  }
  if (!st.ok()) {
    internal::SdkLog(internal::LogLevel::kWarn,
                     absl::StrCat("completing a work item failed: ", st.error_message(),
                                  " (the server will redeliver it)"));
  }
}

std::unique_ptr<OrchestrationSession> Worker::Impl::TakeSession(const std::string& id) {
  std::lock_guard<std::mutex> l(sessions_mu);
  auto it = sessions.find(id);
  if (it == sessions.end()) return std::make_unique<OrchestrationSession>(registry);
  auto s = std::move(it->second.first);
  sessions.erase(it);
  return s;
}

void Worker::Impl::ReturnSession(const std::string& id, std::unique_ptr<OrchestrationSession> s) {
  if (!s->reusable()) return;
  std::lock_guard<std::mutex> l(sessions_mu);
  if (sessions.size() >= kMaxSessions) {
    auto oldest = sessions.begin();
    for (auto it = sessions.begin(); it != sessions.end(); ++it) {
      if (it->second.second < oldest->second.second) oldest = it;
    }
    sessions.erase(oldest);
  }
  sessions[id] = {std::move(s), ++session_clock};
}

Worker::Worker(Registry registry, WorkerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->registry = std::move(registry);
  impl_->options = std::move(options);
}

Worker::~Worker() { Stop(); }

absl::Status Worker::Start() {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (impl_->started) return absl::FailedPreconditionError("the worker was already started");
  if (impl_->options.max_concurrent_orchestrations <= 0 ||
      impl_->options.max_concurrent_activities <= 0 ||
      impl_->options.max_concurrent_entities <= 0) {
    return absl::InvalidArgumentError("max_concurrent_* must be positive");
  }
  impl_->started = true;
  const int threads = impl_->options.max_concurrent_orchestrations +
                      impl_->options.max_concurrent_activities +
                      impl_->options.max_concurrent_entities;
  for (int i = 0; i < threads; ++i) impl_->pool.emplace_back([this] { impl_->PoolLoop(); });
  impl_->reader = std::thread([this] { impl_->Reader(); });
  return absl::OkStatus();
}

void Worker::Stop() {
  std::deque<Impl::Job> abandoned;
  {
    std::lock_guard<std::mutex> l(impl_->mu);
    if (!impl_->started || impl_->stopping) return;
    impl_->stopping = true;
    if (impl_->stream_ctx) impl_->stream_ctx->TryCancel();
    abandoned.swap(impl_->queue);
    impl_->cv.notify_all();
  }
  if (impl_->reader.joinable()) impl_->reader.join();
  for (auto& t : impl_->pool) t.join();  // running items finish and report first
  for (auto& job : abandoned) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(absl::Seconds(5)));
    if (job.item.has_orchestratorrequest()) {
      AbandonOrchestrationTaskRequest req;
      req.set_completiontoken(job.item.completiontoken());
      AbandonOrchestrationTaskResponse resp;
      job.stub->AbandonTaskOrchestratorWorkItem(&ctx, req, &resp);
    } else if (job.item.has_entityrequest() || job.item.has_entityrequestv2()) {
      AbandonEntityTaskRequest req;
      req.set_completiontoken(job.item.completiontoken());
      AbandonEntityTaskResponse resp;
      job.stub->AbandonTaskEntityWorkItem(&ctx, req, &resp);
    } else {
      AbandonActivityTaskRequest req;
      req.set_completiontoken(job.item.completiontoken());
      AbandonActivityTaskResponse resp;
      job.stub->AbandonTaskActivityWorkItem(&ctx, req, &resp);
    }
  }
}

bool Worker::connected() const { return impl_->connected; }

}  // namespace taskhub
