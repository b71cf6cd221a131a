#include "server/daemon/server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "server/api/authorized_service.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/daemon/build_info.h"
#include "server/daemon/security.h"
#include "server/http/management_api.h"
#ifdef TASKHUB_HAVE_DASHBOARD
#include "server/http/dashboard.h"
#endif
#ifdef TASKHUB_HAVE_METRICS
#include "server/metrics/observability.h"
#endif
#include "server/storage/azure/azure_backend.h"
#include "server/storage/memory/memory_backend.h"
#include "server/storage/rocksdb/rocksdb_backend.h"

namespace taskhub::daemon {
namespace {

// A usable --data-dir: an existing directory, or one we can create.
absl::Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  const auto st = std::filesystem::status(dir, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--data-dir ", dir, " exists and is not a directory; point --data-dir at a directory"));
  }
  ec.clear();
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create --data-dir ", dir, ": ", ec.message(),
                     "; check the path and its permissions"));
  }
  return absl::OkStatus();
}

// --store azure: checks what can be checked without storage (each error names the
// flag to fix), then opens (creating if needed) the task hub.
absl::StatusOr<std::unique_ptr<storage::AzureBackend>> OpenAzure(const Config& config) {
  if (config.azure_connection_string.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--store azure needs a storage account: pass "
                     "--azure-storage-connection-string or set "
                     "$TASKHUB_AZURE_STORAGE_CONNECTION_STRING (or $",
                     config.azure_connection_string_name,
                     ", see --azure-storage-connection-string-name); "
                     "UseDevelopmentStorage=true means Azurite on its default ports"));
  }
  if (absl::Status st = storage::ValidateAzureTaskHubName(config.task_hub); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--task-hub: ", st.message()));
  }
  if (auto account = azure::ParseConnectionString(config.azure_connection_string); !account.ok()) {
    return absl::Status(account.status().code(),
                        absl::StrCat(config.azure_connection_string_from, ": ",
                                     account.status().message()));
  }
  storage::AzureBackendOptions opts;
  opts.connection_string = config.azure_connection_string;
  opts.task_hub = config.task_hub;
  opts.partition_count = config.partition_count;
  opts.owner_id = config.azure_owner_id;
  opts.lease_duration = absl::Seconds(config.azure_lease_seconds);
  opts.max_retry_time = absl::Seconds(config.azure_max_retry_seconds);
  return storage::OpenAzureBackend(opts);
}

// The one start-up line saying what runs: build, store, partitions, addresses.
void LogBuildInfo(const Config& config, int port, int http_port, int store_partitions) {
  const size_t colon = config.listen.rfind(':');
  std::vector<std::string> listening = {
      absl::StrCat("grpc ", config.listen.substr(0, colon), ":", port)};
  if (http_port != 0) {
    const size_t http_colon = config.http_listen.rfind(':');
    listening.push_back(
        absl::StrCat("http ", config.http_listen.substr(0, http_colon), ":", http_port));
  }
  std::string store = config.store;
  if (store_partitions > 0) absl::StrAppend(&store, " (", store_partitions, " partitions)");
  if (config.store == "rocksdb") absl::StrAppend(&store, " (data dir ", config.data_dir, ")");
  Logger("daemon")->info("build info: {}; store {}; engine partitions {}; listening on {}",
                         VersionString(), store, config.engine.partitions,
                         absl::StrJoin(listening, ", "));
}

// Lifecycle notifications: the webhooks of --notification-webhook (a notifier with
// none still lists and retries dead-lettered rows of an earlier configuration).
absl::StatusOr<std::unique_ptr<notify::Notifier>> MakeNotifier(const Config& config) {
  const NotificationConfig& c = config.notifications;
  notify::NotifierOptions o;
  for (const std::string& spec : c.webhooks) {
    ASSIGN_OR_RETURN(notify::Webhook w, notify::ParseWebhookSpec(spec));
    Logger("notify")->info("lifecycle notifications to {} (events: {}, {})", w.url,
                           w.events.empty() ? "all" : absl::StrJoin(w.events, "|"),
                           w.secret.empty() ? "unsigned" : "HMAC-SHA256 signed");
    o.webhooks.push_back(std::move(w));
  }
  o.source = absl::StrCat("taskhubd/", config.task_hub);
  o.max_attempts = c.max_attempts;
  o.max_age = absl::Seconds(c.max_age_s);
  o.initial_backoff = absl::Milliseconds(c.initial_backoff_ms);
  o.max_backoff = absl::Seconds(c.max_backoff_s);
  o.request_timeout = absl::Seconds(c.timeout_s);
  return std::make_unique<notify::Notifier>(std::move(o), azure::MakeCurlTransport(),
                                            IdGenerator::Random());
}

}  // namespace

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
  } else if (config.store == "azure") {
    ASSIGN_OR_RETURN(std::unique_ptr<storage::AzureBackend> azure, OpenAzure(config));
    s->azure_ = azure.get();
    s->backend_ = std::move(azure);
    if (!config.storage_stats_file.empty()) {
      ASSIGN_OR_RETURN(s->stats_file_,
                       StatsFile::Start(config.storage_stats_file,
                                        [azure = s->azure_] { return azure->Counts().ToJson(); }));
    }
  } else {
    RETURN_IF_ERROR(PrepareDataDir(config.data_dir));
    storage::RocksDbOptions opts;
    opts.path = config.data_dir;
    opts.min_free_disk_bytes = config.min_free_disk_bytes;
    ASSIGN_OR_RETURN(s->backend_, storage::OpenRocksDbBackend(opts));
  }
  ASSIGN_OR_RETURN(s->notifier_, MakeNotifier(config));
  engine::EngineOptions engine_options = config.engine;
  engine_options.lifecycle_sink = s->notifier_.get();
  engine_options.on_store_failure = [srv = s.get()](const absl::Status&) { srv->OnStoreFailure(); };
  ASSIGN_OR_RETURN(s->engine_, engine::Engine::Create(s->backend_.get(), Clock::Real(),
                                                      IdGenerator::Random(), engine_options));
  s->service_ = s->authorizer_ ? api::NewAuthorizedSidecarService(s->engine_.get(),
                                                                   s->authorizer_.get())
                               : std::make_unique<api::SidecarService>(s->engine_.get());
  s->admin_ = std::make_unique<api::AdminService>(s->notifier_.get(), s->authorizer_.get());
  s->notifier_->Start(
      [engine = s->engine_.get()](storage::WriteSet ws, std::function<void(absl::Status)> done) {
        engine->CommitNotificationRows(std::move(ws), std::move(done));
      });

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, credentials, &s->port_);
  builder.RegisterService(s->service_.get());
  builder.RegisterService(s->admin_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(config.max_message_bytes, std::numeric_limits<int>::max())));
  builder.SetMaxSendMessageSize(-1);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // gRPC sets SO_REUSEPORT by default: a second server on the same port would start
  // and the kernel would split clients between the two.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  auto grpc = builder.BuildAndStart();
  if (grpc == nullptr || s->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on --listen ", config.listen,
        " (address in use or not local?); stop the process using it or choose another address"));
  }
  {
    absl::MutexLock l(&s->health_mu_);
    s->grpc_ = std::move(grpc);
    s->SetHealthLocked();
  }
  if (s->azure_ != nullptr) {
    log->info("taskhubd serving task hub '{}' on port {} (store: azure, {} partitions)",
              config.task_hub, s->port_, s->azure_->partition_count());
  } else {
    log->info("taskhubd serving task hub '{}' on port {} (store: {}, data dir: {})",
              config.task_hub, s->port_, config.store, config.data_dir);
  }
  LogSecurity(config);
  RETURN_IF_ERROR(s->StartHttp(config));
  LogBuildInfo(config, s->port_, s->http_port(),
               s->azure_ != nullptr ? s->azure_->partition_count() : 0);
  return s;
}

absl::Status Server::StartHttp(const Config& config) {
  if (config.http_listen.empty()) return absl::OkStatus();
  http_router_ = std::make_unique<http::HttpRouter>();
  http::ManagementApiOptions api;
  api.public_base_url = config.http_public_base_url;
  api.authorizer = authorizer_.get();
  api.max_wait = std::min(api.max_wait, config.engine.max_wait);
  api.max_payload_bytes = config.engine.max_payload_bytes;
  http::RegisterManagementApi(http_router_.get(), engine_.get(), api);
#ifdef TASKHUB_HAVE_DASHBOARD
  http::RegisterDashboard(http_router_.get());
#endif
#ifdef TASKHUB_HAVE_METRICS
  metrics::ObservabilitySources sources;
  sources.engine = engine_.get();
  sources.backend = backend_.get();
  sources.authorizer = authorizer_.get();
  sources.ready = [this] {
    absl::MutexLock l(&health_mu_);
    return !store_failed_;
  };
  if (notifier_ != nullptr) {
    sources.notifications = [n = notifier_.get()] {
      const notify::Notifier::Counts c = n->Stats();
      return metrics::NotificationStats{c.delivered, c.failed_attempts, c.dead_lettered,
                                        c.pending, c.dead};
    };
  }
  metrics::RegisterObservabilityRoutes(http_router_.get(), std::move(sources));
#endif
  http::HttpServerOptions opts;
  opts.listen = config.http_listen;
  opts.tls_cert = config.tls_cert;
  opts.tls_key = config.tls_key;
  opts.tls_client_ca = config.tls_client_ca;
  // A body holds one payload (input, event data) and some JSON around it.
  opts.max_body_bytes = config.engine.max_payload_bytes + (1 << 20);
  auto server = http::HttpServer::Start(opts, http_router_.get());
  if (!server.ok()) {
    return absl::Status(server.status().code(),
                        absl::StrCat("--http-listen: ", server.status().message()));
  }
  http_ = std::move(*server);
  Logger("daemon")->info(
      "HTTP management API on port {} ({}; bearer tokens: {})", http_->port(),
      config.tls_cert.empty() ? "plaintext" : "TLS", authorizer_ ? "required" : "off");
  return absl::OkStatus();
}

absl::Status Server::ReloadAuthTokens() {
  if (authorizer_ == nullptr) {
    Logger("daemon")->info("SIGHUP: no --auth-tokens file to reload");
    return absl::OkStatus();
  }
  return authorizer_->Reload();
}

void Server::OnStoreFailure() {
  absl::MutexLock l(&health_mu_);
  store_failed_ = true;
  SetHealthLocked();
}

void Server::SetHealthLocked() {
  if (grpc_ == nullptr) return;
  auto* health = grpc_->GetHealthCheckService();
  if (health == nullptr) return;
  // The store refuses writes for good after a failed write: say so to probes (the
  // overall "" status and the service's), so that a supervisor can restart us.
  health->SetServingStatus(!store_failed_);
  health->SetServingStatus("TaskHubSidecarService", !store_failed_);
}

void Server::Shutdown(absl::Duration deadline) {
  // Start() may have failed half-way: any of engine_ and grpc_ may be missing.
  if (stopped_) return;
  stopped_ = true;
  grpc::Server* grpc = nullptr;
  {
    absl::MutexLock l(&health_mu_);
    grpc = grpc_.get();
  }
  if (grpc != nullptr) {
    if (auto* health = grpc->GetHealthCheckService()) health->Shutdown();
  }
  // HTTP first: stops accepting; requests still waiting get 503.
  if (http_ != nullptr) http_->Shutdown();
  if (engine_ != nullptr) engine_->BeginShutdown();  // closes worker streams, releases waiters
  if (grpc != nullptr) {
    grpc->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(absl::ToInt64Milliseconds(deadline)));
  }
  if (notifier_ != nullptr) notifier_->Stop();  // a POST in progress ends first
  if (engine_ != nullptr) engine_->Stop();  // finishes queued commits
  if (stats_file_ != nullptr) stats_file_->Stop();  // the final counts
  if (azure_ != nullptr) {
    Logger("daemon")->info("storage transactions: {}", azure_->Counts().ToString());
  }
  if (grpc != nullptr) Logger("daemon")->info("taskhubd stopped");
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

}  // namespace taskhub::daemon
