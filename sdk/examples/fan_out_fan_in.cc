// Fan-out/fan-in: list the files, count the words of each in parallel, sum.
// Run: taskhub-example-fan-out-fan-in [--address localhost:4001]
#include <stdexcept>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "sdk/examples/example_main.h"

using taskhub::ActivityContext;
using taskhub::DurableTask;
using taskhub::OrchestrationContext;
using taskhub::Task;

Task<nlohmann::json> CountAllWords(OrchestrationContext& ctx) {
  auto files = co_await ctx.CallActivity<std::vector<std::string>>("list_files");
  std::vector<DurableTask<int>> counts;
  for (const std::string& file : files) {
    counts.push_back(ctx.CallActivity<int>("count_words", file));
  }
  std::vector<int> results = co_await ctx.WhenAll(counts);
  int total = 0;
  for (int n : results) total += n;
  co_return nlohmann::json{{"files", files.size()}, {"total_words", total}};
}

int main(int argc, char** argv) {
  taskhub::Registry registry;
  registry.AddOrchestrator("count_all_words", CountAllWords);
  registry.AddActivity("list_files", [](ActivityContext&) {
    std::vector<std::string> files;
    for (int i = 0; i < 20; ++i) files.push_back("file-" + std::to_string(i) + ".txt");
    return files;
  });
  // Stands in for reading a file: file-i.txt holds i+1 words.
  registry.AddActivity("count_words", [](ActivityContext&, std::string file) {
    // The name comes from the orchestration: parsed without std::stoi; anything but
    // file-<n>.txt fails the activity (an exception becomes its failure details).
    absl::string_view rest(file);
    int i = 0;
    if (!absl::ConsumePrefix(&rest, "file-") || !absl::ConsumeSuffix(&rest, ".txt") ||
        !absl::SimpleAtoi(rest, &i)) {
      throw std::invalid_argument("not a file-<n>.txt name: " + file);
    }
    return i + 1;
  });
  return taskhub::examples::RunExample(
      taskhub::examples::ParseArgs(argc, argv), std::move(registry), [](taskhub::Client& client) {
        return taskhub::examples::RunToCompletion(client, "count_all_words", nullptr);
      });
}
