// Server: the whole of taskhubd (store, engine, gRPC services) built from a Config.
// Tests build it in-process on 127.0.0.1:0. Start() returns once serving;
// Shutdown() stops accepting, closes worker streams with OK, finishes commits.
// After a store write fails for good, the health service reports NOT_SERVING for ""
// and "TaskHubSidecarService" (the engine refuses writes with the store's error).
// Not thread-safe (call from one thread).
#ifndef TASKHUB_SERVER_DAEMON_SERVER_H_
#define TASKHUB_SERVER_DAEMON_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server.h"
#include "server/api/auth.h"
#include "server/api/sidecar_service.h"
#include "server/daemon/config.h"
#include "server/daemon/stats_file.h"
#include "server/http/http_server.h"
#include "server/storage/azure/azure_backend.h"

namespace taskhub::daemon {

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(const Config& config);
  ~Server();
  int port() const { return port_; }
  // The bound HTTP port (--http-listen), 0 when HTTP is off.
  int http_port() const { return http_ != nullptr ? http_->port() : 0; }
  engine::Engine* engine() { return engine_.get(); }
  void Shutdown(absl::Duration deadline = absl::Seconds(5));
  // Re-reads the --auth-tokens file (SIGHUP); on error the old tokens stay in force.
  absl::Status ReloadAuthTokens();

 private:
  Server() = default;
  std::unique_ptr<auth::Authorizer> authorizer_;  // null without --auth-tokens
  // Called (on the committer thread) once the store has refused a write for good.
  void OnStoreFailure();
  void SetHealthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(health_mu_);

  std::unique_ptr<storage::Backend> backend_;
  storage::AzureBackend* azure_ = nullptr;  // backend_ when --store azure
  std::unique_ptr<StatsFile> stats_file_;   // --storage-stats-file
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<api::SidecarService> service_;
  absl::Mutex health_mu_;  // guards setting grpc_ and the health status
  std::unique_ptr<grpc::Server> grpc_;  // set once in Start(), under health_mu_
  bool store_failed_ ABSL_GUARDED_BY(health_mu_) = false;
  // --http-listen: the routes, then the server using them (destroyed first).
  std::unique_ptr<http::HttpRouter> http_router_;
  std::unique_ptr<http::HttpServer> http_;
  absl::Status StartHttp(const Config& config);
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_SERVER_H_
