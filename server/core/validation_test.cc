#include "server/core/validation.h"

#include "gtest/gtest.h"

namespace taskhub::core {
namespace {

struct IdCase {
  std::string id;
  absl::StatusCode code;
};

class InstanceIdTest : public ::testing::TestWithParam<IdCase> {};

TEST_P(InstanceIdTest, Validates) {
  absl::Status st = ValidateInstanceId("instanceId", GetParam().id);
  EXPECT_EQ(st.code(), GetParam().code) << st;
  if (!st.ok()) {
    EXPECT_NE(st.message().find("instanceId"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ids, InstanceIdTest,
    ::testing::Values(IdCase{"abc", absl::StatusCode::kOk},
                      IdCase{"order-42:0001", absl::StatusCode::kOk},
                      IdCase{"ünïcode", absl::StatusCode::kOk},
                      IdCase{"", absl::StatusCode::kInvalidArgument},
                      IdCase{std::string(257, 'x'), absl::StatusCode::kInvalidArgument},
                      IdCase{"bad\nid", absl::StatusCode::kInvalidArgument},
                      IdCase{"@counter@1", absl::StatusCode::kInvalidArgument},
                      IdCase{"\xff\xfe", absl::StatusCode::kInvalidArgument},
                      IdCase{std::string("a\0b", 3), absl::StatusCode::kInvalidArgument},
                      // Strict UTF-8: overlong NUL, a surrogate, beyond U+10FFFF.
                      IdCase{"a\xC0\x80", absl::StatusCode::kInvalidArgument},
                      IdCase{"\xED\xA0\x80", absl::StatusCode::kInvalidArgument},
                      IdCase{"\xF4\x90\x80\x80", absl::StatusCode::kInvalidArgument},
                      IdCase{"\xF0\x9F\x98\x80", absl::StatusCode::kOk}));

TEST(ValidationTest, NamesAndPayloads) {
  EXPECT_EQ(ValidateName("name", "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateName("name", "Hello").ok());
  google::protobuf::StringValue v;
  v.set_value(std::string(100, 'a'));
  EXPECT_TRUE(ValidatePayload("input", v, 100).ok());
  absl::Status st = ValidatePayload("input", v, 99);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("--max-payload-bytes"), std::string::npos);
  EXPECT_TRUE(ValidatePayload("input", v, 0).ok());
}

// Ids inside worker-supplied history events (rewind histories, carried-over events)
// pass the same validation as ids from clients.
TEST(ValidationTest, WorkerEventsCarryOnlyValidIds) {
  HistoryEvent created;
  created.mutable_suborchestrationinstancecreated()->set_instanceid(std::string("v\0x", 3));
  created.mutable_suborchestrationinstancecreated()->set_name("child");
  absl::Status st = ValidateWorkerEvent("newHistory[0]", created, 1024);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("newHistory[0].subOrchestrationInstanceCreated.instanceId"),
            std::string::npos);
  created.mutable_suborchestrationinstancecreated()->set_instanceid("child-1");
  EXPECT_TRUE(ValidateWorkerEvent("e", created, 1024).ok());
  HistoryEvent sent;
  sent.mutable_eventsent()->set_instanceid("@entity@key");
  EXPECT_EQ(ValidateWorkerEvent("e", sent, 1024).code(), absl::StatusCode::kInvalidArgument);
  HistoryEvent started;
  started.mutable_executionstarted()->mutable_orchestrationinstance()->set_instanceid("ok");
  started.mutable_executionstarted()->mutable_orchestrationinstance()->mutable_executionid()
      ->set_value(std::string(300, 'e'));
  EXPECT_EQ(ValidateWorkerEvent("e", started, 1024).code(), absl::StatusCode::kInvalidArgument);
  HistoryEvent big;
  big.mutable_eventraised()->set_name("e");
  big.mutable_eventraised()->mutable_input()->set_value(std::string(100 << 10, 'x'));
  EXPECT_EQ(ValidateWorkerEvent("e", big, 1024).code(), absl::StatusCode::kResourceExhausted);
}

TEST(ValidationTest, TagsCountAgainstThePayloadCap) {
  google::protobuf::Map<std::string, std::string> tags;
  tags["a"] = std::string(600, 'x');
  EXPECT_TRUE(ValidateTags("tags", tags, 1024).ok());
  tags["b"] = std::string(600, 'y');
  absl::Status st = ValidateTags("tags", tags, 1024);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("tags"), std::string::npos);
  EXPECT_TRUE(ValidateTags("tags", tags, 0).ok());
  tags[std::string(2000, 'k')] = "";
  EXPECT_EQ(ValidateTags("tags", tags, 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace taskhub::core
