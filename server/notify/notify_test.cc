// Unit tests of the pure parts of lifecycle notifications (flag parsing, event
// mapping, the CloudEvent body and its signature) and of the Notifier's delivery
// rules over a fake HTTP transport and a fake outbox commit.
#include <openssl/hmac.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/timestamp_util.h"
#include "server/notify/cloudevent.h"
#include "server/notify/notifier.h"
#include "server/notify/webhook.h"

namespace taskhub::notify {
namespace {

TEST(WebhookSpec, ParsesEveryKey) {
  const std::string path = ::testing::TempDir() + "/secret" + std::to_string(getpid());
  std::ofstream(path) << "s3cret\n";
  auto w = ParseWebhookSpec(
      "url=http://h:1/x, events=Completed|failed|taskhub.orchestration."
      "Started,secret-file=" +
      path + ",header=Authorization: Bearer t");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->url, "http://h:1/x");
  EXPECT_EQ(w->events, (std::set<std::string>{"Completed", "Failed", "Started"}));
  EXPECT_EQ(w->secret, "s3cret");
  ASSERT_EQ(w->headers.size(), 1u);
  EXPECT_EQ(w->headers[0].first, "Authorization");
  EXPECT_EQ(w->headers[0].second, "Bearer t");
  EXPECT_TRUE(w->Wants("Failed"));
  EXPECT_FALSE(w->Wants("Suspended"));
}

TEST(WebhookSpec, RejectsBadSpecsNamingThePart) {
  EXPECT_NE(ParseWebhookSpec("events=Completed").status().message().find("url"), std::string::npos);
  EXPECT_NE(ParseWebhookSpec("url=ftp://x").status().message().find("http"), std::string::npos);
  EXPECT_NE(ParseWebhookSpec("url=http://x,events=Done").status().message().find("Done"),
            std::string::npos);
  EXPECT_NE(ParseWebhookSpec("url=http://x,colour=red").status().message().find("colour"),
            std::string::npos);
  EXPECT_NE(ParseWebhookSpec("url=http://x,secret-file=/nonexistent/s")
                .status()
                .message()
                .find("/nonexistent/s"),
            std::string::npos);
  EXPECT_FALSE(ParseWebhookSpec("url=http://x,header=NoColon").ok());
}

TEST(EventNames, StatusChangesMapToTypes) {
  using S = OrchestrationStatus;
  auto name = [](std::optional<S> b, S a) {
    std::vector<std::string> v = EventNamesFor(b, a);
    return v.empty() ? std::string("-") : absl::StrJoin(v, ",");
  };
  EXPECT_EQ(name(std::nullopt, ORCHESTRATION_STATUS_PENDING), "-");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_RUNNING), "Started");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_FAILED, ORCHESTRATION_STATUS_RUNNING), "Started");  // rewind
  EXPECT_EQ(name(ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_SUSPENDED), "Suspended");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_SUSPENDED, ORCHESTRATION_STATUS_RUNNING), "Resumed");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_COMPLETED), "Completed");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_FAILED), "Failed");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_TERMINATED), "Terminated");
  // Completed (or failed) in its first episode: it did start.
  EXPECT_EQ(name(ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_COMPLETED),
            "Started,Completed");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_PENDING, ORCHESTRATION_STATUS_FAILED), "Started,Failed");
  EXPECT_EQ(name(ORCHESTRATION_STATUS_RUNNING, ORCHESTRATION_STATUS_RUNNING), "-");
}

store::Notification Note(const std::string& id, const std::string& type) {
  store::Notification n;
  n.set_event_id("ev-" + id + "-" + type);
  n.set_webhook("http://hook/a");
  n.set_type(std::string(kTypePrefix) + type);
  n.set_instance_id(id);
  n.set_execution_id("x1");
  n.set_name("Orch");
  n.set_runtime_status(ORCHESTRATION_STATUS_FAILED);
  n.set_reason("boom");
  *n.mutable_time() = ToTimestamp(absl::Now());
  n.set_trace_parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  return n;
}

TEST(CloudEvent, StructuredJsonWithEveryAttribute) {
  store::Notification n = Note("i1", "Failed");
  *n.mutable_time() = ToTimestamp(absl::FromUnixSeconds(1'700'000'000));
  auto j = nlohmann::json::parse(CloudEventJson(n, "taskhubd/hub"));
  EXPECT_EQ(j["specversion"], "1.0");
  EXPECT_EQ(j["id"], "ev-i1-Failed");
  EXPECT_EQ(j["source"], "taskhubd/hub");
  EXPECT_EQ(j["type"], "taskhub.orchestration.Failed");
  EXPECT_EQ(j["subject"], "i1");
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(j["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(j["data"]["name"], "Orch");
  EXPECT_EQ(j["data"]["runtimeStatus"], "Failed");
  EXPECT_EQ(j["data"]["reason"], "boom");
  EXPECT_EQ(j["data"]["instanceId"], "i1");
}

TEST(CloudEvent, SignatureIsHmacSha256OfTheBody) {
  // RFC 4231 test case 2.
  EXPECT_EQ(Signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// Answers each POST from a script (HTTP status, or 0 for a transport error).
class FakeHttp : public azure::HttpTransport {
 public:
  absl::StatusOr<azure::HttpResponse> Send(const azure::HttpRequest& req) override {
    absl::MutexLock l(&mu_);
    auto j = nlohmann::json::parse(req.body);
    const std::string key = j["subject"].get<std::string>() + "/" + j["type"].get<std::string>();
    int status = 200;
    if (fail_left_ > 0) {
      --fail_left_;
      status = fail_status_;
    }
    if (status == 200) delivered_.push_back(key);
    ++calls_;
    if (status == 0) return absl::UnavailableError("connection refused");
    azure::HttpResponse r;
    r.status = status;
    return r;
  }
  void FailNext(int n, int status) {
    absl::MutexLock l(&mu_);
    fail_left_ = n;
    fail_status_ = status;
  }
  std::vector<std::string> delivered() {
    absl::MutexLock l(&mu_);
    return delivered_;
  }
  absl::Mutex mu_;
  int fail_left_ = 0, fail_status_ = 500, calls_ = 0;
  std::vector<std::string> delivered_;
};

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NotifierOptions o;
    o.webhooks.push_back(*ParseWebhookSpec("url=http://hook/a,secret=k"));
    o.initial_backoff = absl::Milliseconds(1);
    o.max_backoff = absl::Milliseconds(4);
    o.max_attempts = 4;
    notifier_ = std::make_unique<Notifier>(o, http_, &ids_);
  }
  void Start() {
    notifier_->Start([this](storage::WriteSet ws, std::function<void(absl::Status)> done) {
      {
        absl::MutexLock l(&mu_);
        for (auto& op : ws.ops) writes_.push_back(std::move(op));
      }
      done(absl::OkStatus());
    });
  }
  // Waits (bounded, generous) until `pred` holds for the notifier's counts.
  bool WaitFor(std::function<bool(const Notifier::Counts&)> pred) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (pred(notifier_->Stats())) return true;
      absl::SleepFor(absl::Milliseconds(2));
    }
    return false;
  }
  std::shared_ptr<FakeHttp> http_ = std::make_shared<FakeHttp>();
  SequentialIdGenerator ids_{"ev"};
  std::unique_ptr<Notifier> notifier_;
  absl::Mutex mu_;
  std::vector<storage::WriteOp> writes_;
};

TEST_F(NotifierTest, RowsOnlyForOrchestrationStatusChangesTheWebhookWants) {
  store::InstanceRecord rec;
  rec.set_instance_id("i1");
  rec.set_name("Orch");
  rec.set_status(ORCHESTRATION_STATUS_FAILED);
  rec.mutable_failure_details()->set_errormessage(std::string(5000, 'x'));
  auto rows = notifier_->Rows(rec, ORCHESTRATION_STATUS_RUNNING, absl::Now());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].type(), "taskhub.orchestration.Failed");
  EXPECT_LT(rows[0].reason().size(), 2100u);  // cut: rows stay small
  rec.set_instance_id("@counter@k");          // entities report nothing
  EXPECT_TRUE(notifier_->Rows(rec, ORCHESTRATION_STATUS_RUNNING, absl::Now()).empty());
}

TEST_F(NotifierTest, RetriesKeepPerInstanceOrderAndDeleteDeliveredRows) {
  http_->FailNext(3, 503);
  Start();
  std::vector<storage::NotificationItem> rows;
  uint64_t seq = 10;
  for (const char* type : {"Started", "Suspended", "Resumed", "Completed"}) {
    rows.push_back({++seq, Note("i1", type)});
  }
  notifier_->Committed(std::move(rows));
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.delivered == 4; }));
  EXPECT_EQ(http_->delivered(),
            (std::vector<std::string>{
                "i1/taskhub.orchestration.Started", "i1/taskhub.orchestration.Suspended",
                "i1/taskhub.orchestration.Resumed", "i1/taskhub.orchestration.Completed"}));
  absl::MutexLock l(&mu_);
  ASSERT_EQ(writes_.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    auto* d = std::get_if<storage::DeleteNotification>(&writes_[i]);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->seq, 11 + i);
    EXPECT_EQ(d->instance_id, "i1");
  }
}

TEST_F(NotifierTest, DeadLettersAfterMaxAttemptsAndRetryDelivers) {
  http_->FailNext(4, 0);  // transport errors, max_attempts = 4
  Start();
  notifier_->Committed({{7, Note("i2", "Completed")}});
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.dead == 1; }));
  auto failed = notifier_->Failed();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].seq, 7u);
  EXPECT_TRUE(failed[0].notification.dead());
  EXPECT_EQ(failed[0].notification.attempts(), 4);
  EXPECT_NE(failed[0].notification.last_error().find("connection refused"), std::string::npos);
  {
    absl::MutexLock l(&mu_);
    ASSERT_EQ(writes_.size(), 1u);  // the dead mark is durable
    auto* p = std::get_if<storage::PutNotification>(&writes_[0]);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(p->notification.dead());
  }
  EXPECT_EQ(notifier_->Retry(8).status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(*notifier_->Retry(std::nullopt), 1);
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.delivered == 1 && c.dead == 0; }));
  EXPECT_TRUE(notifier_->Failed().empty());
}

TEST_F(NotifierTest, RecoveredRowsAreDeliveredAndDeadOnesListed) {
  store::Notification dead = Note("i3", "Failed");
  dead.set_dead(true);
  notifier_->Recovered({{3, Note("i3", "Started")}, {4, dead}});
  Start();
  ASSERT_TRUE(WaitFor([](const auto& c) { return c.delivered == 1; }));
  ASSERT_EQ(notifier_->Failed().size(), 1u);
  EXPECT_EQ(notifier_->Failed()[0].seq, 4u);
}

}  // namespace
}  // namespace taskhub::notify
