#include "tests/sim/sim_model.h"

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/core/history.h"

namespace taskhub::sim {
namespace {

int64_t ParseInt(const std::string& s) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(s, &v)) return 0;
  return v;
}

struct Result {
  bool ok = false;
  std::string value;
};

// What a replay of the events knows, and the actions it decides.
class Replay {
 public:
  explicit Replay(const OrchestratorRequest& req) {
    std::vector<const HistoryEvent*> all;
    for (const auto& e : req.pastevents()) all.push_back(&e);
    for (const auto& e : req.newevents()) all.push_back(&e);
    for (const HistoryEvent* e : all) {
      if (e->has_executionstarted()) {
        started_ = e;
      } else if (e->has_taskscheduled() || e->has_timercreated() ||
                 e->has_suborchestrationinstancecreated()) {
        confirmed_.insert(e->eventid());
      } else if (e->has_taskcompleted()) {
        results_.push_back({e->taskcompleted().taskscheduledid(),
                            {true, e->taskcompleted().result().value()}});
      } else if (e->has_taskfailed()) {
        results_.push_back({e->taskfailed().taskscheduledid(), {false, ""}});
      } else if (e->has_suborchestrationinstancecompleted()) {
        results_.push_back({e->suborchestrationinstancecompleted().taskscheduledid(),
                            {true, e->suborchestrationinstancecompleted().result().value()}});
      } else if (e->has_suborchestrationinstancefailed()) {
        results_.push_back({e->suborchestrationinstancefailed().taskscheduledid(), {false, ""}});
      } else if (e->has_timerfired()) {
        results_.push_back({e->timerfired().timerid(), {true, ""}});
      } else if (e->has_eventraised()) {
        if (e->eventraised().name() == "go" && !go_) go_ = e->eventraised().input().value();
      } else if (e->has_executionsuspended()) {
        suspended_ = true;
      } else if (e->has_executionresumed()) {
        suspended_ = false;
      }
    }
    resp_.set_instanceid(req.instanceid());
  }

  OrchestratorResponse Run() {
    if (started_ == nullptr || suspended_) return resp_;
    const std::string& kind = started_->executionstarted().name();
    const std::string input = started_->executionstarted().input().value();
    if (kind == "seq" || kind == "fragile") {
      std::vector<int64_t> inputs;
      for (int64_t i = 0; i < ParseInt(input); ++i) inputs.push_back(i);
      if (auto sum = Sequential(inputs, /*retry=*/kind == "seq")) Complete(absl::StrCat(*sum));
    } else if (kind == "fan") {
      if (auto sum = FanOut(ParseInt(input))) Complete(absl::StrCat(*sum));
    } else if (kind == "timer") {
      const int id = next_++;
      if (!confirmed_.count(id)) {
        OrchestratorAction a;
        a.set_id(id);
        *a.mutable_createtimer()->mutable_fireat() =
            core::ToProto(core::FromProto(started_->timestamp()) + absl::Seconds(ParseInt(input)));
        *resp_.add_actions() = a;
        return resp_;
      }
      if (Find(id)) Complete("timer");
    } else if (kind == "event") {
      if (go_) Complete(*go_);
    } else if (kind == "child") {
      const int id = next_++;
      if (!confirmed_.count(id)) {
        OrchestratorAction a;
        a.set_id(id);
        a.mutable_createsuborchestration()->set_name("fragile");
        a.mutable_createsuborchestration()->mutable_input()->set_value(input);
        *resp_.add_actions() = a;
        return resp_;
      }
      if (auto r = Find(id)) {
        if (r->ok) {
          Complete(absl::StrCat("child:", r->value));
        } else {
          Fail("ChildFailed");
        }
      }
    } else if (kind == "can") {
      std::vector<std::string> parts = absl::StrSplit(input, ',');
      const int64_t k = ParseInt(parts[0]);
      const int64_t acc = parts.size() > 1 ? ParseInt(parts[1]) : 0;
      if (auto sum = Sequential({k}, /*retry=*/true)) {
        if (k > 0) {
          OrchestratorAction a;
          a.set_id(next_++);
          auto* c = a.mutable_completeorchestration();
          c->set_orchestrationstatus(ORCHESTRATION_STATUS_CONTINUED_AS_NEW);
          c->mutable_result()->set_value(absl::StrCat(k - 1, ",", acc + *sum));
          *resp_.add_actions() = a;
        } else {
          Complete(absl::StrCat(acc + *sum));
        }
      }
    }
    return resp_;
  }

 private:
  // The last result for task `id` (events in history order), if any.
  std::optional<Result> Find(int id) const {
    std::optional<Result> r;
    for (const auto& [rid, res] : results_) {
      if (rid == id) r = res;
    }
    return r;
  }

  void Schedule(int id, int64_t input) {
    OrchestratorAction a;
    a.set_id(id);
    a.mutable_scheduletask()->set_name("add");
    a.mutable_scheduletask()->mutable_input()->set_value(absl::StrCat(input));
    *resp_.add_actions() = a;
  }

  void Complete(const std::string& output) {
    OrchestratorAction a;
    a.set_id(next_++);
    a.mutable_completeorchestration()->set_orchestrationstatus(ORCHESTRATION_STATUS_COMPLETED);
    a.mutable_completeorchestration()->mutable_result()->set_value(output);
    *resp_.add_actions() = a;
  }

  void Fail(const std::string& type) {
    OrchestratorAction a;
    a.set_id(next_++);
    auto* c = a.mutable_completeorchestration();
    c->set_orchestrationstatus(ORCHESTRATION_STATUS_FAILED);
    c->mutable_failuredetails()->set_errortype(type);
    c->mutable_failuredetails()->set_errormessage("failed in the simulation");
    *resp_.add_actions() = a;
  }

  // One activity at a time; the sum when all succeeded. A failed one is retried
  // (`retry`), or fails the orchestration.
  std::optional<int64_t> Sequential(const std::vector<int64_t>& inputs, bool retry) {
    int64_t sum = 0;
    for (int64_t x : inputs) {
      while (true) {
        const int id = next_++;
        if (!confirmed_.count(id)) {
          Schedule(id, x);
          return std::nullopt;
        }
        std::optional<Result> r = Find(id);
        if (!r) return std::nullopt;
        if (!r->ok && !retry) {
          Fail("ActivityFailed");
          return std::nullopt;
        }
        if (!r->ok) continue;
        sum += ParseInt(r->value);
        break;
      }
    }
    return sum;
  }

  // Activities 0..n-1 at once; a failed one is retried under the next free id, in
  // the order the failures appear in the history.
  std::optional<int64_t> FanOut(int64_t n) {
    std::map<int, int64_t> input_of;
    for (int64_t i = 0; i < n; ++i) {
      const int id = next_++;
      input_of[id] = i;
      if (!confirmed_.count(id)) Schedule(id, i);
    }
    std::map<int64_t, int64_t> done;
    std::set<int> seen;
    for (const auto& [id, res] : results_) {
      auto it = input_of.find(id);
      if (it == input_of.end() || !seen.insert(id).second) continue;
      if (res.ok) {
        done[it->second] = ParseInt(res.value);
        continue;
      }
      const int retry = next_++;
      input_of[retry] = it->second;
      if (!confirmed_.count(retry)) Schedule(retry, it->second);
    }
    if (static_cast<int64_t>(done.size()) < n) return std::nullopt;
    int64_t sum = 0;
    for (const auto& [i, v] : done) sum += v;
    return sum;
  }

  const HistoryEvent* started_ = nullptr;
  std::set<int> confirmed_;
  std::vector<std::pair<int, Result>> results_;
  std::optional<std::string> go_;
  bool suspended_ = false;
  int next_ = 0;
  OrchestratorResponse resp_;
};

int64_t SumOfValues(int64_t from, int64_t to) {  // sum of f(i), from <= i < to
  int64_t sum = 0;
  for (int64_t i = from; i < to; ++i) sum += ActivityValue(i);
  return sum;
}

}  // namespace

int64_t ActivityValue(int64_t x) { return x * x + 1; }

ActivityResponse RunActivity(const ActivityRequest& req, bool fail) {
  ActivityResponse resp;
  resp.set_instanceid(req.orchestrationinstance().instanceid());
  resp.set_taskid(req.taskid());
  if (fail) {
    resp.mutable_failuredetails()->set_errortype("SimActivityFailed");
    resp.mutable_failuredetails()->set_errormessage("injected by the simulation");
  } else {
    resp.mutable_result()->set_value(absl::StrCat(ActivityValue(ParseInt(req.input().value()))));
  }
  return resp;
}

OrchestratorResponse Decide(const OrchestratorRequest& req) { return Replay(req).Run(); }

std::optional<std::string> ExpectedOutput(const std::string& kind, const std::string& input) {
  const int64_t p = ParseInt(std::string(input.substr(0, input.find(','))));
  if (kind == "seq" || kind == "fan" || kind == "fragile") return absl::StrCat(SumOfValues(0, p));
  if (kind == "timer") return "timer";
  if (kind == "child") return absl::StrCat("child:", SumOfValues(0, p));
  if (kind == "can") {
    std::vector<std::string> parts = absl::StrSplit(input, ',');
    const int64_t acc = parts.size() > 1 ? ParseInt(parts[1]) : 0;
    return absl::StrCat(acc + SumOfValues(0, ParseInt(parts[0]) + 1));
  }
  return std::nullopt;
}

std::string InputFor(const std::string& kind, int param) {
  if (kind == "timer") return absl::StrCat(param * 7);  // seconds
  if (kind == "event") return "0";
  if (kind == "can") return absl::StrCat(param, ",0");
  return absl::StrCat(param);
}

}  // namespace taskhub::sim
