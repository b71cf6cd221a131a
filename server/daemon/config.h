// taskhubd configuration: command-line flags, each also readable from a TASKHUB_*
// environment variable (flags win).
#ifndef TASKHUB_SERVER_DAEMON_CONFIG_H_
#define TASKHUB_SERVER_DAEMON_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/engine/engine.h"

namespace CLI {
class App;
}

namespace taskhub::daemon {

struct Config {
  std::string listen = "127.0.0.1:4001";
  std::string data_dir = "./taskhub-data";
  std::string task_hub = "default";
  std::string log_level = "info";
  std::string store = "rocksdb";  // rocksdb | memory | azure
  std::string port_file;          // written with the bound port once serving
  size_t max_message_bytes = 256 << 20;
  // Security (README "Authentication and TLS"): empty = off.
  std::string tls_cert;       // PEM server certificate chain; with tls_key: gRPC over TLS
  std::string tls_key;        // PEM private key of tls_cert
  std::string tls_client_ca;  // PEM CA(s): require and verify client certificates (mTLS)
  std::string auth_tokens;    // token file (server/api/auth.h); reloaded on SIGHUP
  uint64_t min_free_disk_bytes = uint64_t{128} << 20;  // refuse writes below this
  // --store azure (server/storage/azure/azure_backend.h). The connection string holds
  // the account key: never log or print it.
  std::string azure_connection_string;
  std::string azure_connection_string_from;  // the flag or variable it came from
  int partition_count = 4;          // 1..16, fixed once the task hub exists
  std::string azure_owner_id;       // lease identity; empty: the host name
  double azure_lease_seconds = 30;  // 15..60
  double azure_max_retry_seconds = 120;
  // Rewritten (atomically) with the storage transaction counts as JSON every second
  // and at exit; only for a store that counts them (azure).
  std::string storage_stats_file;
  engine::EngineOptions engine;
  // HTTP (server/daemon/config_http.cc): empty http_listen = no HTTP server.
  std::string http_listen;
  std::string http_public_base_url;
  std::string http_port_file;  // written with the bound HTTP port once serving
};

// Parses argv (and the environment). Returns the config, or an error whose message
// is the help text / usage error; `*exit_code` tells main() what to return then.
// Adds the --http-* flags (config_http.cc).
void AddHttpFlags(CLI::App& app, Config& c);

absl::StatusOr<Config> ParseConfig(int argc, char** argv, int* exit_code);

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_CONFIG_H_
