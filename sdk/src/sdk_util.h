// Small helpers shared by the SDK's sources. Not public API.
#ifndef TASKHUB_SDK_SRC_SDK_UTIL_H_
#define TASKHUB_SDK_SRC_SDK_UTIL_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "nlohmann/json.hpp"
#include "orchestrator_service.pb.h"
#include "proto/timestamp_util.h"
#include "taskhub/task.h"

namespace taskhub::internal {

using ::taskhub::FromTimestamp;
using ::taskhub::ToTimestamp;
std::string Lower(std::string s);
// Parses a JSON payload; absent or empty = null. Throws nlohmann::json::parse_error.
nlohmann::json ParseJson(const google::protobuf::StringValue& v);
// A UUID-formatted string derived only from `seed`.
std::string DeterministicUuid(const std::string& seed);
// A random (version 4) UUID. Thread-safe.
std::string RandomUuid();
// The SDK's log: one line on stderr ("[time] [taskhub-sdk] [level] message").
// Thread-safe. (No logging library: the SDK depends only on gRPC, protobuf, abseil
// and nlohmann-json.)
enum class LogLevel { kInfo, kWarn, kError };
void SdkLog(LogLevel level, const std::string& message);
TaskFailure FailureFromProto(const TaskFailureDetails& f);
void FailureToProto(const TaskFailure& f, TaskFailureDetails* out);
// Failure details of the exception being handled (call inside a catch block).
TaskFailure CurrentExceptionFailure();

}  // namespace taskhub::internal

#endif  // TASKHUB_SDK_SRC_SDK_UTIL_H_
