// A C++ SDK worker for the cross-language and resilience tests (tests/sdk):
// orchestrators cpp_greeter, cpp_calls_python (calls the Python activity py_upper),
// cpp_timer_chain and cpp_calls_py_entity (calls the Python entity py_counter);
// activities cpp_greet and cpp_increment; the entity cpp_counter. It sends work-item
// filters, prints "ready" once connected, and stops gracefully on SIGTERM.
// Usage: taskhub-test-cpp-worker --address HOST:PORT [--token T] [--tls-ca PEM]
//        [--tls-cert PEM --tls-key PEM]   (TLS and tokens: tests/security)
#include <signal.h>

#include <iostream>
#include <thread>

#include "taskhub/taskhub.h"

using taskhub::ActivityContext;
using taskhub::OrchestrationContext;
using taskhub::Task;

Task<std::string> Greeter(OrchestrationContext& ctx) {
  const std::string name = ctx.GetInput<std::string>();
  co_return co_await ctx.CallActivity<std::string>("cpp_greet", name);
}

Task<nlohmann::json> CallsPython(OrchestrationContext& ctx) {
  const std::string input = ctx.GetInput<std::string>();
  std::string upper = co_await ctx.CallActivity<std::string>("py_upper", input);
  std::string greeting = co_await ctx.CallActivity<std::string>("cpp_greet", upper);
  co_return nlohmann::json{{"python", upper}, {"cpp", greeting}};
}

Task<int> TimerChain(OrchestrationContext& ctx) {
  const int n = ctx.GetInput<int>();
  int value = 0;
  for (int i = 0; i < n; ++i) {
    co_await ctx.CreateTimer(absl::Seconds(1));
    value = co_await ctx.CallActivity<int>("cpp_increment", value);
  }
  co_return value;
}

// Adds the input's amount to the Python entity py_counter/<key>, then reads it.
Task<nlohmann::json> CallsPyEntity(OrchestrationContext& ctx) {
  const nlohmann::json in = ctx.GetInput();
  const taskhub::EntityInstanceId counter("py_counter", in["key"].get<std::string>());
  ctx.SignalEntity(counter, "add", 1);
  const int added = co_await ctx.CallEntity<int>(counter, "add", in["amount"].get<int>());
  nlohmann::json failure;
  try {
    co_await ctx.CallEntity<int>(counter, "fail");
  } catch (const taskhub::EntityOperationFailedError& e) {
    failure = e.failure().message;
  }
  const int get = co_await ctx.CallEntity<int>(counter, "get");
  co_return nlohmann::json{{"added", added}, {"get", get}, {"failure", failure}};
}

// add/get; "fail" throws (the caller gets the failure, the state is unchanged).
int CppCounter(taskhub::EntityContext& ctx, const std::string& op, int amount) {
  int value = ctx.GetState<int>(0);
  if (op == "add") {
    ctx.SetState(value += amount);
  } else if (op == "fail") {
    ctx.SetState(-1);
    throw std::runtime_error("cpp_counter refuses");
  }
  return value;
}

int main(int argc, char** argv) {
  taskhub::WorkerOptions options;
  std::string ca, cert, key;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--address") options.address = argv[i + 1];
    if (flag == "--token") options.token = argv[i + 1];
    if (flag == "--tls-ca") ca = argv[i + 1];
    if (flag == "--tls-cert") cert = argv[i + 1];
    if (flag == "--tls-key") key = argv[i + 1];
  }
  for (auto [path, pem] : {std::pair{&ca, &options.tls.root_certs_pem},
                           {&cert, &options.tls.client_cert_pem},
                           {&key, &options.tls.client_key_pem}}) {
    if (path->empty()) continue;
    auto text = taskhub::ReadFile(*path);
    if (!text.ok()) {
      std::cerr << text.status() << "\n";
      return 2;
    }
    *pem = *text;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  taskhub::Registry registry;
  registry.AddOrchestrator("cpp_greeter", Greeter);
  registry.AddOrchestrator("cpp_calls_python", CallsPython);
  registry.AddOrchestrator("cpp_timer_chain", TimerChain);
  registry.AddOrchestrator("cpp_calls_py_entity", CallsPyEntity);
  registry.AddEntity("cpp_counter", CppCounter);
  registry.AddActivity("cpp_greet", [](ActivityContext&, std::string name) {
    return "Hello " + name + " from C++";
  });
  registry.AddActivity("cpp_increment", [](ActivityContext&, int v) { return v + 1; });
  options.max_backoff = absl::Seconds(2);
  taskhub::Worker worker(std::move(registry), options);
  if (auto st = worker.Start(); !st.ok()) {
    std::cerr << st << "\n";
    return 1;
  }
  std::thread announce([&worker] {
    for (int i = 0; i < 600 && !worker.connected(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::cout << (worker.connected() ? "ready" : "not connected") << std::endl;
  });
  int sig = 0;
  sigwait(&signals, &sig);
  announce.join();
  worker.Stop();
  return 0;
}
