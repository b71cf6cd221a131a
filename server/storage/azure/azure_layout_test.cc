// The Azure key layout: escaping keeps the byte order and prefixes of ids, keys hold no
// character Azure forbids, numbers sort numerically, partitions match Durable Task's.
#include "server/storage/azure/azure_layout.h"

#include <algorithm>
#include <cstdio>
#include <random>

#include "gtest/gtest.h"

namespace taskhub::storage::azlayout {
namespace {

bool KeyCharsAllowed(const std::string& k) {
  for (unsigned char c : k) {
    if (c < 0x20 || c >= 0x7F || c == '/' || c == '\\' || c == '#' || c == '?' || c == '%' ||
        c == '\'') {
      return false;
    }
  }
  return true;
}

std::string RandomId(std::mt19937& rng, size_t max_len) {
  std::string s(1 + rng() % max_len, ' ');
  for (auto& c : s) {
    // Mostly the interesting boundaries: separators, leads, ASCII edges, UTF-8 bytes.
    static const char kPick[] = "!-./09:;<=>?@AZ[\\]^_`az{|}~\x7f\x80\xc3\xa9\xff aZ";
    c = rng() % 3 == 0 ? static_cast<char>(rng() % 256) : kPick[rng() % (sizeof(kPick) - 1)];
  }
  return s;
}

TEST(AzureLayout, EscapingKeepsOrderAndPrefixes) {
  const unsigned seed = std::random_device{}();
  std::printf("AzureLayout seed=%u\n", seed);
  std::mt19937 rng(seed);
  for (int i = 0; i < 20000; ++i) {
    const std::string a = RandomId(rng, 12), b = RandomId(rng, 12);
    const std::string ea = EscapeId(a), eb = EscapeId(b);
    ASSERT_TRUE(KeyCharsAllowed(ea)) << ea;
    ASSERT_EQ(ea.find(':'), std::string::npos) << ea;
    // Byte order of the ids (as unsigned chars) equals the order of the keys.
    const int raw = a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
    const bool raw_less =
        std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
          return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
        });
    ASSERT_EQ(raw_less, ea < eb) << "'" << a << "' vs '" << b << "'";
    ASSERT_EQ(raw == 0, ea == eb);
    const std::string prefix = a.substr(0, rng() % (a.size() + 1));
    ASSERT_EQ(ea.rfind(EscapeId(prefix), 0), 0u);
  }
  EXPECT_EQ(EscapeId("orch-1@x_Y"), "orch-1@x_Y");  // common ids stay readable
  EXPECT_EQ(EscapeId("a/b:c"), "a.2Fb;3Ac");
  EXPECT_EQ(EscapeId("\xc3\xa9"), "~C3~A9");
}

TEST(AzureLayout, LongIdsAreHashedAndPrefixScansCoverThem) {
  const std::string long_id(200, '\xe9');  // 600 escaped characters
  const std::string k = KeyId(long_id);
  EXPECT_LE(k.size(), kMaxEidChars);
  EXPECT_TRUE(KeyCharsAllowed(k));
  EXPECT_NE(KeyId(long_id + "x"), k);
  EXPECT_EQ(KeyId("short"), "short");
  // A prefix scan range holds the hashed key of every id with that prefix.
  for (const std::string& prefix : {std::string(10, '\xe9'), std::string(180, '\xe9')}) {
    const std::string p = KeyIdPrefix(prefix);
    EXPECT_EQ(k.rfind(p, 0), 0u) << prefix.size();
    EXPECT_LT(k, RangeEnd(p));
  }
  EXPECT_LE(InstanceRow(long_id).size(), 512u);
  EXPECT_LE(HistoryRow(long_id, 1).size(), 512u);
  EXPECT_LE(CreatedRow(-5, long_id).size(), 512u);
}

TEST(AzureLayout, NumbersSortNumerically) {
  EXPECT_EQ(Num(42), "00000000000000000042");
  EXPECT_LT(Num(9), Num(10));
  EXPECT_LT(SignedNum(-1), SignedNum(0));
  EXPECT_LT(SignedNum(INT64_MIN), SignedNum(-1));
  EXPECT_LT(SignedNum(5), SignedNum(INT64_MAX));
  EXPECT_EQ(ParseSignedNum(SignedNum(-123456)), -123456);
  EXPECT_EQ(ParseNum(Num(UINT64_MAX)), UINT64_MAX);
  EXPECT_FALSE(ParseNum("12"));
  EXPECT_FALSE(ParseNum("9999999999999999999x"));
  EXPECT_FALSE(ParseNum("99999999999999999999"));  // overflows
  EXPECT_LT(TimerRow(-5, 9), TimerRow(3, 1));
  EXPECT_LT(HistoryRow("a", 2), HistoryRow("a", 10));
  EXPECT_LT(HistoryRow("a", 99), RangeEnd(HistoryPrefix("a")));
  // "a" and "a0" do not share history rows.
  EXPECT_NE(HistoryRow("a0", 1).rfind(HistoryPrefix("a"), 0), 0u);
}

TEST(AzureLayout, PartitionsAndNames) {
  EXPECT_EQ(Fnv1a32(""), 0x811C9DC5u);
  EXPECT_EQ(Fnv1a32("abc"), 0x1A47E90Bu);
  EXPECT_EQ(PartitionOf("abc", 4), 3);
  EXPECT_EQ(PartitionOf("instance-1", 4), 0);
  EXPECT_EQ(PartitionKey(7), "p07");
  EXPECT_EQ(ParsePartitionKey("p15"), 15);
  EXPECT_EQ(ParsePartitionKey("log"), -1);
  EXPECT_EQ(TableName("MyHub"), "MyHubStore");
  EXPECT_EQ(ContainerName("MyHub"), "myhub-taskhub");
  const std::string lease = LeaseIdFor("host-1");
  EXPECT_EQ(lease, LeaseIdFor("host-1"));
  EXPECT_NE(lease, LeaseIdFor("host-2"));
  EXPECT_EQ(lease.size(), 36u);
  EXPECT_EQ(lease[8], '-');
  EXPECT_EQ(lease[23], '-');
}

}  // namespace
}  // namespace taskhub::storage::azlayout
