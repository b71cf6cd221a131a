#include "server/daemon/retention_flag.h"

#include "gtest/gtest.h"

namespace taskhub::daemon {
namespace {

TEST(RetentionFlag, ParsesRulesWithEveryUnit) {
  auto r = ParseRetention("completed=7d, Failed=30d,terminated=12h,canceled=90m");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].status, ORCHESTRATION_STATUS_COMPLETED);
  EXPECT_EQ((*r)[0].age, absl::Hours(7 * 24));
  EXPECT_EQ((*r)[1].status, ORCHESTRATION_STATUS_FAILED);
  EXPECT_EQ((*r)[1].age, absl::Hours(30 * 24));
  EXPECT_EQ((*r)[2].age, absl::Hours(12));
  EXPECT_EQ((*r)[3].status, ORCHESTRATION_STATUS_CANCELED);
  EXPECT_EQ((*r)[3].age, absl::Minutes(90));
  auto s = ParseRetention("completed=1.5s");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].age, absl::Milliseconds(1500));
  auto none = ParseRetention("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(RetentionFlag, RefusesWhatItCannotMean) {
  for (const char* bad : {"completed", "completed=7", "completed=0d", "completed=-1d",
                          "completed=xd", "running=7d", "pending=1h", "completed=1d,completed=2d",
                          "=7d"}) {
    auto r = ParseRetention(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace taskhub::daemon
