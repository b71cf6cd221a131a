// ParseConfig with the real CLI11 flags: the --config file applied under flags and
// environment variables (precedence flags > environment > file > defaults), values
// checked by their flags with errors naming the file's key, host.json caps reaching
// the engine options, the connection string's sources, and --print-config.
#include "server/daemon/config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace taskhub::daemon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sets environment variables for one test and restores them after it.
class ScopedEnv {
 public:
  ~ScopedEnv() {
    for (const auto& [name, old] : saved_) {
      if (old) {
        setenv(name.c_str(), old->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  void Set(const std::string& name, const std::string& value) {
    Save(name);
    setenv(name.c_str(), value.c_str(), 1);
  }
  void Unset(const std::string& name) {
    Save(name);
    unsetenv(name.c_str());
  }

 private:
  void Save(const std::string& name) {
    if (saved_.count(name)) return;
    const char* v = std::getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"TASKHUB_TASK_HUB", "TASKHUB_LOG_LEVEL", "TASKHUB_CONFIG",
                          "TASKHUB_ENGINE_PARTITIONS", "TASKHUB_AZURE_STORAGE_CONNECTION_STRING",
                          "AzureWebJobsStorage", "TASKHUB_MAX_CONCURRENT_ACTIVITIES"}) {
      env_.Unset(v);
    }
  }
  std::string File(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  absl::StatusOr<Config> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "taskhubd");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    exit_code_ = -1;
    return ParseConfig(static_cast<int>(argv.size()), argv.data(), &exit_code_);
  }
  // "key: value" lines of --print-config, without the origin comments.
  static std::map<std::string, std::string> Values(const std::string& printed) {
    std::map<std::string, std::string> out;
    for (absl::string_view line : absl::StrSplit(printed, '\n')) {
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits(": ", 1));
      out[kv[0]] = kv[1].substr(0, kv[1].rfind("  # "));
    }
    return out;
  }
  ScopedEnv env_;
  int exit_code_ = -1;
};

// Broken on purpose: ParseArgsEnvAndFile applying a file value over a set option
// (the `o->count() > 0` check removed) -> the file beat the flag and the variable.
TEST_F(ConfigTest, FlagsBeatEnvironmentBeatsFileBeatsDefault) {
  const std::string file = File("prec.yaml", "task-hub: from-file\nlog-level: warn\n");
  auto defaults = Parse({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->task_hub, "default");

  auto from_file = Parse({"--config", file});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->task_hub, "from-file");
  EXPECT_EQ(from_file->log_level, "warn");

  env_.Set("TASKHUB_TASK_HUB", "from-env");
  auto from_env = Parse({"--config", file});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->task_hub, "from-env");
  EXPECT_EQ(from_env->log_level, "warn");  // the file still gives the rest

  auto from_flag = Parse({"--config", file, "--task-hub", "from-flag"});
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->task_hub, "from-flag");
  EXPECT_EQ(from_flag->log_level, "warn");

  // The file named by the environment.
  env_.Set("TASKHUB_CONFIG", file);
  env_.Unset("TASKHUB_TASK_HUB");
  auto by_env = Parse({});
  ASSERT_TRUE(by_env.ok()) << by_env.status();
  EXPECT_EQ(by_env->task_hub, "from-file");
}

TEST_F(ConfigTest, FileValuesAreConvertedAndCheckedByTheirFlags) {
  auto ok = Parse({"--config", File("good.yaml",
                                    "engine-partitions: 8\nmax-wait-seconds: 2.5\n"
                                    "entity-work-items: v1\nazure:\n  lease-seconds: 20\n")});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->engine.partitions, 8);
  EXPECT_EQ(ok->engine.max_wait, absl::Milliseconds(2500));  // post-processed like the flag
  EXPECT_TRUE(ok->engine.entity_v1);
  EXPECT_EQ(ok->azure_lease_seconds, 20);
  for (const auto& [text, key] : std::vector<std::pair<std::string, std::string>>{
           {"engine-partitions: lots\n", "'engine-partitions'"},
           {"engine-partitions: 65\n", "'engine-partitions'"},
           {"store: sqlite\n", "'store'"},
           {"azure:\n  lease-seconds: [20, 30]\n", "'azure.lease-seconds'"},
           {"listen: {a: b}\n", "'listen'"}}) {
    auto bad = Parse({"--config", File("bad.yaml", text)});
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(exit_code_, 2);
    EXPECT_THAT(bad.status().message(), HasSubstr("cannot start: --config "));
    EXPECT_THAT(bad.status().message(), HasSubstr(key));
  }
  auto missing = Parse({"--config", "/nonexistent/taskhub.yaml"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(exit_code_, 2);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/taskhub.yaml: cannot read"));
}

TEST_F(ConfigTest, UnknownKeysAreNotedNotFatal) {
  auto c = Parse({"--config", File("unknown.yaml", "lisen: 1.2.3.4:5\n")});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->config_notes.size(), 1u);
  EXPECT_EQ(c->config_notes[0].level, FileNote::kWarning);
  EXPECT_THAT(c->config_notes[0].text, HasSubstr("lisen"));
}

// Broken on purpose: "maxConcurrentActivityFunctions" mapped to no flag -> the cap
// stayed 0.
TEST_F(ConfigTest, HostJsonReachesTheEngineAndTheStore) {
  env_.Set("MyStorage", "UseDevelopmentStorage=true");
  auto c = Parse({"--config", File("host.json", R"({"version": "2.0",
      "extensions": {"durableTask": {"hubName": "MyHub",
        "storageProvider": {"type": "AzureStorage", "connectionStringName": "MyStorage",
                            "partitionCount": 6},
        "maxConcurrentActivityFunctions": 7, "maxConcurrentOrchestratorFunctions": 3,
        "maxConcurrentEntityFunctions": 2}}})")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->task_hub, "MyHub");
  EXPECT_EQ(c->store, "azure");
  EXPECT_EQ(c->partition_count, 6);
  EXPECT_EQ(c->engine.max_concurrent_activities, 7);
  EXPECT_EQ(c->engine.max_concurrent_orchestrations, 3);
  EXPECT_EQ(c->engine.max_concurrent_entities, 2);
  EXPECT_EQ(c->azure_connection_string, "UseDevelopmentStorage=true");
  EXPECT_EQ(c->azure_connection_string_from, "$MyStorage");

  auto bad = Parse({"--config", File("bad-host.json", R"({"version": "2.0",
      "extensions": {"durableTask": {"storageProvider": {"partitionCount": 40}}}})")});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(exit_code_, 2);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("'extensions.durableTask.storageProvider.partitionCount'"));
}

// Broken on purpose: the file's connection string taken before
// $TASKHUB_AZURE_STORAGE_CONNECTION_STRING -> the environment lost to the file.
TEST_F(ConfigTest, ConnectionStringSources) {
  env_.Set("Named", "named-var");
  const std::string file = File("cs.yaml",
                                "azure-storage-connection-string: from-file\n"
                                "azure-storage-connection-string-name: Named\n");
  const std::string named = File("cs-named.yaml", "azure-storage-connection-string-name: Named\n");
  auto c = Parse({"--config", named});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->azure_connection_string, "named-var");
  c = Parse({"--config", file});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->azure_connection_string, "from-file");
  EXPECT_THAT(c->azure_connection_string_from, HasSubstr("cs.yaml"));
  env_.Set("TASKHUB_AZURE_STORAGE_CONNECTION_STRING", "from-env");
  c = Parse({"--config", file});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->azure_connection_string, "from-env");
  c = Parse({"--config", file, "--azure-storage-connection-string", "from-flag"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->azure_connection_string, "from-flag");
  EXPECT_EQ(c->azure_connection_string_from, "--azure-storage-connection-string");
}

// Broken on purpose: IsSecretKey() always false -> the account key was printed.
TEST_F(ConfigTest, PrintConfigMasksSecretsAndNamesOrigins) {
  env_.Set("TASKHUB_AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=SECRET");
  env_.Set("TASKHUB_ENGINE_PARTITIONS", "4");
  auto c = Parse({"--config", File("p.yaml", "task-hub: filehub\nlog-level: debug\n"),
                  "--log-level", "warn", "--print-config"});
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string& out = c->effective_config;
  EXPECT_THAT(out, Not(HasSubstr("SECRET")));
  EXPECT_THAT(out, HasSubstr("azure-storage-connection-string: \"********\"  # environment "
                             "$TASKHUB_AZURE_STORAGE_CONNECTION_STRING\n"));
  EXPECT_THAT(out, HasSubstr("task-hub: \"filehub\"  # config file task-hub\n"));
  EXPECT_THAT(out, HasSubstr("log-level: \"warn\"  # flag\n"));
  EXPECT_THAT(out, HasSubstr("engine-partitions: 4  # environment $TASKHUB_ENGINE_PARTITIONS\n"));
  EXPECT_THAT(out, HasSubstr("listen: \"127.0.0.1:4001\"  # default\n"));
  for (const char* hidden : {"config:", "print-config:", "version:", "help:"}) {
    EXPECT_THAT(out, Not(HasSubstr(std::string("\n") + hidden)));
  }
}

// A webhook's inline secret and header values are credentials: masked, the rest readable.
TEST_F(ConfigTest, PrintConfigMasksWebhookSecretsAndHeaders) {
  auto c = Parse({"--notification-webhook",
                  "url=http://hooks.local/x,secret=hunter2,header=Authorization:Bearer abc,"
                  "events=Completed",
                  "--print-config"});
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string& out = c->effective_config;
  EXPECT_THAT(out, Not(HasSubstr("hunter2")));
  EXPECT_THAT(out, Not(HasSubstr("Bearer abc")));
  EXPECT_THAT(out, HasSubstr("notification-webhook: [\"url=http://hooks.local/x,secret=********,"
                             "header=Authorization:********,events=Completed\"]  # flag\n"));
}

// Every key --print-config shows is read back by --config to the same value.
TEST_F(ConfigTest, PrintedConfigReadsBack) {
  auto first = Parse({"--task-hub", "round \"trip\" #1", "--engine-partitions", "3",
                      "--max-wait-seconds", "1.5", "--store", "memory", "--print-config"});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second =
      Parse({"--config", File("printed.yaml", first->effective_config), "--print-config"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->config_notes.empty()) << second->config_notes[0].text;
  EXPECT_EQ(second->task_hub, "round \"trip\" #1");
  EXPECT_EQ(Values(first->effective_config), Values(second->effective_config));
  EXPECT_GT(Values(first->effective_config).size(), 30u);
}

TEST_F(ConfigTest, VersionAndHelpExitZero) {
  auto v = Parse({"--version"});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(exit_code_, 0);
  EXPECT_THAT(v.status().message(), HasSubstr("taskhubd "));
  EXPECT_THAT(v.status().message(), HasSubstr("(commit "));
}

TEST_F(ConfigTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--engine-partitions", "many"},
                                             {"--no-such-flag"},
                                             {"--retention", "completed=forever"}}) {
    auto c = Parse(args);
    ASSERT_FALSE(c.ok()) << args[0];
    EXPECT_EQ(exit_code_, 2) << args[0] << ": " << c.status().message();
  }
}

}  // namespace
}  // namespace taskhub::daemon
