// entity list, entity get, entity signal, entity clean.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/taskhub/commands.h"
#include "tools/taskhub/entity_ids.h"
#include "tools/taskhub/payload.h"
#include "tools/taskhub/time_parse.h"

namespace taskhub::cli {
namespace {

// Width of the STATE column of `entity list --show-state` (JSON shows it whole).
constexpr size_t kStateColumnWidth = 60;

// The SDK's id of a normalized entity id (see EntityId()).
absl::StatusOr<EntityInstanceId> ParsedId(const std::string& id) {
  return EntityInstanceId::Parse(id);
}

absl::Status EntityNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no entity with id '", id, "'"));
}

nlohmann::json StateToJson(const std::optional<std::string>& state) {
  if (!state || state->empty()) return nullptr;
  return PayloadToJson(*state);
}

nlohmann::json EntityToJson(const EntityMetadata& e, bool with_state) {
  const EntityIdParts parts = SplitEntityId(e.instance_id);
  nlohmann::json j = {
      {"instance_id", e.instance_id},
      {"name", parts.name},
      {"key", parts.key},
      {"last_modified_at", IsoTime(e.last_modified)},
      {"backlog_queue_size", e.backlog_queue_size},
      {"locked_by", e.locked_by.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.locked_by)},
  };
  if (with_state) j["state"] = StateToJson(e.state);
  return j;
}

Cell StateCell(const std::optional<std::string>& state, size_t width) {
  if (!state || state->empty()) return Cell("(none)", Style::kDim);
  return Cell(width == 0 ? *state : Abbreviate(*state, width));
}

// ---- entity list ----

struct ListArgs {
  std::string prefix, modified_after, modified_before;
  bool show_state = false, all = false;
  int page_size = 0;
};

absl::StatusOr<EntityQuery> BuildQuery(const ListArgs& a) {
  EntityQuery q;
  if (!a.prefix.empty()) q.instance_id_prefix = EntityIdPrefix(a.prefix);
  if (!a.modified_after.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.modified_after, "--modified-after");
    if (!t.ok()) return t.status();
    q.last_modified_from = *t;
  }
  if (!a.modified_before.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.modified_before, "--modified-before");
    if (!t.ok()) return t.status();
    q.last_modified_to = *t;
  }
  if (a.page_size < 0) return absl::InvalidArgumentError("--page-size must be positive");
  q.page_size = a.page_size;  // 0: the server's default
  q.include_state = a.show_state;
  q.include_transient = a.all;
  return q;
}

absl::Status RunList(Context& ctx, const ListArgs& a) {
  absl::StatusOr<EntityQuery> q = BuildQuery(a);
  if (!q.ok()) return q.status();
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::vector<EntityMetadata>> entities = (*client)->QueryAllEntities(*q);
  if (!entities.ok()) return entities.status();
  if (ctx.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const EntityMetadata& e : *entities) list.push_back(EntityToJson(e, a.show_state));
    ctx.out().Json({{"entities", std::move(list)}});
    return absl::OkStatus();
  }
  if (entities->empty()) {
    ctx.out().Line("No entities found.");
    return absl::OkStatus();
  }
  std::vector<std::string> headers = {"NAME", "KEY", "LAST MODIFIED", "BACKLOG", "LOCKED BY"};
  if (a.show_state) headers.push_back("STATE");
  Table table(std::move(headers));
  for (const EntityMetadata& e : *entities) {
    const EntityIdParts parts = SplitEntityId(e.instance_id);
    std::vector<Cell> row = {parts.name, parts.key, IsoTime(e.last_modified),
                             absl::StrCat(e.backlog_queue_size),
                             e.locked_by.empty() ? Cell("") : Cell(e.locked_by, Style::kYellow)};
    if (a.show_state) row.push_back(StateCell(e.state, kStateColumnWidth));
    table.AddRow(std::move(row));
  }
  table.Print(ctx.out());
  return absl::OkStatus();
}

void RegisterList(CLI::App& entity, std::vector<Command>& commands) {
  auto a = std::make_shared<ListArgs>();
  CLI::App* cmd =
      AddCommand(entity, "list",
                 "List entities (every page). By default only entities with state; --all adds "
                 "transient ones (no state, but queued operations or a lock)",
                 "taskhub entity list --prefix counter@ --show-state -o json");
  cmd->add_option("--prefix", a->prefix,
                  "Entity name prefix, or NAME@KEY-prefix (the name part is case-insensitive)");
  cmd->add_flag("--show-state", a->show_state, "Include each entity's state");
  cmd->add_flag("--all", a->all,
                "Include transient entities (no state, but queued operations or a lock)");
  cmd->add_option("--modified-after", a->modified_after,
                  "Last modified at or after this time (ISO 8601)");
  cmd->add_option("--modified-before", a->modified_before,
                  "Last modified before this time (ISO 8601)");
  cmd->add_option("--page-size", a->page_size,
                  "Entities per server call (default: the server's); all pages are listed");
  commands.push_back({cmd, [a](Context& ctx) { return RunList(ctx, *a); }});
}

// ---- entity get ----

struct GetArgs {
  std::string name, key;
  bool show_state = false;
};

absl::Status RunGet(Context& ctx, const GetArgs& a) {
  absl::StatusOr<std::string> id = EntityId(a.name, a.key);
  if (!id.ok()) return id.status();
  absl::StatusOr<EntityInstanceId> eid = ParsedId(*id);
  if (!eid.ok()) return eid.status();
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::optional<EntityMetadata>> e =
      (*client)->GetEntityMetadata(*eid, a.show_state);
  if (!e.ok()) return e.status();
  if (!e->has_value()) return EntityNotFound(*id);
  const EntityMetadata& info = **e;
  if (ctx.json()) {
    ctx.out().Json(EntityToJson(info, a.show_state));
    return absl::OkStatus();
  }
  const EntityIdParts parts = SplitEntityId(info.instance_id);
  std::vector<std::pair<std::string, Cell>> rows = {
      {"Entity ID", info.instance_id},
      {"Name", parts.name},
      {"Key", parts.key},
      {"Last modified", IsoTime(info.last_modified)},
      {"Backlog", absl::StrCat(info.backlog_queue_size)},
      {"Locked by", info.locked_by.empty() ? Cell("(unlocked)", Style::kDim)
                                           : Cell(info.locked_by, Style::kYellow)},
  };
  if (a.show_state) rows.emplace_back("State", StateCell(info.state, 0));
  PrintKeyValues(ctx.out(), rows);
  return absl::OkStatus();
}

void RegisterGet(CLI::App& entity, std::vector<Command>& commands) {
  auto a = std::make_shared<GetArgs>();
  CLI::App* cmd = AddCommand(entity, "get",
                             "Show an entity: last modified time, queued operations, lock "
                             "holder and (--show-state) its state. Exit 3 when it does not exist",
                             "taskhub entity get counter user-1 --show-state");
  cmd->add_option("name", a->name, "Entity name (case-insensitive)")->required();
  cmd->add_option("key", a->key, "Entity key (case-sensitive)")->required();
  cmd->add_flag("--show-state", a->show_state, "Include the state");
  commands.push_back({cmd, [a](Context& ctx) { return RunGet(ctx, *a); }});
}

// ---- entity signal ----

struct SignalArgs {
  std::string name, key, operation, data, at, in;
};

// The scheduled time of --at / --in; nullopt for "now".
absl::StatusOr<std::optional<absl::Time>> ScheduledTime(const SignalArgs& a) {
  if (!a.at.empty()) {
    absl::StatusOr<absl::Time> t = ParseTime(a.at, "--at");
    if (!t.ok()) return t.status();
    return std::optional<absl::Time>(*t);
  }
  if (!a.in.empty()) {
    absl::StatusOr<absl::Duration> d = ParseNonNegativeDuration(a.in, "--in");
    if (!d.ok()) return d.status();
    return std::optional<absl::Time>(absl::Now() + *d);
  }
  return std::optional<absl::Time>();
}

absl::Status RunSignal(Context& ctx, const SignalArgs& a) {
  absl::StatusOr<std::string> id = EntityId(a.name, a.key);
  if (!id.ok()) return id.status();
  if (a.operation.empty()) return absl::InvalidArgumentError("operation name must not be empty");
  std::optional<std::string> data;
  if (!a.data.empty()) {
    absl::StatusOr<std::string> d = ReadJsonArgument(a.data, "operation input");
    if (!d.ok()) return d.status();
    data = *std::move(d);
  }
  absl::StatusOr<std::optional<absl::Time>> at = ScheduledTime(a);
  if (!at.ok()) return at.status();
  absl::StatusOr<EntityInstanceId> eid = ParsedId(*id);
  if (!eid.ok()) return eid.status();
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  const std::string request_id = NewRequestId();
  absl::Status st = (*client)->SignalEntity(*eid, a.operation, data, *at, request_id);
  if (!st.ok()) return st;
  if (ctx.json()) {
    ctx.out().Json({{"instance_id", *id},
                    {"operation", a.operation},
                    {"request_id", request_id},
                    {"scheduled_at", *at ? nlohmann::json(IsoTime(**at)) : nlohmann::json()}});
  } else {
    ctx.out().Line(absl::StrCat("Signaled entity ", *id, " with operation '", a.operation, "'",
                                *at ? absl::StrCat(" for ", IsoTime(**at)) : "", " (request id ",
                                request_id, ")"));
  }
  return absl::OkStatus();
}

void RegisterSignal(CLI::App& entity, std::vector<Command>& commands) {
  auto a = std::make_shared<SignalArgs>();
  CLI::App* cmd =
      AddCommand(entity, "signal",
                 "Send an operation to an entity without waiting for it to run (SignalEntity). The "
                 "entity is created if it does not exist. A request id is generated",
                 "taskhub entity signal counter user-1 add 5 --in 30s");
  cmd->add_option("name", a->name, "Entity name (case-insensitive)")->required();
  cmd->add_option("key", a->key, "Entity key (case-sensitive)")->required();
  cmd->add_option("operation", a->operation, "Operation name")->required();
  cmd->add_option("data", a->data, "Operation input as JSON, or @file.json (@- reads stdin)");
  CLI::Option* at = cmd->add_option("--at", a->at, "Deliver at this time (ISO 8601)");
  cmd->add_option("--in", a->in, "Deliver after this delay (e.g. 30s, 5m, 1h30m)")->excludes(at);
  commands.push_back({cmd, [a](Context& ctx) { return RunSignal(ctx, *a); }});
}

// ---- entity clean ----

struct CleanArgs {
  bool remove_empty = false, release_orphaned_locks = false;
};

absl::Status RunClean(Context& ctx, const CleanArgs& a) {
  // Neither flag: both, as the SDKs' CleanEntityStorage defaults.
  const bool both = !a.remove_empty && !a.release_orphaned_locks;
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  absl::StatusOr<CleanEntityStorageResult> counts =
      (*client)->CleanEntityStorage(both || a.remove_empty, both || a.release_orphaned_locks);
  if (!counts.ok()) return counts.status();
  if (ctx.json()) {
    ctx.out().Json({{"empty_entities_removed", counts->empty_entities_removed},
                    {"orphaned_locks_released", counts->orphaned_locks_released}});
  } else {
    ctx.out().Line(absl::StrCat("Removed ", counts->empty_entities_removed, " empty ",
                                counts->empty_entities_removed == 1 ? "entity" : "entities",
                                ", released ", counts->orphaned_locks_released, " orphaned ",
                                counts->orphaned_locks_released == 1 ? "lock" : "locks"));
  }
  return absl::OkStatus();
}

void RegisterClean(CLI::App& entity, std::vector<Command>& commands) {
  auto a = std::make_shared<CleanArgs>();
  CLI::App* cmd = AddCommand(
      entity, "clean",
      "Clean entity storage (CleanEntityStorage, repeated until the server is done): remove "
      "entities with no state, no queued operation and no lock, and release locks held by "
      "orchestrations that no longer run. Neither flag: both. Prints the counts",
      "taskhub entity clean --release-orphaned-locks");
  cmd->add_flag("--remove-empty", a->remove_empty, "Remove empty entities");
  cmd->add_flag("--release-orphaned-locks", a->release_orphaned_locks,
                "Release locks whose owner orchestration is no longer running");
  commands.push_back({cmd, [a](Context& ctx) { return RunClean(ctx, *a); }});
}

}  // namespace

void RegisterEntityCommands(CLI::App& app, std::vector<Command>& commands) {
  CLI::App* entity = app.add_subcommand(
      "entity",
      "Durable entities (@name@key): list, get, signal, clean. Names are case-insensitive "
      "(stored lower-case); keys are case-sensitive");
  entity->require_subcommand(1);
  entity->footer(
      "Example:\n"
      "  taskhub entity signal counter user-1 add 5\n"
      "  taskhub entity get counter user-1 --show-state\n"
      "  taskhub entity list --prefix counter --show-state\n"
      "  taskhub entity clean --remove-empty --release-orphaned-locks -o json\n\n"
      "Run 'taskhub entity COMMAND --help' for each command's options.");
  RegisterList(*entity, commands);
  RegisterGet(*entity, commands);
  RegisterSignal(*entity, commands);
  RegisterClean(*entity, commands);
}

}  // namespace taskhub::cli
