#include "sdk/src/sdk_util.h"

#include <cxxabi.h>

#include <cctype>
#include <cstdio>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace taskhub::internal {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

nlohmann::json ParseJson(const google::protobuf::StringValue& v) {
  if (v.value().empty()) return nlohmann::json();
  return nlohmann::json::parse(v.value());
}

std::string DeterministicUuid(const std::string& seed) {
  auto fnv = [&](uint64_t h) {
    for (unsigned char c : seed) {
      h ^= c;
      h *= 1099511628211ull;
    }
    return h;
  };
  uint64_t hi = fnv(14695981039346656037ull), lo = fnv(0x9E3779B97F4A7C15ull);
  hi = (hi & ~0xF000ull) | 0x5000ull;  // version 5 (name-based)
  lo = (lo & ~(3ull << 62)) | (2ull << 62);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

std::string RandomUuid() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> l(mu);
    hi = rng();
    lo = rng();
  }
  hi = (hi & ~0xF000ull) | 0x4000ull;
  lo = (lo & ~(3ull << 62)) | (2ull << 62);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                static_cast<unsigned long long>(hi & 0xFFFF),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFull));
  return buf;
}

void SdkLog(LogLevel level, const std::string& message) {
  static std::mutex mu;
  const char* name = level == LogLevel::kInfo   ? "info"
                     : level == LogLevel::kWarn ? "warning"
                                                : "error";
  const std::string line =
      absl::StrCat("[", absl::FormatTime("%Y-%m-%d %H:%M:%E3S", absl::Now(), absl::LocalTimeZone()),
                   "] [taskhub-sdk] [", name, "] ", message, "\n");
  std::lock_guard<std::mutex> l(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

TaskFailure FailureFromProto(const TaskFailureDetails& f) {
  TaskFailure out;
  out.error_type = f.errortype();
  out.message = f.errormessage();
  if (f.has_stacktrace()) out.stack_trace = f.stacktrace().value();
  if (f.has_innerfailure())
    out.inner = std::make_shared<TaskFailure>(FailureFromProto(f.innerfailure()));
  out.non_retriable = f.isnonretriable();
  return out;
}

void FailureToProto(const TaskFailure& f, TaskFailureDetails* out) {
  out->set_errortype(f.error_type);
  out->set_errormessage(f.message);
  if (f.stack_trace) out->mutable_stacktrace()->set_value(*f.stack_trace);
  if (f.inner) FailureToProto(*f.inner, out->mutable_innerfailure());
  out->set_isnonretriable(f.non_retriable);
}

TaskFailure CurrentExceptionFailure() {
  TaskFailure f;
  std::string type = "unknown";
  if (const std::type_info* ti = abi::__cxa_current_exception_type()) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(ti->name(), nullptr, nullptr, &status);
    type = status == 0 && demangled ? demangled : ti->name();
    std::free(demangled);
  }
  f.error_type = type;
  try {
    throw;
  } catch (const TaskFailedError& e) {
    f.message = e.what();
    f.inner = std::make_shared<TaskFailure>(e.failure());
  } catch (const std::exception& e) {
    f.message = e.what();
  } catch (...) {
    f.message = "an exception of type " + type + " was thrown";
  }
  return f;
}

}  // namespace taskhub::internal
