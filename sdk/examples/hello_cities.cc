// Function chaining: call activities one after another, each result feeding the
// list. Run: taskhub-example-hello-cities [--address localhost:4001]
#include "sdk/examples/example_main.h"

using taskhub::ActivityContext;
using taskhub::OrchestrationContext;
using taskhub::Task;

Task<std::vector<std::string>> HelloCities(OrchestrationContext& ctx) {
  std::vector<std::string> greetings;
  for (const char* city : {"Tokyo", "Seattle", "London"}) {
    greetings.push_back(co_await ctx.CallActivity<std::string>("say_hello", city));
  }
  co_return greetings;
}

int main(int argc, char** argv) {
  taskhub::Registry registry;
  registry.AddOrchestrator("hello_cities", HelloCities);
  registry.AddActivity("say_hello",
                       [](ActivityContext&, std::string city) { return "Hello " + city + "!"; });
  return taskhub::examples::RunExample(
      taskhub::examples::ParseArgs(argc, argv), std::move(registry), [](taskhub::Client& client) {
        return taskhub::examples::RunToCompletion(client, "hello_cities", nullptr);
      });
}
