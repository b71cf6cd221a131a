// taskhub: the admin CLI of taskhubd (and any Durable Task sidecar server).
// Parses the command line (CLI11), runs the chosen command through
// taskhub::Client, prints results as tables or JSON and exits with the
// documented code (exit_codes.h).
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "tools/taskhub/commands.h"
#include "tools/taskhub/context.h"
#include "tools/taskhub/exit_codes.h"
#include "tools/taskhub/output.h"

namespace taskhub::cli {

namespace {
constexpr const char* kGlobalHelp =
    "Global options (before or after the command): --address HOST:PORT (default "
    "$TASKHUB_ADDRESS or localhost:4001), -o json. Exit codes: taskhub --help.";
}  // namespace

CLI::App* AddCommand(CLI::App& app, const std::string& name, const std::string& description,
                     const std::string& example, const std::vector<std::string>& aliases) {
  CLI::App* cmd = app.add_subcommand(name, description);
  for (const std::string& alias : aliases) cmd->alias(alias);
  cmd->footer("Example:\n  " + example + "\n\n" + kGlobalHelp);
  return cmd;
}

namespace {

constexpr const char* kDescription =
    "taskhub: operate a taskhubd task hub (or any Durable Task sidecar server) from the "
    "terminal.\n"
    "Aliases follow the Azure Functions Core Tools `func durable` names: start-new, "
    "get-runtime-status, get-history, get-instances, raise-event, purge-history "
    "(terminate, rewind and delete-task-hub are the same).\n"
    "Times are ISO 8601 (UTC unless an offset is given); -o json prints stable JSON for "
    "scripts.";

constexpr const char* kFooter =
    "Environment:\n"
    "  TASKHUB_ADDRESS  default for --address\n"
    "  TASKHUB_TOKEN    default for --token (bearer token; see taskhubd --auth-tokens)\n"
    "  TASKHUB_TLS_CA   default for --tls-ca (TASKHUB_TLS=1: --tls)\n"
    "  NO_COLOR         disables colour (colour is used only when stdout is a terminal)\n"
    "\n"
    "Example:\n"
    "  taskhub start hello --input '\"world\"' --wait\n"
    "  taskhub list --status failed -o json\n"
    "  taskhub entity signal counter user-1 add 5\n";

// Runs the parsed command; returns the process exit code.
int RunCommand(CLI::App& app, const std::vector<Command>& commands, const GlobalOptions& options) {
  Output out(std::cout, std::cerr, options.output == "json", ColorWanted());
  Context ctx(options, out);
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    absl::Status st;
    try {
      st = c.run(ctx);
    } catch (const std::exception& e) {
      st = absl::InternalError(e.what());
    }
    std::cout.flush();
    if (!st.ok()) std::cerr << "error: " << ErrorText(st, options.address) << "\n";
    return ExitCodeFor(st);
  }
  std::cerr << app.help();
  return kExitUsage;
}

int Main(int argc, char** argv) {
  CLI::App app{kDescription, "taskhub"};
  app.footer(std::string(kFooter) + "\n" + ExitCodeHelp());
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  GlobalOptions options;
  app.add_option("--address", options.address, "taskhubd gRPC address (host:port)")
      ->envname("TASKHUB_ADDRESS")
      ->capture_default_str();
  app.add_option("--token", options.token,
                 "Bearer token for a taskhubd started with --auth-tokens (prefer $TASKHUB_TOKEN: "
                 "command lines are visible to other users)")
      ->envname("TASKHUB_TOKEN");
  app.add_flag("--tls", options.tls, "Connect with TLS (trusting the system's CA roots)")
      ->envname("TASKHUB_TLS");
  app.add_option("--tls-ca", options.tls_ca, "CA certificate (PEM) to trust; implies --tls")
      ->envname("TASKHUB_TLS_CA");
  app.add_option("--tls-cert", options.tls_cert, "Client certificate (PEM), for mutual TLS");
  app.add_option("--tls-key", options.tls_key, "Private key (PEM) of --tls-cert");
  app.add_option("-o,--output", options.output, "Output format: table (for people) or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  std::vector<Command> commands;
  RegisterInstanceCommands(app, commands);
  RegisterControlCommands(app, commands);
  RegisterQueryCommands(app, commands);
  RegisterAdminCommands(app, commands);
  RegisterEntityCommands(app, commands);
  RegisterNotificationCommands(app, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty() && !app.remaining().empty()) {
      std::cerr << "error: unknown command '" << app.remaining().front() << "'\n"
                << "Run 'taskhub --help' for the list of commands.\n";
      return kExitUsage;
    }
    std::cerr << "error: " << e.what() << "\nRun 'taskhub --help' or 'taskhub COMMAND --help'.\n";
    return kExitUsage;
  }
  return RunCommand(app, commands, options);
}

}  // namespace
}  // namespace taskhub::cli

int main(int argc, char** argv) {
  // gRPC's own log lines would repeat errors the CLI already reports.
  setenv("GRPC_VERBOSITY", "NONE", /*overwrite=*/0);
  return taskhub::cli::Main(argc, argv);
}
