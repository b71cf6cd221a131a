#include "tools/taskhub/purge_progress.h"

#include "gtest/gtest.h"

namespace taskhub::cli {
namespace {

TEST(PurgeProgress, BarCountsAndRate) {
  EXPECT_EQ(ProgressLine(450000, 1000000, absl::Seconds(10)),
            "[###########-------------]  45%  450,000 / 1,000,000  45,000/s");
  EXPECT_EQ(ProgressLine(0, 10, absl::ZeroDuration()), "[------------------------]   0%  0 / 10  ");
  EXPECT_EQ(ProgressLine(10, 10, absl::Seconds(2)),
            "[########################] 100%  10 / 10  5/s");
  EXPECT_EQ(ProgressLine(1234, 0, absl::Seconds(1)), "Purged 1,234  1,234/s");  // no total
}

TEST(PurgeProgress, GroupedDigits) {
  EXPECT_EQ(Grouped(0), "0");
  EXPECT_EQ(Grouped(999), "999");
  EXPECT_EQ(Grouped(1000), "1,000");
  EXPECT_EQ(Grouped(1234567), "1,234,567");
}

TEST(PurgeProgress, Ages) {
  EXPECT_EQ(*ParseAge("7d", "--older-than"), absl::Hours(168));
  EXPECT_EQ(*ParseAge("1.5h", "--older-than"), absl::Minutes(90));
  EXPECT_EQ(*ParseAge("30m", "--older-than"), absl::Minutes(30));
  EXPECT_EQ(*ParseAge("90s", "--older-than"), absl::Seconds(90));
  for (const char* bad : {"", "7", "d", "0d", "-1d", "7x", "1e9d"}) {
    auto r = ParseAge(bad, "--older-than");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("--older-than"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace taskhub::cli
