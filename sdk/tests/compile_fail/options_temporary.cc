// GCC 12: an ActivityOptions temporary inside co_await crashed at tear-down (issue 14).
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<int> Orchestrator(OrchestrationContext& ctx) {
  taskhub::RetryPolicy policy;
  co_return co_await ctx.CallActivity<int>("a", 1, taskhub::ActivityOptions{.retry = policy});
}
