// GCC 12: a std::string temporary (GetInput's result) as an input.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<int> Orchestrator(OrchestrationContext& ctx) {
  co_return co_await ctx.CallActivity<int>("a", ctx.GetInput<std::string>());
}
