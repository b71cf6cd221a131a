#include "server/daemon/server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "server/api/authorized_service.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/daemon/security.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/rocksdb/rocksdb_backend.h"

namespace taskhub::daemon {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const Config& config) {
  auto log = Logger("daemon");
  // Security first: a bad --tls-*/--auth-tokens file stops start-up before anything opens.
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                   ServerCredentialsFor(config));
  ASSIGN_OR_RETURN(std::unique_ptr<auth::Authorizer> authorizer, AuthorizerFor(config));
  std::unique_ptr<Server> s(new Server());
  s->authorizer_ = std::move(authorizer);
  if (config.store == "memory") {
    s->backend_ = std::make_unique<storage::MemoryBackend>();
  } else {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create --data-dir ", config.data_dir, ": ", ec.message()));
    }
    storage::RocksDbOptions opts;
    opts.path = config.data_dir;
    ASSIGN_OR_RETURN(s->backend_, storage::OpenRocksDbBackend(opts));
  }
  ASSIGN_OR_RETURN(s->engine_, engine::Engine::Create(s->backend_.get(), Clock::Real(),
                                                      IdGenerator::Random(), config.engine));
  s->service_ = s->authorizer_ ? api::NewAuthorizedSidecarService(s->engine_.get(),
                                                                   s->authorizer_.get())
                               : std::make_unique<api::SidecarService>(s->engine_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, credentials, &s->port_);
  builder.RegisterService(s->service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(config.max_message_bytes, std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(-1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  s->grpc_ = builder.BuildAndStart();
  if (s->grpc_ == nullptr || s->port_ == 0) {
    s->engine_->Stop();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  if (auto* health = s->grpc_->GetHealthCheckService()) {
    health->SetServingStatus("TaskHubSidecarService", true);
  }
  log->info("taskhubd serving task hub '{}' on port {} (store: {}, data dir: {})",
            config.task_hub, s->port_, config.store, config.data_dir);
  LogSecurity(config);
  return s;
}

absl::Status Server::ReloadAuthTokens() {
  if (authorizer_ == nullptr) {
    Logger("daemon")->info("SIGHUP: no --auth-tokens file to reload");
    return absl::OkStatus();
  }
  return authorizer_->Reload();
}

void Server::Shutdown(absl::Duration deadline) {
  if (stopped_) return;
  stopped_ = true;
  if (auto* health = grpc_->GetHealthCheckService()) health->Shutdown();
  engine_->BeginShutdown();  // closes worker streams with OK, releases waiters
  grpc_->Shutdown(std::chrono::system_clock::now() +
                  std::chrono::milliseconds(absl::ToInt64Milliseconds(deadline)));
  engine_->Stop();  // finishes queued commits
  Logger("daemon")->info("taskhubd stopped");
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

}  // namespace taskhub::daemon
