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
                      IdCase{"\xff\xfe", absl::StatusCode::kInvalidArgument}));

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

}  // namespace
}  // namespace taskhub::core
