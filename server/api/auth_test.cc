#include "server/api/auth.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "orchestrator_service.pb.h"

namespace taskhub::auth {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kWorkerToken[] = "worker-token-0123456789";
constexpr char kClientToken[] = "client-token-0123456789";
constexpr char kAdminToken[] = "admin-token-0123456789";

TokenTable Table(absl::string_view text) {
  auto t = TokenTable::Parse(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *std::move(t) : TokenTable();
}

TEST(TokenTableTest, ParsesTokensRolesCommentsAndBlankLines) {
  TokenTable t = Table(
      "# taskhub tokens\n"
      "\n"
      "worker-token-0123456789 worker\n"
      "  client-token-0123456789\tclient,worker   # the app\r\n"
      "admin-token-0123456789 admin\n");
  ASSERT_EQ(t.size(), 3u);
  ASSERT_NE(t.Find(kWorkerToken), nullptr);
  EXPECT_EQ(t.Find(kWorkerToken)->roles, kWorker);
  ASSERT_NE(t.Find(kClientToken), nullptr);
  EXPECT_EQ(t.Find(kClientToken)->roles, kClient | kWorker);
  EXPECT_EQ(t.Find(kAdminToken)->roles, kAdmin);
  EXPECT_EQ(t.Find("worker-token-012345678"), nullptr);   // a prefix
  EXPECT_EQ(t.Find("worker-token-01234567890"), nullptr);  // longer
  EXPECT_EQ(t.Find(""), nullptr);
}

TEST(TokenTableTest, RejectsBadLinesNamingTheLineButNeverTheToken) {
  const char* bad[] = {
      "short admin\n",                                       // < 16 characters
      "worker-token-0123456789\n",                           // no role
      "worker-token-0123456789 root\n",                      // unknown role
      "worker-token-0123456789 worker,\n",                   // empty role
      "worker-token-0123456789 worker extra\n",              // third field not a comment
      "worker-token-0123456789 worker\nworker-token-0123456789 admin\n",  // duplicate
      "worker-token-\x01""0123456789 worker\n",              // control character
  };
  for (const char* text : bad) {
    auto t = TokenTable::Parse(text);
    ASSERT_FALSE(t.ok()) << text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("line "));
    EXPECT_THAT(t.status().message(), Not(HasSubstr("0123456789")));
  }
}

TEST(TokenTableTest, EmptyFileIsAnEmptyTable) { EXPECT_EQ(Table("# nothing yet\n").size(), 0u); }

TEST(RoleTableTest, EveryRpcOfTheProtoHasAnEntry) {
  // Through a generated message, so the linker keeps the descriptor's object file (a
  // lookup by name in the generated pool finds nothing in a build that dropped it).
  const auto* service =
      HistoryEvent::descriptor()->file()->FindServiceByName("TaskHubSidecarService");
  ASSERT_NE(service, nullptr);
  const std::vector<std::string> known = KnownMethods();
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string& name = service->method(i)->name();
    EXPECT_NE(std::find(known.begin(), known.end(), name), known.end())
        << name << " is missing from the role table (it would be admin-only)";
  }
  EXPECT_EQ(known.size(), static_cast<size_t>(service->method_count()));
}

TEST(RoleTableTest, RolesPerMethod) {
  EXPECT_EQ(AllowedRoles("GetWorkItems"), kWorker | kAdmin);
  EXPECT_EQ(AllowedRoles("CompleteOrchestratorTask"), kWorker | kAdmin);
  EXPECT_EQ(AllowedRoles("AbandonTaskActivityWorkItem"), kWorker | kAdmin);
  EXPECT_EQ(AllowedRoles("Hello"), kWorker | kClient | kAdmin);
  EXPECT_EQ(AllowedRoles("StartInstance"), kClient | kAdmin);
  EXPECT_EQ(AllowedRoles("WaitForInstanceCompletion"), kClient | kAdmin);
  EXPECT_EQ(AllowedRoles("TerminateInstance"), kClient | kAdmin);
  EXPECT_EQ(AllowedRoles("PurgeInstances"), kAdmin);
  EXPECT_EQ(AllowedRoles("DeleteTaskHub"), kAdmin);
  EXPECT_EQ(AllowedRoles("CreateTaskHub"), kAdmin);
  EXPECT_EQ(AllowedRoles("RewindInstance"), kAdmin);
  EXPECT_EQ(AllowedRoles("SomeFutureMethod"), kAdmin);  // deny by default
  EXPECT_EQ(RoleNames(kWorker | kAdmin), "worker,admin");
  EXPECT_EQ(RoleNames(0), "none");
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "bbcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcde"));
  EXPECT_FALSE(ConstantTimeEquals(absl::string_view("a\0b", 3), absl::string_view("a\0c", 3)));
}

TEST(FingerprintTest, IsAShortHashPrefixNotTheToken) {
  const std::string f = Fingerprint(kAdminToken);
  EXPECT_EQ(f.size(), std::string("sha256:").size() + 8);
  EXPECT_THAT(f, Not(HasSubstr("admin")));
  EXPECT_EQ(f, Fingerprint(kAdminToken));
  EXPECT_NE(f, Fingerprint(kWorkerToken));
  // SHA-256("abc") = ba7816bf...
  EXPECT_EQ(Fingerprint("abc"), "sha256:ba7816bf");
}

class AuthorizerTest : public ::testing::Test {
 protected:
  Authorizer auth_{"unused", Table("worker-token-0123456789 worker\n"
                                   "client-token-0123456789 client\n"
                                   "admin-token-0123456789 admin\n")};

  absl::StatusCode Code(absl::string_view method, absl::string_view header) {
    return auth_.Check(method, &header, "test").code();
  }
};

TEST_F(AuthorizerTest, MissingOrMalformedOrUnknownTokenIsUnauthenticated) {
  absl::Status st = auth_.Check("StartInstance", nullptr, "test");
  EXPECT_EQ(st.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(st.message(), HasSubstr("Bearer"));
  EXPECT_EQ(Code("StartInstance", kClientToken), absl::StatusCode::kUnauthenticated);  // no scheme
  EXPECT_EQ(Code("StartInstance", "Basic client-token-0123456789"),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("StartInstance", "Bearer "), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Code("StartInstance", "Bearer client-token-0123456780"),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, RolesAreEnforced) {
  EXPECT_EQ(Code("StartInstance", "Bearer client-token-0123456789"), absl::StatusCode::kOk);
  EXPECT_EQ(Code("StartInstance", "bearer  client-token-0123456789"), absl::StatusCode::kOk);
  EXPECT_EQ(Code("GetWorkItems", "Bearer worker-token-0123456789"), absl::StatusCode::kOk);
  EXPECT_EQ(Code("Hello", "Bearer worker-token-0123456789"), absl::StatusCode::kOk);
  EXPECT_EQ(Code("Hello", "Bearer client-token-0123456789"), absl::StatusCode::kOk);
  EXPECT_EQ(Code("StartInstance", "Bearer worker-token-0123456789"),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Code("GetWorkItems", "Bearer client-token-0123456789"),
            absl::StatusCode::kPermissionDenied);
  const absl::string_view h = "Bearer worker-token-0123456789";
  absl::Status st = auth_.Check("PurgeInstances", &h, "test");
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("needs role admin"));
  EXPECT_THAT(st.message(), Not(HasSubstr("0123456789")));
  EXPECT_EQ(Code("PurgeInstances", "Bearer client-token-0123456789"),
            absl::StatusCode::kPermissionDenied);
  for (const std::string& m : KnownMethods()) {
    EXPECT_EQ(Code(m, "Bearer admin-token-0123456789"), absl::StatusCode::kOk) << m;
  }
}

TEST(AuthorizerFileTest, ReloadSwapsTokensAndKeepsOldOnesOnError) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("auth_test." + std::to_string(getpid())))
          .string();
  auto write = [&](absl::string_view text) {
    std::ofstream(path, std::ios::trunc) << text;
  };
  write("worker-token-0123456789 worker\n");
  auto auth = Authorizer::FromFile(path);
  ASSERT_TRUE(auth.ok()) << auth.status();
  const absl::string_view old_token = "Bearer worker-token-0123456789";
  const absl::string_view new_token = "Bearer client-token-0123456789";
  EXPECT_TRUE((*auth)->Check("Hello", &old_token, "t").ok());
  EXPECT_FALSE((*auth)->Check("Hello", &new_token, "t").ok());

  write("client-token-0123456789 client\n");
  ASSERT_TRUE((*auth)->Reload().ok());
  EXPECT_EQ((*auth)->Check("Hello", &old_token, "t").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE((*auth)->Check("Hello", &new_token, "t").ok());

  write("client-token-0123456789 superuser\n");
  absl::Status st = (*auth)->Reload();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("line 1"));
  EXPECT_TRUE((*auth)->Check("Hello", &new_token, "t").ok());  // old table kept

  std::remove(path.c_str());
  EXPECT_FALSE((*auth)->Reload().ok());
  EXPECT_TRUE((*auth)->Check("Hello", &new_token, "t").ok());
  EXPECT_FALSE(Authorizer::FromFile(path).ok());
}

}  // namespace
}  // namespace taskhub::auth
