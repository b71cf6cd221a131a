// Reading config files: taskhubd's own keys (flat, nested, lists), a Durable Functions
// host.json (the mapping, what is noted and ignored, unknown keys, wrong types).
#include "server/daemon/config_file.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskhub::daemon {
namespace {

using ::testing::HasSubstr;

const std::set<std::string> kKeys = {"listen",
                                     "data-dir",
                                     "task-hub",
                                     "store",
                                     "partition-count",
                                     "azure-lease-seconds",
                                     "azure-storage-connection-string",
                                     "azure-storage-connection-string-name",
                                     "max-concurrent-orchestrations",
                                     "max-concurrent-activities",
                                     "max-concurrent-entities",
                                     "entity-max-batch",
                                     "engine-partitions",
                                     "http-listen",
                                     "notification-webhook",
                                     "notification-max-attempts"};

absl::StatusOr<ConfigFile> Parse(absl::string_view text,
                                 std::map<std::string, std::string> env = {}) {
  return ParseConfigText(
      text, "test.yaml", [](absl::string_view k) { return kKeys.count(std::string(k)) > 0; },
      [env](const std::string& name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      });
}

// key -> values joined with ",".
std::map<std::string, std::string> Settings(const ConfigFile& f) {
  std::map<std::string, std::string> out;
  for (const FileSetting& s : f.settings) {
    std::string v;
    for (const std::string& x : s.values) v += (v.empty() ? "" : ",") + x;
    out[s.key] = v;
  }
  return out;
}

std::vector<std::string> Notes(const ConfigFile& f, FileNote::Level level) {
  std::vector<std::string> out;
  for (const FileNote& n : f.notes) {
    if (n.level == level) out.push_back(n.text);
  }
  return out;
}

TEST(ConfigFileTest, OwnKeysFlatNestedAndLists) {
  auto f = Parse(R"(
listen: 0.0.0.0:4001
azure:
  lease-seconds: 20
engine-partitions: 4
http-listen: [127.0.0.1:8080, "[::1]:8080"]
)");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->host_json);
  EXPECT_EQ(Settings(*f),
            (std::map<std::string, std::string>{{"listen", "0.0.0.0:4001"},
                                                {"azure-lease-seconds", "20"},
                                                {"engine-partitions", "4"},
                                                {"http-listen", "127.0.0.1:8080,[::1]:8080"}}));
  EXPECT_TRUE(f->notes.empty());
  for (const FileSetting& s : f->settings) {
    if (s.key == "azure-lease-seconds") {
      EXPECT_EQ(s.path, "azure.lease-seconds");
    }
  }
}

TEST(ConfigFileTest, JsonIsReadToo) {
  auto f = Parse(R"({"listen": "127.0.0.1:0", "engine-partitions": 2,
	"azure": {"lease-seconds": 15}})");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Settings(*f), (std::map<std::string, std::string>{{"listen", "127.0.0.1:0"},
                                                              {"engine-partitions", "2"},
                                                              {"azure-lease-seconds", "15"}}));
}

// Broken on purpose: the warning in AddOwnKeys removed -> no warning named "lisen".
TEST(ConfigFileTest, UnknownKeysAreWarnedByNameAndSkipped) {
  auto f = Parse("lisen: 1.2.3.4:5\nazure:\n  lease-secs: 3\nstore: memory\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Settings(*f), (std::map<std::string, std::string>{{"store", "memory"}}));
  auto warnings = Notes(*f, FileNote::kWarning);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_THAT(warnings[0], HasSubstr("lisen"));
  EXPECT_THAT(warnings[1], HasSubstr("azure.lease-secs"));
}

TEST(ConfigFileTest, WrongShapesAreErrorsNamingTheKey) {
  struct Case {
    const char* text;
    const char* key;
  };
  for (const Case& c : {Case{"listen: {host: a}\n", "'listen'"}, Case{"listen:\n", "'listen'"},
                        Case{"http-listen: [{a: 1}]\n", "'http-listen[0]'"},
                        Case{"azure:\n  lease-seconds: [1, 2]\n", ""}}) {
    auto f = Parse(c.text);
    if (*c.key == '\0') {  // a list for a single value: the flag refuses it when applied
      EXPECT_TRUE(f.ok()) << c.text;
      continue;
    }
    ASSERT_FALSE(f.ok()) << c.text;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("test.yaml"));
    EXPECT_THAT(f.status().message(), HasSubstr(c.key)) << c.text;
  }
}

TEST(ConfigFileTest, BadSyntaxNamesTheLine) {
  auto f = Parse("listen: a\n  bad: [\n");
  ASSERT_FALSE(f.ok());
  EXPECT_THAT(f.status().message(), HasSubstr("test.yaml: not valid YAML or JSON: line"));
  auto top = Parse("- a\n- b\n");
  ASSERT_FALSE(top.ok());
  EXPECT_THAT(top.status().message(), HasSubstr("top level"));
}

constexpr char kHostJson[] = R"json({
  "version": "2.0",
  "logging": {"logLevel": {"default": "Information"}},
  "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"},
  "functionTimeout": "00:10:00",
  "extensions": {
    "http": {"routePrefix": "api"},
    "durableTask": {
      "hubName": "MyTaskHub",
      "storageProvider": {
        "type": "AzureStorage",
        "connectionStringName": "MyStorage",
        "partitionCount": 8,
        "controlQueueBatchSize": 32
      },
      "maxConcurrentActivityFunctions": 10,
      "maxConcurrentOrchestratorFunctions": 5,
      "maxConcurrentEntityFunctions": 3,
      "maxEntityOperationBatchSize": 50,
      "extendedSessionsEnabled": true,
      "extendedSessionIdleTimeoutInSeconds": 30,
      "notifications": {"eventGrid": {"topicEndpoint": "https://t.example/api/events",
                                      "keySettingName": "EventGridKey",
                                      "publishEventTypes": ["Started", "Completed"]}},
      "tracing": {"traceInputsAndOutputs": false, "distributedTracingEnabled": true}
    }
  }
})json";

// Broken on purpose: maxConcurrentActivityFunctions left out of the mapping table ->
// no max-concurrent-activities setting (and a warning instead).
TEST(ConfigFileTest, HostJsonMapsDurableTaskOntoFlags) {
  auto f = Parse(kHostJson);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->host_json);
  EXPECT_EQ(Settings(*f), (std::map<std::string, std::string>{
                              {"task-hub", "MyTaskHub"},
                              {"store", "azure"},
                              {"azure-storage-connection-string-name", "MyStorage"},
                              {"partition-count", "8"},
                              {"max-concurrent-activities", "10"},
                              {"max-concurrent-orchestrations", "5"},
                              {"max-concurrent-entities", "3"},
                              {"entity-max-batch", "50"}}));
  EXPECT_TRUE(Notes(*f, FileNote::kWarning).empty());
  const std::string info = absl::StrJoin(Notes(*f, FileNote::kInfo), "\n");
  for (const char* noted :
       {"host.json version", "host.json logging", "host.json extensionBundle",
        "host.json functionTimeout", "extensions.http", "storageProvider.controlQueueBatchSize",
        "extendedSessionsEnabled", "extendedSessionIdleTimeoutInSeconds",
        "notifications.eventGrid.topicEndpoint", "tracing.traceInputsAndOutputs",
        "tracing.distributedTracingEnabled"}) {
    EXPECT_THAT(info, HasSubstr(noted));
  }
}

TEST(ConfigFileTest, HostJsonUnknownKeysAreWarnedByName) {
  auto f = Parse(R"({"version": "2.0", "extensions": {"durableTask": {
      "hubName": "h", "maxConcurentActivityFunctions": 3,
      "storageProvider": {"partitonCount": 2},
      "tracing": {"traceEverything": true},
      "notifications": {"webhooks": {}}}}})");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Settings(*f), (std::map<std::string, std::string>{{"task-hub", "h"}}));
  const std::string warnings = absl::StrJoin(Notes(*f, FileNote::kWarning), "\n");
  for (const char* name : {"extensions.durableTask.maxConcurentActivityFunctions",
                           "extensions.durableTask.storageProvider.partitonCount",
                           "extensions.durableTask.tracing.traceEverything",
                           "extensions.durableTask.notifications.webhooks"}) {
    EXPECT_THAT(warnings, HasSubstr(name));
  }
}

// Broken on purpose: CheckType accepting any boolean text -> "sometimes" was accepted.
TEST(ConfigFileTest, HostJsonWrongTypesAreErrorsNamingTheKey) {
  struct Case {
    const char* durable_task;
    const char* key;
  };
  for (const Case& c : {
           Case{R"("extendedSessionsEnabled": "sometimes")", "durableTask.extendedSessionsEnabled"},
           Case{R"("extendedSessionIdleTimeoutInSeconds": "long")",
                "durableTask.extendedSessionIdleTimeoutInSeconds"},
           Case{R"("storageProvider": 5)", "durableTask.storageProvider'"},
           Case{R"("hubName": {"a": 1})", "durableTask.hubName"},
           Case{R"("maxConcurrentActivityFunctions": [1])",
                "durableTask.maxConcurrentActivityFunctions"},
           Case{R"("notifications": [1])", "durableTask.notifications'"},
           Case{R"("tracing": {"traceInputsAndOutputs": 3})",
                "durableTask.tracing.traceInputsAndOutputs"},
           Case{R"("storageProvider": {"type": "mssql"})", "storageProvider.type"},
       }) {
    auto f = Parse(absl::StrCat(R"({"version": "2.0", "extensions": {"durableTask": {)",
                                c.durable_task, "}}}"));
    ASSERT_FALSE(f.ok()) << c.durable_task;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr(c.key)) << c.durable_task;
  }
}

TEST(ConfigFileTest, HostJsonHubNameFromAnEnvironmentVariable) {
  constexpr char kText[] =
      R"({"version": "2.0", "extensions": {"durableTask": {"hubName": "%MY_HUB%"}}})";
  auto f = Parse(kText, {{"MY_HUB", "fromenv"}});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Settings(*f)["task-hub"], "fromenv");
  auto missing = Parse(kText);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("MY_HUB"));
  EXPECT_THAT(missing.status().message(), HasSubstr("extensions.durableTask.hubName"));
}

TEST(ConfigFileTest, HostJsonTaskhubSectionWinsOverMappedKeys) {
  auto f = Parse(R"({"version": "2.0",
      "extensions": {"durableTask": {"hubName": "fromhost", "storageProvider": {"partitionCount": 2}}},
      "taskhub": {"task-hub": "own", "store": "rocksdb", "data-dir": "/var/lib/th", "nope": 1}})");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Settings(*f), (std::map<std::string, std::string>{{"partition-count", "2"},
                                                              {"task-hub", "own"},
                                                              {"store", "rocksdb"},
                                                              {"data-dir", "/var/lib/th"}}));
  EXPECT_THAT(absl::StrJoin(Notes(*f, FileNote::kWarning), "\n"), HasSubstr("taskhub.nope"));
}

// Broken on purpose: "events" lists joined with "," -> the second SPEC differed.
TEST(ConfigFileTest, NotificationsSectionJoinsWebhookSpecs) {
  auto f = Parse(R"(
notifications:
  maxAttempts: 5
  webhooks:
    - url=http://a.example/hook,events=Completed
    - url: http://b.example/hook
      events: [Completed, Failed]
      secretFile: /run/secrets/hook
      headers: {X-Team: ops}
  retryForever: true
)");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Settings(*f), (std::map<std::string, std::string>{
                              {"notification-max-attempts", "5"},
                              {"notification-webhook",
                               "url=http://a.example/hook,events=Completed,"
                               "url=http://b.example/hook,events=Completed|Failed,"
                               "secret-file=/run/secrets/hook,header=X-Team:ops"}}));
  auto warnings = Notes(*f, FileNote::kWarning);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("notifications.retryForever"));
}

TEST(ConfigFileTest, EmptyFileIsEmptyConfig) {
  auto f = Parse("");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->settings.empty());
}

// Broken on purpose: IsSecretKey() always false -> fails here and in config_test.
TEST(ConfigFileTest, SecretKeys) {
  for (const char* k :
       {"azure-storage-connection-string", "webhook-secret", "admin-password", "api-token"}) {
    EXPECT_TRUE(IsSecretKey(k)) << k;
  }
  for (const char* k :
       {"azure-storage-connection-string-name", "auth-tokens", "tls-key", "listen", "token-seed"}) {
    EXPECT_FALSE(IsSecretKey(k)) << k;
  }
}

}  // namespace
}  // namespace taskhub::daemon
