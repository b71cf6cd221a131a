// Entity ids, --prefix normalization, request ids and --in durations of the CLI.
#include "tools/taskhub/entity_ids.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace taskhub::cli {
namespace {

TEST(EntityIdTest, LowerCasesTheNameAndKeepsTheKey) {
  EXPECT_EQ(*EntityId("Counter", "User-1"), "@counter@User-1");
  EXPECT_EQ(*EntityId("counter", ""), "@counter@");
  EXPECT_EQ(*EntityId("c", "a@b c"), "@c@a@b c");  // the key may hold '@' and spaces
}

TEST(EntityIdTest, RejectsEmptyNamesAndNamesWithAt) {
  EXPECT_EQ(EntityId("", "k").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EntityId("a@b", "k").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EntityId("@counter", "k").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SplitEntityIdTest, SplitsAtTheSecondAt) {
  EntityIdParts p = SplitEntityId("@counter@a@b");
  EXPECT_EQ(p.name, "counter");
  EXPECT_EQ(p.key, "a@b");
  p = SplitEntityId("@counter@");
  EXPECT_EQ(p.name, "counter");
  EXPECT_EQ(p.key, "");
  p = SplitEntityId("not-an-entity");
  EXPECT_EQ(p.name, "");
  EXPECT_EQ(p.key, "not-an-entity");
  EXPECT_EQ(SplitEntityId("@nokey").key, "@nokey");
}

// The same cases as durabletask-js normalizeInstanceIdPrefix.
TEST(EntityIdPrefixTest, NormalizesLikeTheSdks) {
  EXPECT_EQ(EntityIdPrefix("Counter"), "@counter");
  EXPECT_EQ(EntityIdPrefix("Counter@"), "@counter@");
  EXPECT_EQ(EntityIdPrefix("Counter@User-123"), "@counter@User-123");
  EXPECT_EQ(EntityIdPrefix("@Counter@User-123"), "@counter@User-123");
  EXPECT_EQ(EntityIdPrefix("@"), "@");
}

TEST(NewRequestIdTest, IsAVersion4UuidAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRequestId();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_EQ(id[8], '-');
    EXPECT_EQ(id[13], '-');
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_EQ(id[18], '-');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    EXPECT_EQ(id[23], '-');
    EXPECT_TRUE(seen.insert(id).second) << "duplicate " << id;
  }
}

TEST(ParseNonNegativeDurationTest, AcceptsGoStyleDurations) {
  EXPECT_EQ(*ParseNonNegativeDuration("30s", "--in"), absl::Seconds(30));
  EXPECT_EQ(*ParseNonNegativeDuration("1h30m", "--in"), absl::Minutes(90));
  EXPECT_EQ(*ParseNonNegativeDuration(" 250ms ", "--in"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseNonNegativeDuration("0", "--in"), absl::ZeroDuration());
  for (const char* bad : {"-5s", "5", "5x", "", "inf", "soon"}) {
    absl::StatusOr<absl::Duration> d = ParseNonNegativeDuration(bad, "--in");
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (!d.ok()) {
      EXPECT_TRUE(absl::StartsWith(d.status().message(), "--in: ")) << bad;
    }
  }
}

}  // namespace
}  // namespace taskhub::cli
