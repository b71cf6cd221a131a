// An AI document pipeline: classify a document, then extract entities, summarize,
// score sentiment and pick keywords in parallel, then merge. The "model" calls are
// deterministic local functions standing in for real model endpoints.
// Run: taskhub-example-ai-pipeline [--address localhost:4001]
#include <algorithm>
#include <cctype>
#include <sstream>

#include "sdk/examples/example_main.h"

using taskhub::ActivityContext;
using taskhub::DurableTask;
using taskhub::OrchestrationContext;
using taskhub::Task;

namespace {
const char kDocument[] =
    "Invoice INV-2026-17 from Contoso Ltd to Fabrikam Inc: total 1,250.00 EUR due "
    "2026-12-31. Thank you for your business, we appreciate the prompt payment.";

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    w.erase(
        std::remove_if(w.begin(), w.end(), [](char c) { return c == ',' || c == ':' || c == '.'; }),
        w.end());
    if (!w.empty()) out.push_back(w);
  }
  return out;
}
}  // namespace

Task<nlohmann::json> DocumentPipeline(OrchestrationContext& ctx) {
  const std::string doc = ctx.GetInput<std::string>();
  const std::string category = co_await ctx.CallActivity<std::string>("classify", doc);
  nlohmann::json request{{"text", doc}, {"category", category}};
  std::vector<DurableTask<nlohmann::json>> steps;
  for (const char* step : {"extract_entities", "summarize", "sentiment", "keywords"}) {
    steps.push_back(ctx.CallActivity(step, request));
  }
  std::vector<nlohmann::json> results = co_await ctx.WhenAll(steps);
  co_return nlohmann::json{{"category", category},
                           {"entities", results[0]},
                           {"summary", results[1]},
                           {"sentiment", results[2]},
                           {"keywords", results[3]}};
}

int main(int argc, char** argv) {
  taskhub::Registry registry;
  registry.AddOrchestrator("document_pipeline", DocumentPipeline);
  registry.AddActivity("classify", [](ActivityContext&, std::string text) {
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    return std::string(lower.find("invoice") != std::string::npos ? "invoice" : "other");
  });
  registry.AddActivity("extract_entities", [](ActivityContext&, nlohmann::json in) {
    std::vector<std::string> entities;  // capitalized words that follow each other
    std::string current;
    for (const auto& w : Words(in["text"])) {
      if (std::isupper(static_cast<unsigned char>(w[0])) && w != "Invoice" && w != "Thank") {
        current += (current.empty() ? "" : " ") + w;
      } else if (!current.empty()) {
        entities.push_back(current);
        current.clear();
      }
    }
    if (!current.empty()) entities.push_back(current);
    return entities;
  });
  registry.AddActivity("summarize", [](ActivityContext&, nlohmann::json in) {
    const std::string text = in["text"];
    return in["category"].get<std::string>() + ": " + text.substr(0, text.find(". ") + 1);
  });
  registry.AddActivity("sentiment", [](ActivityContext&, nlohmann::json in) {
    const std::string text = in["text"];
    int score = 0;
    for (const char* good : {"thank", "appreciate", "prompt"}) {
      std::string lower = text;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower.find(good) != std::string::npos) ++score;
    }
    return std::string(score > 1 ? "positive" : score == 1 ? "neutral" : "negative");
  });
  registry.AddActivity("keywords", [](ActivityContext&, nlohmann::json in) {
    std::vector<std::string> words = Words(in["text"]);
    std::stable_sort(words.begin(), words.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
    words.resize(std::min<size_t>(words.size(), 5));
    return words;
  });
  return taskhub::examples::RunExample(
      taskhub::examples::ParseArgs(argc, argv), std::move(registry), [](taskhub::Client& client) {
        return taskhub::examples::RunToCompletion(client, "document_pipeline", kDocument);
      });
}
