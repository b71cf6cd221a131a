// terminate, suspend, resume, rewind, restart.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tools/taskhub/commands.h"

namespace taskhub::cli {
namespace {

struct ControlArgs {
  std::string id, reason;
  bool no_recursive = false;
  bool new_id = false;
};

// Runs `op` on the client and reports "<operation> <id>" (past tense in `done`).
absl::Status RunControl(Context& ctx, const ControlArgs& a, const std::string& operation,
                        const std::string& done, const std::function<absl::Status(Client&)>& op) {
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  if (absl::Status st = op(**client); !st.ok()) return st;
  if (ctx.json()) {
    ctx.out().Json({{"instance_id", a.id}, {"operation", operation}});
  } else {
    ctx.out().Line(absl::StrCat(done, " instance ", a.id));
  }
  return absl::OkStatus();
}

void RegisterTerminate(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<ControlArgs>();
  CLI::App* cmd = AddCommand(app, "terminate",
                             "Terminate a running instance and, unless --no-recursive, its "
                             "sub-orchestrations (func durable: terminate)",
                             "taskhub terminate trip-1 --reason 'cancelled by operator'");
  cmd->add_option("id", a->id, "Instance ID")->required();
  cmd->add_option("--reason", a->reason, "Reason, recorded as the instance's output");
  cmd->add_flag("--no-recursive", a->no_recursive, "Leave sub-orchestrations running");
  commands.push_back(
      {cmd, [a](Context& ctx) {
         std::optional<std::string> output;
         if (!a->reason.empty()) output = nlohmann::json(a->reason).dump();
         return RunControl(ctx, *a, "terminate", "Requested termination of",
                           [&](Client& c) { return c.Terminate(a->id, output, !a->no_recursive); });
       }});
}

using ReasonOp = absl::Status (Client::*)(const std::string&, const std::string&);

// suspend, resume and rewind: an id and an optional --reason.
void RegisterReasonCommand(CLI::App& app, std::vector<Command>& commands, const std::string& name,
                           const std::string& description, const std::string& example,
                           const std::string& done, ReasonOp op,
                           const std::vector<std::string>& aliases = {}) {
  auto a = std::make_shared<ControlArgs>();
  CLI::App* cmd = AddCommand(app, name, description, example, aliases);
  cmd->add_option("id", a->id, "Instance ID")->required();
  cmd->add_option("--reason", a->reason, "Reason, recorded in the history");
  commands.push_back({cmd, [a, name, done, op](Context& ctx) {
                        return RunControl(ctx, *a, name, done,
                                          [&](Client& c) { return (c.*op)(a->id, a->reason); });
                      }});
}

absl::Status RunRestart(Context& ctx, const ControlArgs& a) {
  absl::StatusOr<Client*> client = ctx.client();
  if (!client.ok()) return client.status();
  absl::StatusOr<std::string> id = (*client)->Restart(a.id, a.new_id);
  if (!id.ok()) return id.status();
  if (ctx.json()) {
    ctx.out().Json({{"instance_id", *id}, {"restarted_from", a.id}});
  } else {
    ctx.out().Line(absl::StrCat("Restarted instance ", a.id, " as ", *id));
  }
  return absl::OkStatus();
}

void RegisterRestart(CLI::App& app, std::vector<Command>& commands) {
  auto a = std::make_shared<ControlArgs>();
  CLI::App* cmd = AddCommand(app, "restart",
                             "Start a finished instance again with its original name and "
                             "input; prints the instance ID",
                             "taskhub restart trip-1 --new-id");
  cmd->add_option("id", a->id, "Instance ID")->required();
  cmd->add_flag("--new-id", a->new_id, "Run under a new, generated instance ID");
  commands.push_back({cmd, [a](Context& ctx) { return RunRestart(ctx, *a); }});
}

}  // namespace

void RegisterControlCommands(CLI::App& app, std::vector<Command>& commands) {
  RegisterTerminate(app, commands);
  RegisterReasonCommand(app, commands, "suspend", "Suspend a running instance",
                        "taskhub suspend trip-1 --reason maintenance", "Suspended",
                        &Client::Suspend);
  RegisterReasonCommand(app, commands, "resume", "Resume a suspended instance",
                        "taskhub resume trip-1", "Resumed", &Client::Resume);
  RegisterReasonCommand(app, commands, "rewind",
                        "Rewind a failed instance so that its failed work runs again "
                        "(func durable: rewind)",
                        "taskhub rewind trip-1 --reason 'fixed the bug'", "Rewound",
                        &Client::Rewind);
  RegisterRestart(app, commands);
}

}  // namespace taskhub::cli
