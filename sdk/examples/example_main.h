// Shared plumbing of the samples: flags, a worker for the sample's registry, and
// the final "RESULT: <json>" line (the samples' tests check it).
#ifndef TASKHUB_SDK_EXAMPLES_EXAMPLE_MAIN_H_
#define TASKHUB_SDK_EXAMPLES_EXAMPLE_MAIN_H_

#include <functional>
#include <iostream>
#include <set>
#include <string>

#include "taskhub/taskhub.h"

namespace taskhub::examples {

struct Args {
  std::string address = "localhost:4001";
  std::set<std::string> flags;
  bool Has(const std::string& f) const { return flags.count(f) > 0; }
};

inline Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--address" && i + 1 < argc) {
      a.address = argv[++i];
    } else {
      a.flags.insert(arg);
    }
  }
  return a;
}

// Schedules `name` with `input`, waits for it, and returns its output (an error
// unless it COMPLETED).
inline absl::StatusOr<nlohmann::json> RunToCompletion(Client& client, const std::string& name,
                                                      const nlohmann::json& input,
                                                      absl::Duration timeout = absl::Seconds(60)) {
  auto id = client.ScheduleNewOrchestration(name, input);
  if (!id.ok()) return id.status();
  auto state = client.WaitForInstanceCompletion(*id, timeout);
  if (!state.ok()) return state.status();
  if (!state->has_value()) return absl::NotFoundError("the instance disappeared");
  const OrchestrationMetadata& m = **state;
  if (m.runtime_status != RuntimeStatus::kCompleted) {
    return absl::InternalError(std::string("orchestration ended ") + ToString(m.runtime_status) +
                               (m.failure ? ": " + m.failure->message : ""));
  }
  return m.GetOutput().value_or(nlohmann::json());
}

// Runs a worker serving `registry` while `body` drives the sample with a client;
// prints "RESULT: <json>" and returns the process exit code.
inline int RunExample(const Args& args, Registry registry,
                      const std::function<absl::StatusOr<nlohmann::json>(Client&)>& body) {
  WorkerOptions options;
  options.address = args.address;
  Worker worker(std::move(registry), options);
  if (auto st = worker.Start(); !st.ok()) {
    std::cerr << "cannot start the worker: " << st << "\n";
    return 1;
  }
  auto client = Client::Connect({.address = args.address});
  if (!client.ok()) {
    std::cerr << "cannot create the client: " << client.status() << "\n";
    return 1;
  }
  absl::StatusOr<nlohmann::json> result = body(**client);
  worker.Stop();
  if (!result.ok()) {
    std::cerr << "error: " << result.status() << "\n";
    return 1;
  }
  std::cout << "RESULT: " << result->dump() << std::endl;
  return 0;
}

}  // namespace taskhub::examples

#endif  // TASKHUB_SDK_EXAMPLES_EXAMPLE_MAIN_H_
