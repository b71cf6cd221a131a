// list, history.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/taskhub/commands.h"
#include "tools/taskhub/history_view.h"
#include "tools/taskhub/instance_view.h"
#include "tools/taskhub/statuses.h"
#include "tools/taskhub/time_parse.h"

namespace taskhub::cli {
namespace {

constexpr int kDefaultPageSize = 100;

struct ListArgs {
  std::vector<std::string> statuses;
  std::string created_after, created_before, prefix, continuation_token;
  int top = 0;
  bool all = false;
};

absl::StatusOr<InstanceQuery> BuildQuery(const ListArgs& a) {
  InstanceQuery q;
  absl::StatusOr<std::vector<OrchestrationStatus>> statuses = ParseStatuses(a.statuses);
  if (!statuses.ok()) return statuses.status();
  q.statuses = *std::move(statuses);
  if (!a.created_after.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.created_after, "--created-after");
    if (!t.ok()) return t.status();
    q.created_from = *t;
  }
  if (!a.created_before.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.created_before, "--created-before");
    if (!t.ok()) return t.status();
    q.created_to = *t;
  }
  if (a.top < 0) return absl::InvalidArgumentError("--top must be positive");
  q.instance_id_prefix = a.prefix;
  q.page_size = a.top > 0 ? a.top : kDefaultPageSize;
  q.continuation_token = a.continuation_token;
  return q;
}

void PrintInstances(Context& ctx, const std::vector<OrchestrationMetadata>& instances,
                    const std::string& token) {
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : instances) list.push_back(InstanceToJson(m, {}));
    ctx.out().Json(
        {{"instances", std::move(list)},
         {"continuation_token", token.empty() ? nlohmann::json(nullptr) : nlohmann::json(token)}});
    return;
  }
  if (instances.empty()) {
    ctx.out().Line("No instances found.");
  } else {
    Table table({"INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED"});
    for (const auto& m : instances) {
      table.AddRow({m.instance_id, m.name, Cell(StatusName(m.status), StatusStyle(m.status)),
                    IsoTime(m.created_at), IsoTime(m.last_updated_at)});
    }
    table.Print(ctx.out());
  }
  if (!token.empty()) ctx.out().Line(absl::StrCat("\nNext page: --continuation-token ", token));
}

absl::Status RunList(Context& ctx, const ListArgs& a) {
  absl::StatusOr<InstanceQuery> q = BuildQuery(a);
  if (!q.ok()) return q.status();
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  if (a.all) {
    absl::StatusOr<std::vector<OrchestrationMetadata>> all = (*client)->QueryAllInstances(*q);
    if (!all.ok()) return all.status();
    PrintInstances(ctx, *all, "");
    return absl::OkStatus();
  }
  absl::StatusOr<InstancePage> page = (*client)->QueryInstances(*q);
  if (!page.ok()) return page.status();
  PrintInstances(ctx, page->instances, page->continuation_token);
  return absl::OkStatus();
}

void RegisterList(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<ListArgs>();
  CLI::App* cmd = AddCommand(app, "list",
                             "List instances matching the filters: one page (--top, default "
                             "100) or --all (func durable: get-instances)",
                             "taskhub list --status running,pending --created-after 2024-05-01 "
                             "--prefix trip- --top 20",
                             {"get-instances"});
  cmd->add_option("--status", a->statuses,
                  "Runtime status filter (repeatable or comma-separated): running, pending, "
                  "suspended, completed, failed, terminated, canceled, continued-as-new");
  cmd->add_option("--created-after", a->created_after, "Created at or after this time (ISO 8601)");
  cmd->add_option("--created-before", a->created_before, "Created before this time (ISO 8601)");
  cmd->add_option("--prefix", a->prefix, "Instance ID prefix");
  CLI::Option* top = cmd->add_option("--top", a->top, "Page size (default 100)");
  CLI::Option* token = cmd->add_option("--continuation-token", a->continuation_token,
                                       "Continue after a previous page");
  cmd->add_flag("--all", a->all, "Follow continuation tokens and list every match")
      ->excludes(top)
      ->excludes(token);
  commands.push_back({cmd, [a](Context& ctx) { return RunList(ctx, *a); }});
}

struct HistoryArgs {
  std::string id;
  bool all_events = false;
};

absl::Status RunHistory(Context& ctx, const HistoryArgs& a) {
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::vector<HistoryEvent>> events = (*client)->GetHistory(a.id);
  if (!events.ok()) return events.status();
  const std::vector<TimelineEntry> timeline = BuildTimeline(*events);
  if (ctx.json()) {
    ctx.out().Json(TimelineToJson(a.id, timeline));
  } else {
    PrintTimeline(ctx.out(), timeline, a.all_events);
  }
  return absl::OkStatus();
}

void RegisterHistory(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<HistoryArgs>();
  CLI::App* cmd = AddCommand(app, "history",
                             "Show an instance's history as a timeline: time, event type, "
                             "name, task ID, result or failure (func durable: get-history)",
                             "taskhub history trip-1 -o json", {"get-history"});
  cmd->add_option("id", a->id, "Instance ID")->required();
  cmd->add_flag(
      "--all-events", a->all_events,
      "Also show OrchestratorStarted/OrchestratorCompleted markers (JSON always has them)");
  commands.push_back({cmd, [a](Context& ctx) { return RunHistory(ctx, *a); }});
}

}  // namespace

void RegisterQueryCommands(CLI::App& app, std::vector<Command>& commands) {
  RegisterList(app, commands);
  RegisterHistory(app, commands);
}

}  // namespace taskhub::cli
