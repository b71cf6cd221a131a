// taskhub-bench: a load generator for any server of the Durable Task sidecar
// protocol. It runs its own C++ SDK worker and client; without --address it starts
// a local taskhubd on a temporary data directory (durability on: WAL synced).
//
//   taskhub-bench                         # every scenario, full sizes
//   taskhub-bench --scenario hello-seq,latency --json
//   taskhub-bench --quick                 # small sizes: a smoke run of everything
//   taskhub-bench --store azure           # taskhubd over Azure Storage (Azurite unless
//                                         # a connection string is given)
#include <unistd.h>

#include <cstdlib>
#include <random>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/scenarios.h"
#include "server/storage/azure/testing/azurite.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace {

using taskhub::bench::BenchConfig;
using taskhub::bench::Figure;

std::filesystem::path SelfDir(const char* argv0) {
  std::error_code ec;
  auto self = std::filesystem::canonical("/proc/self/exe", ec);
  if (ec) self = argv0;
  return self.parent_path();
}

std::string DefaultServerBinary(const char* argv0) {
  return (SelfDir(argv0) / "taskhubd").string();
}

// build/bin/taskhub-bench -> build/azurite/node_modules/.bin/azurite (tools/azurite.sh).
std::string DefaultAzurite(const char* argv0) {
  return (SelfDir(argv0).parent_path() / "azurite" / "node_modules" / ".bin" / "azurite").string();
}

void PrintTable(const std::vector<Figure>& figures) {
  std::cout << std::left << std::setw(18) << "scenario" << std::setw(34) << "metric"
            << std::right << std::setw(14) << "value" << "  unit\n";
  for (const auto& f : figures) {
    std::cout << std::left << std::setw(18) << f.scenario << std::setw(34) << f.metric
              << std::right << std::setw(14) << std::fixed << std::setprecision(2) << f.value
              << "  " << f.unit << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  BenchConfig c;
  std::string scenarios = "all", server_binary = DefaultServerBinary(argv[0]);
  bool quick = false, json = false;
  std::vector<std::string> server_args;
  CLI::App app{"taskhub-bench: load generator for Durable Task sidecar servers"};
  app.add_option("--address", c.address, "Server to measure (default: start a local taskhubd)");
  std::string token, tls_ca;
  app.add_option("--token", token,
                 "Bearer token (roles worker,client) for a server run with --auth-tokens")
      ->envname("TASKHUB_TOKEN");
  app.add_option("--tls-ca", tls_ca, "CA certificate (PEM) of a TLS server; implies TLS")
      ->envname("TASKHUB_TLS_CA");
  app.add_option("--taskhubd", server_binary, "taskhubd binary to start when --address is absent");
  app.add_option("--server-arg", server_args, "Extra argument for the started taskhubd");
  std::string store, connection_string, azurite_binary = DefaultAzurite(argv[0]);
  app.add_option("--store", store,
                 "Store of the started taskhubd: rocksdb (its default), memory or azure (then "
                 "storage transactions per hello-seq orchestration and per idle minute are "
                 "reported)")
      ->check(CLI::IsMember({"rocksdb", "memory", "azure"}));
  app.add_option("--azure-storage-connection-string", connection_string,
                 "--store azure: the storage account (default: "
                 "$TASKHUB_AZURE_STORAGE_CONNECTION_STRING, then $AzureWebJobsStorage, else an "
                 "Azurite started for the run); every run makes a new task hub benchXXXXXXXX");
  app.add_option("--azurite", azurite_binary, "--store azure: the azurite executable to start");
  app.add_option("--scenario", scenarios,
                 "Comma list of hello-seq, fan-out, sequential, latency, timers, idle, memory, "
                 "entities; or all (all of these); large (1M finished instances: run it alone, "
                 "not part of all)");
  app.add_flag("--quick", quick, "Small sizes and short windows (a smoke run)");
  app.add_flag("--json", json, "Print figures as JSON");
  app.add_option("--concurrency", c.concurrency, "Worker concurrency per kind");
  app.add_option("--clients", c.clients, "Client threads starting instances");
  app.add_option("--hello-n", c.hello_n, "hello-seq: orchestrations");
  app.add_option("--idle-seconds", c.idle_seconds, "idle: measuring window");
  app.add_option("--entity-signals", c.entity_signals, "entities: signals per run");
  app.add_option("--entity-keys", c.entity_keys, "entities: entities of the spread run");
  app.add_option("--large-n", c.large_n, "large: finished instances");
  app.add_option("--large-live", c.large_live, "large: running instances kept through the purge");
  app.add_option("--large-small", c.large_small, "large --large-check: the small reference hub");
  app.add_flag("--large-check", c.large_check,
               "large: check counts exactly and that the per-instance purge time of large-n is "
               "under --large-max-ratio times that of large-small (a CI test)");
  app.add_option("--large-max-ratio", c.large_max_ratio,
                 "large --large-check: bound of the per-instance purge time ratio");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  // Lock-order cycle detection (on in this Abseil build) costs on every gRPC lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (quick) {
    c.hello_n = 100;
    c.fan_out_small = 50;
    c.fan_out_large = 200;
    c.sequential_k = 50;
    c.latency_runs = 10;
    c.timer_n = 20;
    c.idle_instances = 50;
    c.idle_seconds = 1;
    c.memory_completed = 200;
    c.memory_running = 50;
    c.entity_signals = 200;
    c.entity_keys = 20;
  }
  std::unique_ptr<taskhub::azure::testing::Azurite> azurite;
  std::vector<std::pair<std::string, std::string>> server_env;
  if (store == "azure" && c.address.empty()) {
    for (const char* name : {"TASKHUB_AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage"}) {
      if (const char* v = std::getenv(name); connection_string.empty() && v != nullptr) {
        connection_string = v;
      }
    }
    if (connection_string.empty()) {
      auto started = taskhub::azure::testing::Azurite::Start({.location = "", .binary = azurite_binary});
      if (!started.ok()) {
        std::cerr << "error: " << started.status().message() << "\n";
        return 1;
      }
      azurite = std::move(*started);
      connection_string = azurite->ConnectionString();
    }
    // A fresh task hub per run (names: letters and digits).
    const std::string hub = absl::StrCat("bench", absl::Hex(std::random_device{}(), absl::kZeroPad8));
    server_args.insert(server_args.begin(), {"--store", "azure", "--task-hub", hub});
    server_env.emplace_back("TASKHUB_AZURE_STORAGE_CONNECTION_STRING", connection_string);
  } else if (!store.empty()) {
    server_args.insert(server_args.begin(), {"--store", store});
  }
  std::optional<taskhub::bench::ServerProcess> server;
  if (c.address.empty()) {
    auto started = taskhub::bench::ServerProcess::Start(server_binary, server_args, server_env,
                                                         /*storage_stats=*/store == "azure");
    if (!started.ok()) {
      std::cerr << "error: " << started.status().message() << "\n";
      return 1;
    }
    server.emplace(std::move(*started));
    c.address = server->address();
    c.server = &*server;
  }
  taskhub::TlsOptions tls;
  if (!tls_ca.empty()) {
    auto pem = taskhub::ReadFile(tls_ca);
    if (!pem.ok()) {
      std::cerr << "error: --tls-ca: " << pem.status().message() << "\n";
      return 2;
    }
    tls.root_certs_pem = *pem;
  }
  taskhub::WorkerOptions wo;
  wo.address = c.address;
  wo.token = token;
  wo.tls = tls;
  wo.max_concurrent_orchestrations = c.concurrency;
  wo.max_concurrent_activities = c.concurrency;
  wo.max_concurrent_entities = c.concurrency;
  taskhub::Worker worker(taskhub::bench::BenchRegistry(), wo);
  if (auto st = worker.Start(); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return 1;
  }
  auto client = taskhub::Client::Connect(
      {.address = c.address, .rpc_timeout = absl::Seconds(60), .token = token, .tls = tls});
  if (!client.ok()) {
    std::cerr << "error: " << client.status().message() << "\n";
    return 1;
  }
  using Fn = absl::Status (*)(const BenchConfig&, taskhub::Client&, std::vector<Figure>*);
  const std::vector<std::pair<std::string, Fn>> all = {
      {"hello-seq", taskhub::bench::HelloSeq}, {"fan-out", taskhub::bench::FanOut},
      {"sequential", taskhub::bench::Sequential}, {"latency", taskhub::bench::Latency},
      {"timers", taskhub::bench::Timers}, {"idle", taskhub::bench::Idle},
      {"memory", taskhub::bench::Memory}, {"entities", taskhub::bench::Entities},
      {"large", taskhub::bench::Large}};
  std::vector<std::string> wanted = absl::StrSplit(scenarios, ',');
  std::vector<Figure> figures;
  int rc = 0;
  for (const auto& [name, fn] : all) {
    const bool named = std::find(wanted.begin(), wanted.end(), name) != wanted.end();
    if (scenarios == "all" ? name == "large" : !named) continue;
    if (!json) std::cerr << "running " << name << "...\n";
    if (absl::Status st = fn(c, **client, &figures); !st.ok()) {
      std::cerr << "scenario " << name << " failed: " << st << "\n";
      rc = 1;
    }
  }
  worker.Stop();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : figures) {
      out.push_back({{"scenario", f.scenario}, {"metric", f.metric}, {"value", f.value},
                     {"unit", f.unit}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    PrintTable(figures);
  }
  return rc;
}
