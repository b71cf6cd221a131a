// GCC 12: a json temporary as the input of an awaited call.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<int> Orchestrator(OrchestrationContext& ctx) {
  co_return co_await ctx.CallActivity<int>("a", nlohmann::json{{"k", 1}});
}
