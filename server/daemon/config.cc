#include "server/daemon/config.h"

#include <cstdlib>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"

namespace taskhub::daemon {

absl::StatusOr<Config> ParseConfig(int argc, char** argv, int* exit_code) {
  Config c;
  CLI::App app{"taskhubd: a durable task server for the Durable Task sidecar protocol"};
  app.option_defaults()->always_capture_default();
  app.add_option("--listen", c.listen, "Address to serve gRPC on (host:port; port 0 = any)")
      ->envname("TASKHUB_LISTEN");
  app.add_option("--data-dir", c.data_dir, "Directory of the embedded RocksDB store")
      ->envname("TASKHUB_DATA_DIR");
  app.add_option("--task-hub", c.task_hub, "Name of the task hub served")
      ->envname("TASKHUB_TASK_HUB");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical, off")
      ->envname("TASKHUB_LOG_LEVEL");
  app.add_option("--store", c.store,
                 "Storage backend: rocksdb (durable, in --data-dir), azure (durable, an Azure "
                 "Storage account) or memory (tests)")
      ->envname("TASKHUB_STORE")
      ->check(CLI::IsMember({"rocksdb", "memory", "azure"}));
  // No envname here: the value is looked up in two variables below, and CLI11 would
  // print an env-supplied default (the account key) in --help.
  app.add_option("--azure-storage-connection-string", c.azure_connection_string,
                 "--store azure: the storage account's connection string (default: "
                 "$TASKHUB_AZURE_STORAGE_CONNECTION_STRING, then $AzureWebJobsStorage; "
                 "UseDevelopmentStorage=true for Azurite on its default ports)")
      ->always_capture_default(false);
  app.add_option("--partition-count", c.partition_count,
                 "--store azure: partitions of the task hub (1-16), fixed when it is created: "
                 "opening it with another count fails")
      ->envname("TASKHUB_PARTITION_COUNT")
      ->check(CLI::Range(1, 16));
  app.add_option("--azure-owner-id", c.azure_owner_id,
                 "--store azure: identity of this replica for the task hub lease (default: the "
                 "host name); a restart with the same id takes the lease back at once")
      ->envname("TASKHUB_AZURE_OWNER_ID");
  app.add_option("--azure-lease-seconds", c.azure_lease_seconds,
                 "--store azure: duration of the task hub lease (15-60)")
      ->envname("TASKHUB_AZURE_LEASE_SECONDS")
      ->check(CLI::Range(15.0, 60.0));
  app.add_option("--azure-max-retry-seconds", c.azure_max_retry_seconds,
                 "--store azure: how long a write keeps retrying while storage is unreachable "
                 "before it fails (then the store refuses writes until restarted)")
      ->envname("TASKHUB_AZURE_MAX_RETRY_SECONDS")
      ->check(CLI::PositiveNumber);
  app.add_option("--storage-stats-file", c.storage_stats_file,
                 "Rewrite this file every second (and at exit) with the storage transactions "
                 "made so far, by kind, as JSON (--store azure only)")
      ->envname("TASKHUB_STORAGE_STATS_FILE");
  app.add_option("--port-file", c.port_file, "Write the bound port here once serving")
      ->envname("TASKHUB_PORT_FILE");
  app.add_option("--max-payload-bytes", c.engine.max_payload_bytes,
                 "Largest accepted payload (input, output, event data); bigger ones get "
                 "RESOURCE_EXHAUSTED")
      ->envname("TASKHUB_MAX_PAYLOAD_BYTES");
  app.add_option("--max-message-bytes", c.max_message_bytes, "gRPC receive message size limit")
      ->envname("TASKHUB_MAX_MESSAGE_BYTES");
  app.add_option("--tls-cert", c.tls_cert,
                 "PEM certificate (chain) of the server: serve gRPC over TLS (needs --tls-key)")
      ->envname("TASKHUB_TLS_CERT");
  app.add_option("--tls-key", c.tls_key, "PEM private key of --tls-cert")
      ->envname("TASKHUB_TLS_KEY");
  app.add_option("--tls-client-ca", c.tls_client_ca,
                 "PEM CA certificate(s): require client certificates signed by them (mutual TLS)")
      ->envname("TASKHUB_TLS_CLIENT_CA");
  app.add_option("--auth-tokens", c.auth_tokens,
                 "File of bearer tokens and roles (`<token> <role>[,<role>]` per line); every "
                 "call must carry one; re-read on SIGHUP")
      ->envname("TASKHUB_AUTH_TOKENS");
  double orchestration_lease_s = absl::ToDoubleSeconds(c.engine.orchestration_lease);
  double activity_lease_s = 0, abandon_delay_ms = absl::ToDoubleMilliseconds(c.engine.abandon_delay);
  double ping_s = absl::ToDoubleSeconds(c.engine.health_ping_interval);
  double max_wait_s = absl::ToDoubleSeconds(c.engine.max_wait);
  app.add_option("--orchestration-lease-seconds", orchestration_lease_s,
                 "Redeliver an episode not completed within this time")
      ->envname("TASKHUB_ORCHESTRATION_LEASE_SECONDS");
  app.add_option("--activity-lease-seconds", activity_lease_s,
                 "Redeliver an activity not completed within this time even if its worker "
                 "is connected (0 = never)")
      ->envname("TASKHUB_ACTIVITY_LEASE_SECONDS");
  app.add_option("--abandon-delay-ms", abandon_delay_ms,
                 "First redelivery delay after an abandon (doubles each time, max 60 s)")
      ->envname("TASKHUB_ABANDON_DELAY_MS");
  app.add_option("--health-ping-seconds", ping_s, "Interval of health pings on work streams")
      ->envname("TASKHUB_HEALTH_PING_SECONDS");
  app.add_option("--max-wait-seconds", max_wait_s, "Server-side cap of WaitFor* calls")
      ->envname("TASKHUB_MAX_WAIT_SECONDS");
  app.add_option("--max-actions-per-response", c.engine.max_actions_per_response,
                 "Most actions accepted in one orchestrator response (0 = no limit)")
      ->envname("TASKHUB_MAX_ACTIONS_PER_RESPONSE");
  app.add_option("--max-episode-history-bytes", c.engine.max_episode_history_bytes,
                 "Most bytes one orchestrator response may add to the history (0 = no limit)")
      ->envname("TASKHUB_MAX_EPISODE_HISTORY_BYTES");
  double max_purge_s = absl::ToDoubleSeconds(c.engine.max_purge_time);
  app.add_option("--max-purge-seconds", max_purge_s,
                 "Cap of the time one purge-by-filter call runs (isComplete=false after it)")
      ->envname("TASKHUB_MAX_PURGE_SECONDS");
  uint64_t min_free_mb = c.min_free_disk_bytes >> 20;
  app.add_option("--min-free-disk-mb", min_free_mb,
                 "Refuse writes (RESOURCE_EXHAUSTED, then read-only until restarted) when the "
                 "data dir's file system has less free space than this")
      ->envname("TASKHUB_MIN_FREE_DISK_MB");
  app.add_option("--history-cache-events", c.engine.history_cache_events,
                 "Bound of history events cached in memory")
      ->envname("TASKHUB_HISTORY_CACHE_EVENTS");
  app.add_option("--engine-partitions", c.engine.partitions,
                 "Instances are spread over this many engine partitions (1-64), each with its "
                 "own lock; messages between them go through a durable outbox")
      ->envname("TASKHUB_ENGINE_PARTITIONS")
      ->check(CLI::Range(1, 64));
  app.add_option("--entity-max-batch", c.engine.entity_max_batch,
                 "Most operations of one entity sent to a worker in one batch (work item)")
      ->envname("TASKHUB_ENTITY_MAX_BATCH")
      ->check(CLI::Range(1, 10000));
  std::string entity_work_items = c.engine.entity_v1 ? "v1" : "v2";
  app.add_option("--entity-work-items", entity_work_items,
                 "Entity work-item format: v2 (entityRequestV2; PY >= 1.9, JS, Java, .NET) or "
                 "v1 (entityRequest, the older format)")
      ->envname("TASKHUB_ENTITY_WORK_ITEMS")
      ->check(CLI::IsMember({"v1", "v2"}));
  AddHttpFlags(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    *exit_code = app.exit(e, out, err);
    return absl::InvalidArgumentError(out.str() + err.str());
  }
  c.engine.orchestration_lease = absl::Seconds(orchestration_lease_s);
  c.engine.activity_lease = absl::Seconds(activity_lease_s);
  c.engine.abandon_delay = absl::Milliseconds(abandon_delay_ms);
  c.engine.health_ping_interval = absl::Seconds(ping_s);
  c.engine.max_wait = absl::Seconds(max_wait_s);
  c.engine.max_purge_time = absl::Seconds(max_purge_s);
  c.min_free_disk_bytes = min_free_mb << 20;
  c.engine.entity_v1 = entity_work_items == "v1";
  if (!c.azure_connection_string.empty()) {
    c.azure_connection_string_from = "--azure-storage-connection-string";
  }
  for (const char* name : {"TASKHUB_AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage"}) {
    if (!c.azure_connection_string.empty()) break;
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      c.azure_connection_string = v;
      c.azure_connection_string_from = absl::StrCat("$", name);
    }
  }
  if (c.engine.health_ping_interval <= absl::ZeroDuration() ||
      c.engine.orchestration_lease <= absl::ZeroDuration()) {
    *exit_code = 2;
    return absl::InvalidArgumentError(
        "--health-ping-seconds and --orchestration-lease-seconds must be positive\n");
  }
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    *exit_code = 2;
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together\n");
  }
  if (!c.tls_client_ca.empty() && c.tls_cert.empty()) {
    *exit_code = 2;
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key\n");
  }
  if (!c.storage_stats_file.empty() && c.store != "azure") {
    *exit_code = 2;
    return absl::InvalidArgumentError(
        "--storage-stats-file needs --store azure (the only store that counts storage "
        "transactions)\n");
  }
  return c;
}

}  // namespace taskhub::daemon
