// Registration of the taskhub subcommands. Each Register* function adds its
// subcommands (options, --help text with an example) to `app` and appends what
// each one runs to `commands`; main runs the one the user chose.
#ifndef TASKHUB_TOOLS_TASKHUB_COMMANDS_H_
#define TASKHUB_TOOLS_TASKHUB_COMMANDS_H_

#include <functional>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "tools/taskhub/context.h"

namespace taskhub::cli {

struct Command {
  CLI::App* app;
  // Runs the command after parsing; a non-OK status is printed and mapped to an
  // exit code by main.
  std::function<absl::Status(Context&)> run;
};

// start, status, wait, raise
void RegisterInstanceCommands(CLI::App& app, std::vector<Command>& commands);
// terminate, suspend, resume, rewind, restart
void RegisterControlCommands(CLI::App& app, std::vector<Command>& commands);
// list, history
void RegisterQueryCommands(CLI::App& app, std::vector<Command>& commands);
// purge, create-task-hub, delete-task-hub, health
void RegisterAdminCommands(CLI::App& app, std::vector<Command>& commands);
// entity list|get|signal|clean (subcommands of `entity`)
void RegisterEntityCommands(CLI::App& app, std::vector<Command>& commands);
// notifications failed|retry (taskhubd's admin service)
void RegisterNotificationCommands(CLI::App& app, std::vector<Command>& commands);

// Adds a subcommand with `description`, an "Example:" footer and `aliases`.
CLI::App* AddCommand(CLI::App& app, const std::string& name, const std::string& description,
                     const std::string& example, const std::vector<std::string>& aliases = {});

}  // namespace taskhub::cli

#endif  // TASKHUB_TOOLS_TASKHUB_COMMANDS_H_
