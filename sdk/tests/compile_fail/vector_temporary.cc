// GCC 12: a temporary vector of tasks inside co_await.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<size_t> Orchestrator(OrchestrationContext& ctx) {
  auto a = ctx.CallActivity<int>("a", 1);
  auto b = ctx.CallActivity<int>("b", 2);
  co_return co_await ctx.WhenAny(std::vector<taskhub::DurableTask<int>>{a, b});
}
