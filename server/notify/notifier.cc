#include "server/notify/notifier.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "absl/strings/str_cat.h"
#include "proto/timestamp_util.h"
#include "server/common/logging.h"
#include "server/core/record.h"
#include "server/notify/cloudevent.h"

namespace taskhub::notify {
namespace {

std::string Cut(const std::string& s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
  return s.substr(0, n) + "...";
}

// The reason a status change carries: the failure message, or the termination output
// (the text of a JSON string, as the SDKs send it; other JSON as it is).
std::string ReasonOf(const store::InstanceRecord& rec) {
  if (rec.status() == ORCHESTRATION_STATUS_FAILED) return rec.failure_details().errormessage();
  if (rec.status() == ORCHESTRATION_STATUS_TERMINATED && rec.has_output()) {
    const std::string& out = rec.output().value();
    const nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    return j.is_string() ? j.get<std::string>() : out;
  }
  return "";
}

}  // namespace

Notifier::Notifier(NotifierOptions options, std::shared_ptr<azure::HttpTransport> http,
                   IdGenerator* ids)
    : options_(std::move(options)), http_(std::move(http)), ids_(ids) {}

Notifier::~Notifier() { Stop(); }

void Notifier::Start(CommitFn commit) {
  commit_ = std::move(commit);
  for (int i = 0; i < std::max(1, options_.delivery_threads); ++i) {
    threads_.emplace_back([this] { Run(); });
  }
}

void Notifier::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::vector<store::Notification> Notifier::Rows(const store::InstanceRecord& rec,
                                                std::optional<OrchestrationStatus> before,
                                                absl::Time now) {
  std::vector<store::Notification> out;
  if (options_.webhooks.empty() || absl::StartsWith(rec.instance_id(), "@")) return out;
  for (const std::string& name : EventNamesFor(before, rec.status())) {
    AddRows(rec, name, now, &out);
  }
  return out;
}

void Notifier::AddRows(const store::InstanceRecord& rec, const std::string& name, absl::Time now,
                       std::vector<store::Notification>* out) {
  std::string event_id;
  for (const Webhook& w : options_.webhooks) {
    if (!w.Wants(name)) continue;
    if (event_id.empty()) event_id = ids_->NewId();
    store::Notification n;
    n.set_event_id(event_id);
    n.set_webhook(w.url);
    n.set_type(absl::StrCat(kTypePrefix, name));
    n.set_instance_id(rec.instance_id());
    n.set_execution_id(rec.execution_id());
    n.set_name(rec.name());
    n.set_runtime_status(rec.status());
    n.set_reason(Cut(ReasonOf(rec), options_.max_reason_bytes));
    *n.mutable_time() = ToTimestamp(now);
    if (rec.has_created_time()) *n.mutable_created_time() = rec.created_time();
    if (rec.has_completed_time()) *n.mutable_completed_time() = rec.completed_time();
    n.set_trace_parent(rec.trace_parent());
    out->push_back(std::move(n));
  }
}

void Notifier::Enqueue(uint64_t seq, store::Notification n) {
  if (n.dead()) {
    dead_[seq] = std::move(n);
    return;
  }
  const QueueKey key{n.webhook(), n.instance_id()};
  Queue& q = queues_[key];
  Entry e;
  e.seq = seq;
  e.n = std::move(n);
  // By seq: rows arrive in commit order; a retried dead row goes back to its place.
  auto it = std::upper_bound(q.entries.begin(), q.entries.end(), seq,
                             [](uint64_t s, const Entry& x) { return s < x.seq; });
  if (q.in_flight && it == q.entries.begin()) ++it;  // never in front of the one in flight
  q.entries.insert(it, std::move(e));
  Reschedule(key, q);
  cv_.Signal();
}

void Notifier::Reschedule(const QueueKey& key, Queue& q) {
  std::optional<absl::Time> want;
  if (!q.in_flight && !q.entries.empty()) want = q.entries.front().next_attempt;
  if (q.scheduled == want) return;
  if (q.scheduled) schedule_.erase({*q.scheduled, key});
  if (want) schedule_.insert({*want, key});
  q.scheduled = want;
  if (!q.in_flight && q.entries.empty()) queues_.erase(key);
}

void Notifier::Committed(std::vector<storage::NotificationItem> rows) {
  absl::MutexLock l(&mu_);
  for (auto& r : rows) Enqueue(r.seq, std::move(r.notification));
}

void Notifier::Recovered(std::vector<storage::NotificationItem> rows) {
  absl::MutexLock l(&mu_);
  size_t pending = 0;
  for (auto& r : rows) {
    pending += r.notification.dead() ? 0 : 1;
    Enqueue(r.seq, std::move(r.notification));
  }
  Logger("notify")->info("recovered {} undelivered notifications, {} dead-lettered", pending,
                         dead_.size());
}

std::optional<Notifier::QueueKey> Notifier::TakeReady(absl::Time now, absl::Time* wake) {
  *wake = absl::InfiniteFuture();
  if (schedule_.empty()) return std::nullopt;
  const auto [due, key] = *schedule_.begin();
  if (due > now) {
    *wake = due;
    return std::nullopt;
  }
  Queue& q = queues_[key];
  q.in_flight = true;
  Reschedule(key, q);  // out of schedule_ while in flight
  return key;
}

void Notifier::Run() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    absl::Time wake;
    std::optional<QueueKey> key = TakeReady(absl::Now(), &wake);
    if (!key) {
      cv_.WaitWithDeadline(&mu_, wake);
      continue;
    }
    store::Notification n = queues_[*key].entries.front().n;
    absl::Status result;
    {
      mu_.Unlock();
      result = Post(n);
      mu_.Lock();
    }
    Finish(*key, result);
  }
}

const Webhook* Notifier::WebhookFor(const std::string& url) const {
  for (const Webhook& w : options_.webhooks) {
    if (w.url == url) return &w;
  }
  return nullptr;
}

absl::Status Notifier::Post(const store::Notification& n) {
  const Webhook* w = WebhookFor(n.webhook());
  if (w == nullptr) {
    return absl::FailedPreconditionError("the webhook is no longer configured");
  }
  azure::HttpRequest req;
  req.method = "POST";
  req.url = w->url;
  req.timeout = options_.request_timeout;
  req.body = CloudEventJson(n, options_.source);
  req.headers = w->headers;
  req.headers.emplace_back("Content-Type", kContentType);
  req.headers.emplace_back("ce-id", n.event_id());  // also in the body; eases dedup
  if (!w->secret.empty())
    req.headers.emplace_back(kSignatureHeader, Signature(w->secret, req.body));
  absl::StatusOr<azure::HttpResponse> resp = http_->Send(req);
  if (!resp.ok()) return resp.status();
  if (resp->status < 200 || resp->status > 299) {
    return absl::UnavailableError(absl::StrCat("HTTP ", resp->status, " from ", w->url));
  }
  return absl::OkStatus();
}

absl::Duration Notifier::Backoff(int attempts) const {
  absl::Duration d = options_.initial_backoff;
  for (int i = 1; i < attempts && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

void Notifier::Finish(const QueueKey& key, absl::Status result) {
  Queue& q = queues_[key];
  q.in_flight = false;
  Entry& e = q.entries.front();
  auto log = Logger("notify");
  if (result.ok()) {
    ++counts_.delivered;
    log->debug("delivered {} of instance '{}' to {}", e.n.type(), e.n.instance_id(), key.first);
    Write(storage::DeleteNotification{e.seq, e.n.instance_id()}, "delete a delivered row");
    q.entries.pop_front();
  } else {
    ++counts_.failed_attempts;
    ++e.attempts;
    const absl::Time now = absl::Now();
    const bool too_old = now - FromTimestamp(e.n.time()) > options_.max_age;
    const bool gone = result.code() == absl::StatusCode::kFailedPrecondition;
    if (e.attempts >= options_.max_attempts || too_old || gone) {
      ++counts_.dead_lettered;
      log->error(
          "giving up on {} of instance '{}'{} to {} after {} attempts: {}; listed by "
          "`taskhub notifications failed`",
          e.n.type(), e.n.instance_id(), core::TraceNote(e.n.trace_parent()), key.first, e.attempts,
          result.ToString());
      e.n.set_dead(true);
      e.n.set_attempts(e.attempts);
      e.n.set_last_error(std::string(result.message()));
      Write(storage::PutNotification{e.seq, e.n}, "dead-letter a row");
      dead_[e.seq] = std::move(e.n);
      q.entries.pop_front();
    } else {
      e.next_attempt = now + Backoff(e.attempts);
      log->warn("delivery of {} of instance '{}'{} to {} failed (attempt {}), retrying in {}: {}",
                e.n.type(), e.n.instance_id(), core::TraceNote(e.n.trace_parent()), key.first,
                e.attempts, absl::FormatDuration(e.next_attempt - now), result.ToString());
    }
  }
  Reschedule(key, q);
  cv_.Signal();
}

void Notifier::Write(storage::WriteOp op, const char* what) {
  if (!commit_) return;
  storage::WriteSet ws;
  ws.ops.push_back(std::move(op));
  commit_(std::move(ws), [what](absl::Status st) {
    // At least once: a lost delete redelivers after a restart; a lost dead-letter mark
    // retries the row after a restart.
    if (!st.ok())
      Logger("notify")->warn("cannot {} of the notification outbox: {}", what, st.ToString());
  });
}

std::vector<FailedNotification> Notifier::Failed() {
  absl::MutexLock l(&mu_);
  std::vector<FailedNotification> out;
  for (const auto& [seq, n] : dead_) out.push_back({seq, n});
  return out;
}

absl::StatusOr<int> Notifier::Retry(std::optional<uint64_t> seq) {
  absl::MutexLock l(&mu_);
  std::vector<uint64_t> seqs;
  if (seq) {
    if (!dead_.count(*seq)) {
      return absl::NotFoundError(absl::StrCat("no dead-lettered notification ", *seq,
                                              " (list them with `taskhub notifications failed`)"));
    }
    seqs.push_back(*seq);
  } else {
    for (const auto& [s, n] : dead_) seqs.push_back(s);
  }
  for (uint64_t s : seqs) {
    store::Notification n = std::move(dead_[s]);
    dead_.erase(s);
    n.set_dead(false);
    n.set_attempts(0);
    n.set_last_error("");
    Write(storage::PutNotification{s, n}, "put a retried row back");
    Enqueue(s, std::move(n));
  }
  Logger("notify")->info("retrying {} dead-lettered notifications", seqs.size());
  return static_cast<int>(seqs.size());
}

Notifier::Counts Notifier::Stats() {
  absl::MutexLock l(&mu_);
  Counts c = counts_;
  for (const auto& [k, q] : queues_) c.pending += q.entries.size();
  c.dead = dead_.size();
  return c;
}

}  // namespace taskhub::notify
