// Helpers shared by lifecycle*.cc. Not part of the core's API.
#ifndef TASKHUB_SERVER_CORE_LIFECYCLE_INTERNAL_H_
#define TASKHUB_SERVER_CORE_LIFECYCLE_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "server/core/lifecycle.h"

namespace taskhub::core::internal {

absl::Status NotFound(const std::string& id);
absl::Status WrongState(const std::string& id, OrchestrationStatus s, absl::string_view need);
// A Transition for `id` that writes nothing and replies `status`.
Transition Refuse(const std::string& id, absl::Status status);
// An empty OK Transition for `id`.
Transition ForInstance(const std::string& id);
// Sets t->record to `failed` rewound (RUNNING, no output/failure/completion time) and
// appends executionRewound(`rewound`) to the inbox.
void RewindInto(const store::InstanceRecord& failed, ExecutionRewoundEvent rewound,
                absl::Time now, Transition* t);

}  // namespace taskhub::core::internal

#endif  // TASKHUB_SERVER_CORE_LIFECYCLE_INTERNAL_H_
