// GCC 12: a std::string temporary as an activity name.
#include <string>
#include <vector>

#include "taskhub/taskhub.h"

using taskhub::OrchestrationContext;
using taskhub::Task;

Task<int> Orchestrator(OrchestrationContext& ctx) {
  const std::string prefix = "a";
  co_return co_await ctx.CallActivity<int>(prefix + "b", 1);
}
