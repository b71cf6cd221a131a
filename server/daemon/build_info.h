// What taskhubd was built from: the project version and the git commit, both taken
// when CMake configured the build (a new commit re-runs the configure step; "unknown"
// outside a git checkout). Thread-safe (constants).
#ifndef TASKHUB_SERVER_DAEMON_BUILD_INFO_H_
#define TASKHUB_SERVER_DAEMON_BUILD_INFO_H_

#include <string>

namespace taskhub::daemon {

const char* BuildVersion();  // e.g. "0.1.0"
const char* BuildCommit();   // 12 hex digits, or "unknown"
// "taskhubd 0.1.0 (commit 0123456789ab)"
std::string VersionString();

}  // namespace taskhub::daemon

#endif  // TASKHUB_SERVER_DAEMON_BUILD_INFO_H_
