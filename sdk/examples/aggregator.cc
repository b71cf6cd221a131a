// Aggregator (durable entity): a counter updated by many one-way signals from the
// client, processed one at a time in arrival order, then read by an orchestration
// (an entity call, queued behind the signals) and by the client.
// Run: taskhub-example-aggregator [--address localhost:4001] [--signals N]
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "sdk/examples/example_main.h"

using taskhub::EntityContext;
using taskhub::EntityInstanceId;
using taskhub::OrchestrationContext;
using taskhub::Task;

// The counter: operations "add" (input: amount), "get", "reset".
int Counter(EntityContext& ctx, const std::string& operation, int amount) {
  int value = ctx.GetState<int>(0);
  if (operation == "add") {
    ctx.SetState(value += amount);
  } else if (operation == "reset") {
    ctx.DeleteState();
    value = 0;
  } else if (operation != "get") {
    throw std::invalid_argument("unknown counter operation: " + operation);
  }
  return value;
}

// Reads the counter named by the input (its key) with an entity call.
Task<int> ReadCounter(OrchestrationContext& ctx) {
  const EntityInstanceId counter("counter", ctx.GetInput<std::string>());
  co_return co_await ctx.CallEntity<int>(counter, "get");
}

int main(int argc, char** argv) {
  taskhub::examples::Args args = taskhub::examples::ParseArgs(argc, argv);
  int signals = 100;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--signals") signals = std::atoi(argv[i + 1]);
  }
  taskhub::Registry registry;
  registry.AddEntity("counter", Counter);
  registry.AddOrchestrator("read_counter", ReadCounter);
  return taskhub::examples::RunExample(
      args, std::move(registry), [&](taskhub::Client& client) -> absl::StatusOr<nlohmann::json> {
        const std::string key = absl::StrCat("sample-", absl::ToUnixNanos(absl::Now()));
        const EntityInstanceId counter("counter", key);
        for (int i = 1; i <= signals; ++i) {
          if (auto st = client.SignalEntityWith(counter, "add", i); !st.ok()) return st;
        }
        std::cout << "sent " << signals << " signals to " << counter.ToString() << std::endl;
        absl::StatusOr<nlohmann::json> read =
            taskhub::examples::RunToCompletion(client, "read_counter", key);
        if (!read.ok()) return read.status();
        absl::StatusOr<std::optional<int>> state = client.GetEntity<int>(counter);
        if (!state.ok()) return state.status();
        return nlohmann::json{{"signals", signals},
                              {"read_by_orchestration", *read},
                              {"read_by_client", state->value_or(-1)}};
      });
}
