// notifications failed, notifications retry: the dead-letter list of lifecycle
// notifications, through taskhubd's admin service (proto/taskhub_admin.proto).
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "proto/grpc_status.h"
#include "taskhub/channel.h"
#include "taskhub_admin.grpc.pb.h"
#include "tools/taskhub/commands.h"

namespace taskhub::cli {
namespace {

using admin::v1::TaskHubAdmin;

absl::StatusOr<std::unique_ptr<TaskHubAdmin::Stub>> AdminStub(Context& ctx) {
  absl::StatusOr<TlsOptions> tls = ctx.tls();
  if (!tls.ok()) return tls.status();
  return TaskHubAdmin::NewStub(NewChannel(ctx.options().address, *tls, ctx.options().token));
}

void SetDeadline(grpc::ClientContext& c) {
  c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

absl::Status RunFailed(Context& ctx) {
  absl::StatusOr<std::unique_ptr<TaskHubAdmin::Stub>> stub = AdminStub(ctx);
  if (!stub.ok()) return stub.status();
  grpc::ClientContext c;
  SetDeadline(c);
  admin::v1::ListFailedNotificationsResponse resp;
  grpc::Status st = (*stub)->ListFailedNotifications(&c, {}, &resp);
  if (!st.ok()) return FromGrpc(st);
  if (ctx.json()) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& n : resp.notifications()) {
      items.push_back({{"id", n.id()},
                       {"event_id", n.event_id()},
                       {"type", n.type()},
                       {"instance_id", n.instance_id()},
                       {"webhook", n.webhook()},
                       {"attempts", n.attempts()},
                       {"last_error", n.last_error()},
                       {"time", TimeText(n.time())}});
    }
    ctx.out().Json(items);
    return absl::OkStatus();
  }
  if (resp.notifications().empty()) {
    ctx.out().Line("No failed notifications");
    return absl::OkStatus();
  }
  Table t({"ID", "TYPE", "INSTANCE", "WEBHOOK", "ATTEMPTS", "TIME", "LAST ERROR"});
  for (const auto& n : resp.notifications()) {
    t.AddRow({std::to_string(n.id()), n.type(), n.instance_id(), n.webhook(),
              std::to_string(n.attempts()), TimeText(n.time()), n.last_error()});
  }
  t.Print(ctx.out());
  return absl::OkStatus();
}

struct RetryArgs {
  std::string id;
  bool all = false;
};

absl::Status RunRetry(Context& ctx, const RetryArgs& a) {
  admin::v1::RetryNotificationsRequest req;
  if (a.all == !a.id.empty()) {
    return absl::InvalidArgumentError(
        "give a notification ID (from `taskhub notifications "
        "failed`) or --all");
  }
  if (!a.all) {
    uint64_t id = 0;
    if (!absl::SimpleAtoi(a.id, &id) || id == 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", a.id, "' is not a notification ID"));
    }
    req.set_id(id);
  }
  req.set_all(a.all);
  absl::StatusOr<std::unique_ptr<TaskHubAdmin::Stub>> stub = AdminStub(ctx);
  if (!stub.ok()) return stub.status();
  grpc::ClientContext c;
  SetDeadline(c);
  admin::v1::RetryNotificationsResponse resp;
  grpc::Status st = (*stub)->RetryNotifications(&c, req, &resp);
  if (!st.ok()) return FromGrpc(st);
  if (ctx.json()) {
    ctx.out().Json({{"retried", resp.retried()}});
  } else {
    ctx.out().Line(absl::StrCat("Retrying ", resp.retried(),
                                resp.retried() == 1 ? " notification" : " notifications"));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterNotificationCommands(CLI::App& app, std::vector<Command>& commands) {
  CLI::App* group = app.add_subcommand(
      "notifications", "Lifecycle notifications (webhooks): the dead-letter list and its replay");
  group->require_subcommand(1);
  CLI::App* failed = AddCommand(
      *group, "failed",
      "List the notifications whose delivery gave up (after --notification-max-attempts or "
      "--notification-max-age-seconds); they stay until retried",
      "taskhub notifications failed -o json");
  commands.push_back({failed, [](Context& ctx) { return RunFailed(ctx); }});
  auto args = std::make_shared<RetryArgs>();
  CLI::App* retry = AddCommand(
      *group, "retry",
      "Put dead-lettered notifications back into delivery (fresh attempt count, in their "
      "instance's order)",
      "taskhub notifications retry 42   |   taskhub notifications retry --all");
  retry->add_option("id", args->id, "Notification ID from `taskhub notifications failed`");
  retry->add_flag("--all", args->all, "Retry every dead-lettered notification");
  commands.push_back({retry, [args](Context& ctx) { return RunRetry(ctx, *args); }});
}

}  // namespace taskhub::cli
