// The DF JSON shapes and query-parameter parsing of the management API.
#include "server/http/management_json.h"

#include "gtest/gtest.h"
#include "proto/timestamp_util.h"

namespace taskhub::http {
namespace {

absl::Time At(int64_t secs) { return absl::FromUnixSeconds(secs); }

TEST(ManagementJsonTest, StatusObjectHasDfNamesAndPayloadsAsJson) {
  OrchestrationState s;
  s.set_instanceid("i1");
  s.set_name("Hello");
  s.set_orchestrationstatus(ORCHESTRATION_STATUS_COMPLETED);
  s.mutable_input()->set_value("{\"a\":1}");
  s.mutable_output()->set_value("not json");
  s.mutable_customstatus()->set_value("\"half\"");
  *s.mutable_createdtimestamp() = ToTimestamp(At(1700000000) + absl::Milliseconds(250));
  *s.mutable_lastupdatedtimestamp() = ToTimestamp(At(1700000005));
  nlohmann::json j = StatusJson(s, StatusOptions{});
  EXPECT_EQ(j["name"], "Hello");
  EXPECT_EQ(j["instanceId"], "i1");
  EXPECT_EQ(j["runtimeStatus"], "Completed");
  EXPECT_EQ(j["input"]["a"], 1);
  EXPECT_EQ(j["output"], "not json");
  EXPECT_EQ(j["customStatus"], "half");
  EXPECT_EQ(j["createdTime"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["lastUpdatedTime"], "2023-11-14T22:13:25Z");
  EXPECT_FALSE(j.contains("historyEvents"));
  StatusOptions no_input;
  no_input.show_input = false;
  EXPECT_TRUE(StatusJson(s, no_input)["input"].is_null());
}

TEST(ManagementJsonTest, HistoryMergesScheduledIntoCompletions) {
  std::vector<HistoryEvent> h(6);
  h[0].set_eventid(-1);
  h[0].mutable_orchestratorstarted();
  h[1].set_eventid(-1);
  h[1].mutable_executionstarted()->set_name("Hello");
  h[2].set_eventid(0);
  *h[2].mutable_timestamp() = ToTimestamp(At(100));
  h[2].mutable_taskscheduled()->set_name("SayHello");
  h[3].set_eventid(-1);
  h[3].mutable_taskcompleted()->set_taskscheduledid(0);
  h[3].mutable_taskcompleted()->mutable_result()->set_value("\"hi\"");
  h[4].set_eventid(1);
  h[4].mutable_taskscheduled()->set_name("StillRunning");
  h[5].set_eventid(2);
  h[5].mutable_timercreated();
  nlohmann::json j = HistoryJson(h, /*show_output=*/true);
  ASSERT_EQ(j.size(), 4u) << j.dump();
  EXPECT_EQ(j[0]["EventType"], "ExecutionStarted");
  EXPECT_EQ(j[0]["FunctionName"], "Hello");
  EXPECT_EQ(j[1]["EventType"], "TaskCompleted");
  EXPECT_EQ(j[1]["FunctionName"], "SayHello");
  EXPECT_EQ(j[1]["Result"], "hi");
  EXPECT_EQ(j[1]["ScheduledTime"], "1970-01-01T00:01:40.000000Z");
  EXPECT_EQ(j[2]["EventType"], "TaskScheduled");
  EXPECT_EQ(j[2]["Name"], "StillRunning");
  EXPECT_EQ(j[3]["EventType"], "TimerCreated");
  EXPECT_FALSE(HistoryJson(h, /*show_output=*/false)[1].contains("Result"));
}

TEST(ManagementJsonTest, EntitySplitsItsId) {
  EntityMetadata e;
  e.set_instanceid("@counter@k@1");
  e.mutable_serializedstate()->set_value("5");
  e.set_backlogqueuesize(2);
  nlohmann::json j = EntityJson(e, true);
  EXPECT_EQ(j["entityId"]["name"], "counter");
  EXPECT_EQ(j["entityId"]["key"], "k@1");
  EXPECT_EQ(j["state"], 5);
  EXPECT_EQ(j["backlogQueueSize"], 2);
  EXPECT_FALSE(EntityJson(e, false).contains("state"));
}

TEST(ManagementJsonTest, ParsesQueryParameters) {
  EXPECT_EQ(*ParseBool("x", "TRUE"), true);
  EXPECT_EQ(*ParseBool("x", "false"), false);
  EXPECT_FALSE(ParseBool("x", "yes").ok());
  EXPECT_EQ(*ParseTime("t", "2026-11-30T21:10:59Z"), absl::FromUnixSeconds(1796073059));
  EXPECT_EQ(*ParseTime("t", "2026-11-30T22:10:59+01:00"), absl::FromUnixSeconds(1796073059));
  EXPECT_EQ(*ParseTime("t", "2026-11-30T21:10:59.5Z"),
            absl::FromUnixSeconds(1796073059) + absl::Milliseconds(500));
  EXPECT_EQ(*ParseTime("t", "2026-11-30T21:10:59"), absl::FromUnixSeconds(1796073059));
  EXPECT_EQ(*ParseTime("t", "2026-11-30"), absl::FromUnixSeconds(1796083200 - 86400 + 0));
  auto bad = ParseTime("createdTimeFrom", "yesterday");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("createdTimeFrom"), std::string::npos);
  auto st = ParseStatuses("runtimeStatus", "Running, completed,ContinuedAsNew");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(*st, (std::vector<OrchestrationStatus>{ORCHESTRATION_STATUS_RUNNING,
                                                   ORCHESTRATION_STATUS_COMPLETED,
                                                   ORCHESTRATION_STATUS_CONTINUED_AS_NEW}));
  EXPECT_FALSE(ParseStatuses("runtimeStatus", "Running,Bogus").ok());
  EXPECT_EQ(*ParseSeconds("timeout", "1.5"), absl::Milliseconds(1500));
  EXPECT_FALSE(ParseSeconds("timeout", "-1").ok());
  EXPECT_FALSE(ParseSeconds("timeout", "abc").ok());
  EXPECT_FALSE(ParsePositiveInt("top", "0").ok());
  EXPECT_EQ(*ParsePositiveInt("top", "10"), 10);
  EXPECT_EQ(RuntimeStatusName(ORCHESTRATION_STATUS_SUSPENDED), "Suspended");
}

}  // namespace
}  // namespace taskhub::http
