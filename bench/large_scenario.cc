// The `large` scenario: a task hub with many finished instances (issue 15). It speaks
// the wire protocol directly (a raw gRPC stub: ListInstanceIds and the purge timeout
// are not in the C++ SDK's client), against a taskhubd the bench started (it needs
// RSS, the data dir and a restart).
//
//   1. (--large-check) fill and purge large_small instances: the per-instance purge
//      time of a small hub, the reference of the anti-quadratic check;
//   2. fill large_n finished instances (start with a far scheduled time, then
//      terminate: no worker episode), then large_live running ones;
//   3. query pages by status, created range and id prefix; ListInstanceIds paging;
//   4. restart taskhubd on the same data dir: start-up time;
//   5. purge every terminated instance by filter (calls with a short timeout, resumed
//      while isComplete is false) while another thread measures GetInstance latency;
//   6. RSS and disk use before and after.
// With --large-check, counts are checked exactly (every instance found by each
// query, every one purged, every live one kept) and the per-instance purge time of
// step 5 must be under large_max_ratio (5) times that of step 1: a generous bound
// that only catches cost growing with the size of the hub (the range tombstones of
// main before issue 15 gave 6-9x at 50,000 vs 5,000; the fix 0.9-1.9x on a loaded
// machine).
#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scenarios.h"
#include "bench/stats.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator_service.grpc.pb.h"
#include "proto/timestamp_util.h"

#define RETURN_IF_ERROR_BENCH(expr)            \
  do {                                         \
    if (absl::Status s_ = (expr); !s_.ok()) return s_; \
  } while (0)

namespace taskhub::bench {
namespace {

using Stub = TaskHubSidecarService::Stub;

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

template <typename Req, typename Resp>
absl::Status Call(Stub& stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& req, Resp* resp, absl::string_view what) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return FromGrpc((stub.*method)(&ctx, req, resp), what);
}

std::unique_ptr<Stub> Connect(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return TaskHubSidecarService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

std::string Id(const std::string& prefix, size_t i) { return absl::StrFormat("%s%08d", prefix, i); }

// Starts instances prefix00000000.. (never dispatched: scheduled in 2100), then
// terminates them. Returns the time each of the two steps took.
absl::StatusOr<std::pair<absl::Duration, absl::Duration>> FillFinished(
    Stub& stub, const std::string& prefix, size_t n, int threads) {
  const absl::Time t0 = absl::Now();
  absl::Status st = ParallelFor(n, threads, [&](size_t i) {
    CreateInstanceRequest req;
    req.set_instanceid(Id(prefix, i));
    req.set_name("bench_one");
    req.mutable_scheduledstarttimestamp()->set_seconds(4102444800);  // 2100-01-01
    CreateInstanceResponse resp;
    return Call(stub, &Stub::StartInstance, req, &resp, "start");
  });
  if (!st.ok()) return st;
  const absl::Time t1 = absl::Now();
  st = ParallelFor(n, threads, [&](size_t i) {
    TerminateRequest req;
    req.set_instanceid(Id(prefix, i));
    TerminateResponse resp;
    return Call(stub, &Stub::TerminateInstance, req, &resp, "terminate");
  });
  if (!st.ok()) return st;
  return std::make_pair(t1 - t0, absl::Now() - t1);
}

struct Pages {
  std::vector<double> ms;
  size_t items = 0;
};

// Walks QueryInstances pages of `q` (at most max_pages).
absl::StatusOr<Pages> WalkQuery(Stub& stub, ::InstanceQuery q, size_t max_pages) {
  Pages out;
  q.set_maxinstancecount(100);
  for (size_t p = 0; p < max_pages; ++p) {
    QueryInstancesRequest req;
    *req.mutable_query() = q;
    QueryInstancesResponse resp;
    const absl::Time t0 = absl::Now();
    RETURN_IF_ERROR_BENCH(Call(stub, &Stub::QueryInstances, req, &resp, "query"));
    out.ms.push_back(Ms(absl::Now() - t0));
    out.items += resp.orchestrationstate_size();
    if (!resp.has_continuationtoken() || resp.continuationtoken().value().empty()) break;
    q.mutable_continuationtoken()->set_value(resp.continuationtoken().value());
  }
  return out;
}

absl::StatusOr<Pages> WalkIds(Stub& stub, OrchestrationStatus status) {
  Pages out;
  ListInstanceIdsRequest req;
  req.add_runtimestatus(status);
  req.set_pagesize(1000);
  while (true) {
    ListInstanceIdsResponse resp;
    const absl::Time t0 = absl::Now();
    RETURN_IF_ERROR_BENCH(Call(stub, &Stub::ListInstanceIds, req, &resp, "list ids"));
    out.ms.push_back(Ms(absl::Now() - t0));
    out.items += resp.instanceids_size();
    if (!resp.has_lastinstancekey()) break;
    *req.mutable_lastinstancekey() = resp.lastinstancekey();
  }
  return out;
}

struct PurgeRun {
  int64_t deleted = 0;
  int calls = 0;
  absl::Duration elapsed;
};

// Purges every terminated instance by filter, in calls of at most `call_timeout`.
absl::StatusOr<PurgeRun> PurgeTerminated(Stub& stub, absl::Duration call_timeout) {
  PurgeRun run;
  PurgeInstancesRequest req;
  auto* f = req.mutable_purgeinstancefilter();
  f->add_runtimestatus(ORCHESTRATION_STATUS_TERMINATED);
  f->mutable_timeout()->set_seconds(absl::ToInt64Seconds(call_timeout));
  f->mutable_timeout()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(call_timeout) % 1000000000));
  const absl::Time t0 = absl::Now();
  while (true) {
    PurgeInstancesResponse resp;
    RETURN_IF_ERROR_BENCH(Call(stub, &Stub::PurgeInstances, req, &resp, "purge"));
    ++run.calls;
    run.deleted += resp.deletedinstancecount();
    if (!resp.has_iscomplete() || resp.iscomplete().value()) break;
  }
  run.elapsed = absl::Now() - t0;
  return run;
}

int64_t DiskBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += static_cast<int64_t>(it->file_size(ec));
  }
  return total;
}

absl::Status Expect(bool check, size_t got, size_t want, absl::string_view what) {
  if (!check || got == want) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, ": ", got, " instead of ", want));
}

}  // namespace

absl::Status Large(const BenchConfig& c, Client& client, std::vector<Figure>* out) {
  if (c.server == nullptr) return absl::FailedPreconditionError("large needs a local server");
  ServerProcess& server = const_cast<ServerProcess&>(*c.server);
  const size_t n = static_cast<size_t>(c.large_n);
  auto fig = [&](std::string metric, double v, std::string unit) {
    out->push_back({"large", std::move(metric), v, std::move(unit)});
  };
  std::unique_ptr<Stub> stub = Connect(server.address());
  const int threads = std::max(8, c.clients);

  // 1. The reference: a small hub filled and purged.
  double small_us_per_instance = 0;
  if (c.large_check) {
    const size_t small = static_cast<size_t>(c.large_small);
    auto filled = FillFinished(*stub, "small-", small, threads);
    if (!filled.ok()) return filled.status();
    auto run = PurgeTerminated(*stub, absl::Seconds(1));
    if (!run.ok()) return run.status();
    RETURN_IF_ERROR_BENCH(Expect(true, run->deleted, small, "purged of the small hub"));
    small_us_per_instance = absl::ToDoubleMicroseconds(run->elapsed) / small;
    fig(absl::StrCat("purge ", small, ": per instance"), small_us_per_instance, "us");
  }

  // 2. Fill.
  const int64_t rss_empty = server.RssBytes();
  auto filled = FillFinished(*stub, "large-", n, threads);
  if (!filled.ok()) return filled.status();
  fig(absl::StrCat("fill: start ", n), n / absl::ToDoubleSeconds(filled->first), "inst/s");
  fig(absl::StrCat("fill: terminate ", n), n / absl::ToDoubleSeconds(filled->second), "inst/s");
  const absl::Time t0 = absl::Now();
  absl::Status st = ParallelFor(c.large_live, threads, [&](size_t i) {
    StartOptions o;
    o.instance_id = Id("live-", i);
    return client.ScheduleNewOrchestration("bench_wait_event", "null", o).status();
  });
  if (!st.ok()) return st;
  fig(absl::StrCat("start ", c.large_live, " live"), c.large_live / Ms(absl::Now() - t0) * 1000,
      "inst/s");
  fig("RSS empty", rss_empty / 1048576.0, "MiB");
  fig("RSS filled", server.RssBytes() / 1048576.0, "MiB");
  fig("disk filled", DiskBytes(server.data_dir()) / 1048576.0, "MiB");

  // 3. Queries. The created range is the middle half of the fill (by the records'
  // own times: the first and last instance).
  const size_t max_pages = c.large_check ? SIZE_MAX : 2000;
  ::InstanceQuery q;
  q.add_runtimestatus(ORCHESTRATION_STATUS_TERMINATED);
  q.mutable_instanceidprefix()->set_value("large-");
  auto by_status = WalkQuery(*stub, q, max_pages);
  if (!by_status.ok()) return by_status.status();
  q.clear_instanceidprefix();
  auto by_status_all = WalkQuery(*stub, q, max_pages);
  if (!by_status_all.ok()) return by_status_all.status();
  RETURN_IF_ERROR_BENCH(Expect(c.large_check, by_status_all->items, n, "query by status"));
  fig("query by status, page p50", Percentile(by_status_all->ms, 50), "ms");
  fig("query by status, page p99", Percentile(by_status_all->ms, 99), "ms");
  fig("query by status+prefix, page p99", Percentile(by_status->ms, 99), "ms");
  auto first = client.GetInstance(Id("large-", n / 4), false);
  auto last = client.GetInstance(Id("large-", 3 * n / 4), false);
  if (!first.ok() || !last.ok() || !first->has_value() || !last->has_value()) {
    return absl::InternalError("large: filled instances not found");
  }
  ::InstanceQuery range;
  *range.mutable_createdtimefrom() = ToTimestamp((*first)->created_at);
  *range.mutable_createdtimeto() = ToTimestamp((*last)->created_at);
  auto by_created = WalkQuery(*stub, range, max_pages);
  if (!by_created.ok()) return by_created.status();
  fig("query by created range, page p50", Percentile(by_created->ms, 50), "ms");
  fig("query by created range, page p99", Percentile(by_created->ms, 99), "ms");
  ::InstanceQuery prefix;
  prefix.mutable_instanceidprefix()->set_value(n >= 100000 ? "large-000" : "large-");
  auto by_prefix = WalkQuery(*stub, prefix, max_pages);
  if (!by_prefix.ok()) return by_prefix.status();
  fig("query by id prefix, page p50", Percentile(by_prefix->ms, 50), "ms");
  fig("query by id prefix, page p99", Percentile(by_prefix->ms, 99), "ms");
  auto ids = WalkIds(*stub, ORCHESTRATION_STATUS_TERMINATED);
  if (!ids.ok()) return ids.status();
  RETURN_IF_ERROR_BENCH(Expect(c.large_check, ids->items, n, "ListInstanceIds"));
  fig("ListInstanceIds (1000/page), page p50", Percentile(ids->ms, 50), "ms");
  fig("ListInstanceIds (1000/page), page p99", Percentile(ids->ms, 99), "ms");

  // 4. Restart on the same data dir.
  auto started = server.Restart();
  if (!started.ok()) return started.status();
  fig(absl::StrCat("start-up, ", n, " finished + ", c.large_live, " live"), Ms(*started), "ms");
  fig("RSS after restart", server.RssBytes() / 1048576.0, "MiB");
  stub = Connect(server.address());

  // 5. Purge with a concurrent reader.
  std::atomic<bool> purging{true};
  std::vector<double> get_ms;
  absl::Status reader_status;
  std::thread reader([&] {
    std::unique_ptr<Stub> rstub = Connect(server.address());
    std::mt19937_64 rng(15);
    while (purging) {
      GetInstanceRequest req;
      req.set_instanceid(rng() % 2 ? Id("live-", rng() % std::max(1, c.large_live))
                                   : Id("large-", rng() % n));
      GetInstanceResponse resp;
      const absl::Time t = absl::Now();
      if (absl::Status s = Call(*rstub, &Stub::GetInstance, req, &resp, "get"); !s.ok()) {
        reader_status = s;
        return;
      }
      get_ms.push_back(Ms(absl::Now() - t));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  auto run = PurgeTerminated(*stub, absl::Seconds(1));
  purging = false;
  reader.join();
  if (!run.ok()) return run.status();
  RETURN_IF_ERROR_BENCH(reader_status);
  RETURN_IF_ERROR_BENCH(Expect(c.large_check, run->deleted, n, "purged"));
  const double per_s = run->deleted / absl::ToDoubleSeconds(run->elapsed);
  fig(absl::StrCat("purge by filter, ", run->deleted, " in ", run->calls, " calls"), per_s,
      "inst/s");
  fig("GetInstance during the purge p50", Percentile(get_ms, 50), "ms");
  fig("GetInstance during the purge p99", Percentile(get_ms, 99), "ms");
  fig("RSS after the purge", server.RssBytes() / 1048576.0, "MiB");
  fig("disk after the purge", DiskBytes(server.data_dir()) / 1048576.0, "MiB");
  ::InstanceQuery rest;
  rest.add_runtimestatus(ORCHESTRATION_STATUS_TERMINATED);
  auto left = WalkQuery(*stub, rest, SIZE_MAX);
  if (!left.ok()) return left.status();
  RETURN_IF_ERROR_BENCH(Expect(c.large_check, left->items, 0, "terminated left after the purge"));
  ::InstanceQuery live;
  live.add_runtimestatus(ORCHESTRATION_STATUS_RUNNING);
  live.add_runtimestatus(ORCHESTRATION_STATUS_PENDING);
  live.mutable_instanceidprefix()->set_value("live-");
  auto kept = WalkQuery(*stub, live, SIZE_MAX);
  if (!kept.ok()) return kept.status();
  RETURN_IF_ERROR_BENCH(Expect(c.large_check, kept->items, c.large_live, "live kept"));
  if (c.large_check) {
    const double us = absl::ToDoubleMicroseconds(run->elapsed) / n;
    fig(absl::StrCat("purge ", n, ": per instance"), us, "us");
    if (us > c.large_max_ratio * small_us_per_instance) {
      return absl::InternalError(absl::StrFormat(
          "purging %d instances took %.1f us each, over %.0fx the %.1f us each of %d: the cost "
          "grows with the size of the hub",
          n, us, c.large_max_ratio, small_us_per_instance, c.large_small));
    }
  }
  return absl::OkStatus();
}

}  // namespace taskhub::bench
