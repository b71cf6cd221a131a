// purge, create-task-hub, delete-task-hub, health.
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/taskhub/commands.h"
#include "tools/taskhub/health_check.h"
#include "tools/taskhub/instance_ops.h"
#include "tools/taskhub/purge_progress.h"
#include "tools/taskhub/statuses.h"
#include "tools/taskhub/time_parse.h"

namespace taskhub::cli {
namespace {

struct PurgeArgs {
  std::string id, created_after, created_before, older_than;
  std::vector<std::string> statuses;
  bool all = false, no_recursive = false, yes = false;
};

void PrintDeleted(Context& ctx, int deleted) {
  if (ctx.json()) {
    ctx.out().Json({{"deleted", deleted}});
  } else {
    ctx.out().Line(absl::StrCat("Purged ", deleted, deleted == 1 ? " instance" : " instances"));
  }
}

// An entity id (`@name@key`): PurgeInstances deletes the entity with its state when it is
// idle (no queued request, no lock, no batch in flight); otherwise nothing (count 0).
absl::Status PurgeEntity(Context& ctx, Client& client, const PurgeArgs& a) {
  absl::Status ok = ctx.Confirm(absl::StrCat("Purge entity '", a.id, "' and its state?"), a.yes);
  if (!ok.ok()) return ok;
  absl::StatusOr<int> n = client.Purge(a.id, false);
  if (!n.ok()) return n.status();
  if (*n == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("entity '", a.id,
                     "' was not purged: it does not exist, or it has queued requests, a lock or "
                     "an operation in progress"));
  }
  if (ctx.json()) {
    ctx.out().Json({{"deleted", *n}});
  } else {
    ctx.out().Line(absl::StrCat("Purged entity ", a.id));
  }
  return absl::OkStatus();
}

absl::Status PurgeOne(Context& ctx, const PurgeArgs& a) {
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  if (absl::StartsWith(a.id, "@")) return PurgeEntity(ctx, **client, a);
  absl::StatusOr<OrchestrationMetadata> m = GetExisting(**client, a.id, false);
  if (!m.ok()) return m.status();
  if (!IsTerminal(m->status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance '", a.id, "' is ", StatusName(m->status),
                     "; only finished (completed, failed, terminated) instances can be purged"));
  }
  absl::Status ok =
      ctx.Confirm(absl::StrCat("Purge instance '", a.id, "' and its history",
                               a.no_recursive ? "" : " (and its sub-orchestrations)", "?"),
                  a.yes);
  if (!ok.ok()) return ok;
  absl::StatusOr<int> n = (*client)->Purge(a.id, !a.no_recursive);
  if (!n.ok()) return n.status();
  PrintDeleted(ctx, *n);
  return absl::OkStatus();
}

// The filter and a description of it for the confirmation question.
absl::StatusOr<PurgeFilter> BuildPurgeFilter(const PurgeArgs& a, std::string* description) {
  PurgeFilter f;
  std::vector<std::string> parts;
  absl::StatusOr<std::vector<OrchestrationStatus>> statuses = ParseStatuses(a.statuses);
  if (!statuses.ok()) return statuses.status();
  std::vector<std::string> names;
  for (OrchestrationStatus s : *statuses) {
    if (!IsTerminal(s)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--status: ", StatusName(s),
                       " instances cannot be purged; use completed, failed, terminated or "
                       "canceled"));
    }
    names.push_back(StatusName(s));
  }
  f.statuses = *statuses;
  if (!a.created_after.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.created_after, "--created-after");
    if (!t.ok()) return t.status();
    f.created_from = *t;
    parts.push_back(absl::StrCat("created at or after ", IsoTime(*t)));
  }
  if (!a.created_before.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.created_before, "--created-before");
    if (!t.ok()) return t.status();
    f.created_to = *t;
    parts.push_back(absl::StrCat("created before ", IsoTime(*t)));
  }
  if (!a.older_than.empty()) {
    absl::StatusOr<absl::Duration> age = ParseAge(a.older_than, "--older-than");
    if (!age.ok()) return age.status();
    const absl::Time t = absl::Now() - *age;
    if (!f.created_to || t < *f.created_to) f.created_to = t;
    parts.push_back(absl::StrCat("created over ", a.older_than, " ago (before ", IsoTime(t), ")"));
  }
  *description = absl::StrCat(
      "Purge every ", names.empty() ? "finished" : absl::StrJoin(names, "/"), " instance",
      parts.empty() ? "" : absl::StrCat(" ", absl::StrJoin(parts, " and ")), ", with its history?");
  return f;
}

absl::Status PurgeByFilter(Context& ctx, const PurgeArgs& a) {
  std::string description;
  absl::StatusOr<PurgeFilter> filter = BuildPurgeFilter(a, &description);
  if (!filter.ok()) return filter.status();
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  if (absl::Status ok = ctx.Confirm(description, a.yes); !ok.ok()) return ok;
  const bool show = !ctx.json() && isatty(STDERR_FILENO) != 0;
  absl::StatusOr<PurgeOutcome> r = PurgeWithProgress(**client, *filter, show);
  if (!r.ok()) return r.status();
  PrintDeleted(ctx, static_cast<int>(r->deleted));
  if (!ctx.json() && r->deleted > 0) {
    ctx.out().Note(absl::StrFormat("%s in %.1f s (%s/s)", Grouped(r->deleted),
                                   absl::ToDoubleSeconds(r->elapsed),
                                   Grouped(static_cast<int64_t>(
                                       r->deleted / std::max(1e-3, absl::ToDoubleSeconds(r->elapsed))))));
  }
  return absl::OkStatus();
}

absl::Status RunPurge(Context& ctx, const PurgeArgs& a) {
  const bool has_filter = !a.created_after.empty() || !a.created_before.empty() ||
                          !a.older_than.empty() || !a.statuses.empty() || a.all;
  if (!a.id.empty() && has_filter) {
    return absl::InvalidArgumentError(
        "purge: give either an instance ID or filters (--created-before, --created-after, "
        "--status, --all), not both");
  }
  if (!a.id.empty()) return PurgeOne(ctx, a);
  if (!has_filter) {
    return absl::InvalidArgumentError(
        "purge: give an instance ID, a filter (--created-before, --created-after, --older-than, "
        "--status) "
        "or --all");
  }
  if (a.no_recursive) {
    return absl::InvalidArgumentError("purge: --no-recursive applies only to an instance ID");
  }
  return PurgeByFilter(ctx, a);
}

void RegisterPurge(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<PurgeArgs>();
  CLI::App* cmd =
      AddCommand(app, "purge",
                 "Delete finished instances and their histories: one by ID (with its "
                 "sub-orchestrations unless --no-recursive) or every one matching filters; an ID "
                 "@name@key purges an idle entity. Asks "
                 "for confirmation unless --yes; without a terminal, --yes is required. Prints how "
                 "many were deleted (func durable: purge-history)",
                 "taskhub purge --created-before 2024-05-01 --status completed,failed --yes",
                 {"purge-history"});
  cmd->add_option("id", a->id, "Instance ID");
  cmd->add_option("--created-after", a->created_after, "Created at or after this time (ISO 8601)");
  cmd->add_option("--created-before", a->created_before, "Created before this time (ISO 8601)");
  cmd->add_option("--older-than", a->older_than,
                  "Created longer ago than this age (7d, 12h, 30m, 90s)");
  cmd->add_option("--status", a->statuses,
                  "Only these finished statuses (repeatable or comma-separated; default all "
                  "finished)");
  cmd->add_flag("--all", a->all, "Every finished instance (no other filter)");
  cmd->add_flag("--no-recursive", a->no_recursive, "With an ID: keep sub-orchestrations");
  cmd->add_flag("-y,--yes", a->yes, "Do not ask for confirmation");
  commands.push_back({cmd, [a](Context& ctx) { return RunPurge(ctx, *a); }});
}

struct HubArgs {
  bool recreate = false, yes = false;
};

absl::Status RunCreateTaskHub(Context& ctx, const HubArgs& a) {
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  if (a.recreate) {
    absl::Status ok = ctx.Confirm(absl::StrCat("Recreate the task hub at ", ctx.options().address,
                                               ", deleting every instance and its history?"),
                                  a.yes);
    if (!ok.ok()) return ok;
  }
  if (absl::Status st = (*client)->CreateTaskHub(a.recreate); !st.ok()) return st;
  if (ctx.json()) {
    ctx.out().Json({{"created", true}, {"recreated", a.recreate}});
  } else {
    ctx.out().Line(a.recreate ? "Task hub recreated (empty)" : "Task hub ready");
  }
  return absl::OkStatus();
}

absl::Status RunDeleteTaskHub(Context& ctx, const HubArgs& a) {
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  absl::Status ok = ctx.Confirm(absl::StrCat("Delete the task hub at ", ctx.options().address,
                                             ": every instance and its history?"),
                                a.yes);
  if (!ok.ok()) return ok;
  if (absl::Status st = (*client)->DeleteTaskHub(); !st.ok()) return st;
  if (ctx.json()) {
    ctx.out().Json({{"deleted", true}});
  } else {
    ctx.out().Line("Task hub deleted");
  }
  return absl::OkStatus();
}

void RegisterTaskHubCommands(CLI::App& app, std::vector<Command>& commands) {
  auto create = std::make_shared<HubArgs>();
  CLI::App* cmd = AddCommand(app, "create-task-hub",
                             "Create the task hub (taskhubd always has one; a no-op unless "
                             "--recreate, which empties it after confirmation)",
                             "taskhub create-task-hub --recreate --yes");
  cmd->add_flag("--recreate", create->recreate, "Delete everything in an existing task hub");
  cmd->add_flag("-y,--yes", create->yes, "Do not ask for confirmation");
  commands.push_back({cmd, [create](Context& ctx) { return RunCreateTaskHub(ctx, *create); }});

  auto del = std::make_shared<HubArgs>();
  cmd = AddCommand(app, "delete-task-hub",
                   "Delete every instance and its history (func durable: delete-task-hub). "
                   "Asks for confirmation unless --yes",
                   "taskhub delete-task-hub --yes");
  cmd->add_flag("-y,--yes", del->yes, "Do not ask for confirmation");
  commands.push_back({cmd, [del](Context& ctx) { return RunDeleteTaskHub(ctx, *del); }});
}

constexpr const char* kHealthServices[] = {"", "TaskHubSidecarService"};

absl::Status RunHealth(Context& ctx) {
  const std::string& address = ctx.options().address;
  nlohmann::json services = nlohmann::json::object();
  absl::Status failure;
  absl::StatusOr<TlsOptions> tls = ctx.tls();
  if (!tls.ok()) return tls.status();
  for (const char* service : kHealthServices) {
    absl::StatusOr<std::string> s = CheckHealth(address, *tls, service, absl::Seconds(5));
    if (!s.ok()) {
      failure = s.status();
      break;
    }
    services[service] = *s;
    if (*s != "SERVING" && failure.ok()) {
      failure = absl::UnknownError(absl::StrCat("taskhubd at ", address, " is not serving (",
                                                service[0] ? service : "server", ": ", *s, ")"));
    }
  }
  const bool reachable = failure.ok() || failure.code() == absl::StatusCode::kUnknown;
  if (ctx.json()) {
    ctx.out().Json({{"address", address},
                    {"reachable", reachable},
                    {"serving", failure.ok()},
                    {"services", services}});
  } else {
    std::vector<std::pair<std::string, Cell>> rows = {
        {"Address", address},
        {"Reachable", Cell(reachable ? "yes" : "no", reachable ? Style::kGreen : Style::kRed)}};
    for (const auto& [service, status] : services.items()) {
      const std::string s = status.get<std::string>();
      rows.emplace_back(service.empty() ? "Server" : service,
                        Cell(s, s == "SERVING" ? Style::kGreen : Style::kRed));
    }
    PrintKeyValues(ctx.out(), rows);
  }
  return failure;
}

void RegisterHealth(CLI::App& app, std::vector<Command>& commands) {
  CLI::App* cmd = AddCommand(
      app, "health",
      "Check that taskhubd is reachable and serving, through the standard gRPC health "
      "service (grpc.health.v1.Health/Check for \"\" and \"TaskHubSidecarService\"). Exit 0 "
      "when serving, 4 when unreachable, 1 when reachable but not serving",
      "taskhub health --address localhost:4001 -o json");
  commands.push_back({cmd, [](Context& ctx) { return RunHealth(ctx); }});
}

}  // namespace

void RegisterAdminCommands(CLI::App& app, std::vector<Command>& commands) {
  RegisterPurge(app, commands);
  RegisterTaskHubCommands(app, commands);
  RegisterHealth(app, commands);
}

}  // namespace taskhub::cli
