// C++ SDK entity scenarios for tests/sdk/test_entities.py: each run starts its own
// worker and client against a taskhubd, runs one scenario and prints exactly one
// "RESULT: <json>" line (the test checks it against values it computes itself).
// Usage: taskhub-test-cpp-entities --address HOST:PORT --key PREFIX SCENARIO
//        taskhub-test-cpp-entities --replay   (one episode: request JSON in, response out)
// Scenarios: basics, thousand, transfers, delayed, failure, query, starts_orchestration.
#include <atomic>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "taskhub/taskhub.h"

namespace {

using taskhub::Client;
using taskhub::DurableTask;
using taskhub::EntityContext;
using taskhub::EntityInstanceId;
using taskhub::OrchestrationContext;
using taskhub::Task;
using Json = nlohmann::json;

// A function entity. add/get/reset; fail_after_write changes the state, signals
// and then throws (so all of it must be rolled back); start_child starts an
// orchestration and returns its id.
int Counter(EntityContext& ctx, const std::string& op, int amount) {
  int value = ctx.GetState<int>(0);
  if (op == "add") {
    ctx.SetState(value += amount);
  } else if (op == "reset") {
    ctx.DeleteState();
    value = 0;
  } else if (op == "fail_after_write") {
    ctx.SetState(value + 1000);
    ctx.SignalEntity(EntityInstanceId("counter", ctx.Id().key() + "-side"), "add", 1);
    throw std::runtime_error("refused after writing");
  } else if (op != "get") {
    throw std::invalid_argument("unknown operation " + op);
  }
  return value;
}

struct Account {
  int64_t balance = 0;
  int64_t Deposit(int64_t n) { return balance += n; }
  int64_t Withdraw(int64_t n) {
    if (n > balance) throw std::runtime_error("insufficient funds");
    return balance -= n;
  }
  int64_t Balance() const { return balance; }
  void Set(int64_t n) { balance = n; }
  std::string StartChild(EntityContext& ctx, Json input) {
    return ctx.StartNewOrchestration("child_echo", input);
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, balance)

Task<Json> CallAndSignal(OrchestrationContext& ctx) {
  const EntityInstanceId counter("Counter", ctx.GetInput<std::string>());
  ctx.SignalEntity(counter, "add", 10);
  const int after_call = co_await ctx.CallEntity<int>(counter, "add", 5);
  const int get = co_await ctx.CallEntity<int>(counter, "get");
  co_return Json{{"after_call", after_call}, {"get", get}};
}

// Reads the entities named in the input (ids "@name@key") in parallel with "get"
// (counters) or "balance" (accounts).
Task<std::vector<Json>> ReadAll(OrchestrationContext& ctx) {
  const std::vector<std::string> ids = ctx.GetInput<std::vector<std::string>>();
  std::vector<DurableTask<Json>> reads;
  for (const std::string& raw : ids) {
    const EntityInstanceId id = *EntityInstanceId::Parse(raw);
    reads.push_back(ctx.CallEntity(id, id.name() == "account" ? "balance" : "get"));
  }
  co_return co_await ctx.WhenAll(reads);
}

Task<bool> Transfer(OrchestrationContext& ctx) {
  const Json in = ctx.GetInput();
  const EntityInstanceId from("account", in["from"].get<std::string>());
  const EntityInstanceId to("account", in["to"].get<std::string>());
  const int64_t amount = in["amount"].get<int64_t>();
  auto lock = co_await ctx.LockEntities(from, to);
  // Read-modify-write of both balances: without the critical section, concurrent
  // transfers would overwrite each other's updates (lost updates break the sums).
  const int64_t from_balance = co_await ctx.CallEntity<int64_t>(from, "balance");
  const int64_t to_balance = co_await ctx.CallEntity<int64_t>(to, "balance");
  if (from_balance < amount) co_return false;
  co_await ctx.CallEntity(from, "set", from_balance - amount);
  co_await ctx.CallEntity(to, "set", to_balance + amount);
  lock.Release();
  co_return true;
}

Task<Json> CallFailing(OrchestrationContext& ctx) {
  const EntityInstanceId counter("counter", ctx.GetInput<std::string>());
  co_await ctx.CallEntity<int>(counter, "add", 5);
  Json out;
  try {
    co_await ctx.CallEntity<int>(counter, "fail_after_write");
    out["failed"] = false;
  } catch (const taskhub::EntityOperationFailedError& e) {
    out = Json{{"failed", true},
               {"error_type", e.failure().error_type},
               {"message", e.failure().message},
               {"entity", e.entity().ToString()},
               {"operation", e.operation()}};
  }
  out["after"] = co_await ctx.CallEntity<int>(counter, "get");
  co_return out;
}

Task<void> DelayedSignal(OrchestrationContext& ctx) {
  const EntityInstanceId counter("counter", ctx.GetInput<std::string>());
  ctx.SignalEntity(counter, "add", 7, ctx.CurrentUtcDateTime() + absl::Seconds(2));
  co_return;
}

Task<std::string> StartChild(OrchestrationContext& ctx) {
  const EntityInstanceId account("account", ctx.GetInput<std::string>());
  co_return co_await ctx.CallEntity<std::string>(account, "start_child", "from an entity");
}

Task<Json> ChildEcho(OrchestrationContext& ctx) { co_return ctx.GetInput(); }

// The same steps as the Python orchestration `shapes` in tests/sdk/test_entities.py:
// their actions are compared field by field (the server must see the same shapes).
Task<int> Shapes(OrchestrationContext& ctx) {
  const EntityInstanceId counter("Counter", "k"), a("account", "a"), b("account", "b");
  ctx.SignalEntity(counter, "add", 1);
  ctx.SignalEntity(counter, "add", 2, ctx.CurrentUtcDateTime() + absl::Minutes(1));
  const int value = co_await ctx.CallEntity<int>(counter, "get");
  auto lock = co_await ctx.LockEntities(b, a, b);
  co_await ctx.CallEntity<int>(a, "balance");
  lock.Release();
  co_return value;
}

taskhub::Registry MakeRegistry() {
  taskhub::Registry r;
  r.AddEntity("counter", Counter);
  r.AddEntity("account", taskhub::EntityClass<Account>()
                             .Op("deposit", &Account::Deposit)
                             .Op("withdraw", &Account::Withdraw)
                             .Op("balance", &Account::Balance)
                             .Op("set", &Account::Set)
                             .Op("start_child", &Account::StartChild));
  r.AddOrchestrator("call_and_signal", CallAndSignal);
  r.AddOrchestrator("read_all", ReadAll);
  r.AddOrchestrator("transfer", Transfer);
  r.AddOrchestrator("call_failing", CallFailing);
  r.AddOrchestrator("delayed_signal", DelayedSignal);
  r.AddOrchestrator("start_child", StartChild);
  r.AddOrchestrator("child_echo", ChildEcho);
  r.AddOrchestrator("shapes", Shapes);
  return r;
}

// Runs `name` to completion and returns its output (an error unless COMPLETED).
absl::StatusOr<Json> Run(Client& client, const std::string& name, const Json& input) {
  auto id = client.ScheduleNewOrchestration(name, input.dump());
  if (!id.ok()) return id.status();
  auto state = client.WaitForInstanceCompletion(*id, absl::Seconds(120));
  if (!state.ok()) return state.status();
  if (!state->has_value()) return absl::NotFoundError(*id + " disappeared");
  const auto& m = **state;
  if (m.status != ORCHESTRATION_STATUS_COMPLETED) {
    return absl::InternalError(absl::StrCat(*id, " ended ", OrchestrationStatus_Name(m.status),
                                            m.failure ? ": " + m.failure->message : ""));
  }
  return m.output ? Json::parse(*m.output) : Json();
}

#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    if (absl::Status s_ = (expr); !s_.ok()) { \
      return s_;                              \
    }                                         \
  } while (0)
#define ASSIGN_OR_RETURN(lhs, expr)             \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)

absl::StatusOr<Json> Basics(Client& c, const std::string& key) {
  const EntityInstanceId counter("counter", key), account("ACCOUNT", key);
  RETURN_IF_ERROR(c.SignalEntityWith(counter, "add", 3));
  RETURN_IF_ERROR(c.SignalEntityWith(account, "deposit", 50));
  ASSIGN_OR_RETURN(orch, Run(c, "call_and_signal", key));
  ASSIGN_OR_RETURN(reads, Run(c, "read_all", Json{counter.ToString(), account.ToString()}));
  ASSIGN_OR_RETURN(counter_state, c.GetEntity<int>(counter));
  ASSIGN_OR_RETURN(account_state, c.GetEntity<Account>(account));
  return Json{{"orchestration", orch},
              {"reads", reads},
              {"counter", counter_state.value_or(-1)},
              {"account", account_state ? account_state->balance : -1}};
}

absl::StatusOr<Json> Thousand(Client& c, const std::string& key) {
  const EntityInstanceId counter("counter", key);
  constexpr int kThreads = 8, kSignals = 1000;
  std::atomic<int> next{1}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i <= kSignals; i = next++) {
        if (!c.SignalEntityWith(counter, "add", i).ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (errors > 0) return absl::InternalError(absl::StrCat(errors.load(), " signals failed"));
  ASSIGN_OR_RETURN(reads, Run(c, "read_all", Json{counter.ToString()}));
  ASSIGN_OR_RETURN(state, c.GetEntity<int>(counter));
  return Json{{"signals", kSignals}, {"read", reads[0]}, {"client", state.value_or(-1)}};
}

absl::StatusOr<Json> Transfers(Client& c, const std::string& key) {
  const std::string a = key + "-a", b = key + "-b";
  RETURN_IF_ERROR(c.SignalEntityWith(EntityInstanceId("account", a), "deposit", 1000));
  RETURN_IF_ERROR(c.SignalEntityWith(EntityInstanceId("account", b), "deposit", 1000));
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    const Json in{{"from", i % 2 ? b : a}, {"to", i % 2 ? a : b}, {"amount", i + 1}};
    ASSIGN_OR_RETURN(id, c.ScheduleNewOrchestration("transfer", in.dump()));
    ids.push_back(id);
  }
  int moved = 0;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(state, c.WaitForInstanceCompletion(id, absl::Seconds(120)));
    if (!state || state->status != ORCHESTRATION_STATUS_COMPLETED) {
      return absl::InternalError("transfer " + id + " did not complete");
    }
    if (state->output == "true") ++moved;
  }
  ASSIGN_OR_RETURN(acc_a, c.GetEntity<Account>(EntityInstanceId("account", a)));
  ASSIGN_OR_RETURN(acc_b, c.GetEntity<Account>(EntityInstanceId("account", b)));
  return Json{
      {"moved", moved}, {"a", acc_a ? acc_a->balance : -1}, {"b", acc_b ? acc_b->balance : -1}};
}

absl::StatusOr<Json> Delayed(Client& c, const std::string& key) {
  const EntityInstanceId counter("counter", key);
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(c.SignalEntityWith(counter, "add", 5, start + absl::Seconds(2)));
  ASSIGN_OR_RETURN(orch, Run(c, "delayed_signal", key));
  ASSIGN_OR_RETURN(before, c.GetEntity<int>(counter));
  const absl::Duration checked_before = absl::Now() - start;
  // Both signals are due after 2 s: poll (bounded) until both were applied.
  std::optional<int> value;
  const absl::Time deadline = start + absl::Seconds(60);
  while (absl::Now() < deadline) {
    ASSIGN_OR_RETURN(v, c.GetEntity<int>(counter));
    value = v;
    if (value == 12) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return Json{{"before", before ? Json(*before) : Json()},
              {"checked_before_s", absl::ToDoubleSeconds(checked_before)},
              {"after", value ? Json(*value) : Json()},
              {"elapsed_s", absl::ToDoubleSeconds(absl::Now() - start)}};
}

absl::StatusOr<Json> Failure(Client& c, const std::string& key) {
  ASSIGN_OR_RETURN(out, Run(c, "call_failing", key));
  // The failed operation's signal to "<key>-side" was rolled back: that entity
  // must not exist (checked after a later call, so the batch has completed).
  ASSIGN_OR_RETURN(side, c.GetEntityMetadata(EntityInstanceId("counter", key + "-side")));
  out["side_exists"] = side.has_value();
  ASSIGN_OR_RETURN(state, c.GetEntity<int>(EntityInstanceId("counter", key)));
  out["client"] = state.value_or(-1);
  return out;
}

absl::StatusOr<Json> Query(Client& c, const std::string& key) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const EntityInstanceId id("counter", key + "-" + std::to_string(i));
    RETURN_IF_ERROR(c.SignalEntityWith(id, "add", i + 1));
    ids.push_back(id.ToString());
  }
  ASSIGN_OR_RETURN(reads, Run(c, "read_all", ids));
  Json out{{"reads", reads}};
  const EntityInstanceId first("counter", key + "-0");
  ASSIGN_OR_RETURN(no_state, c.GetEntityMetadata(first, false));
  ASSIGN_OR_RETURN(with_state, c.GetEntityMetadata(first, true));
  ASSIGN_OR_RETURN(missing, c.GetEntityMetadata(EntityInstanceId("counter", key + "-none")));
  out["get"] =
      Json{{"exists", no_state.has_value()},
           {"state_without", no_state && no_state->state ? Json(*no_state->state) : Json()},
           {"state_with", with_state && with_state->state ? Json(*with_state->state) : Json()},
           {"id", with_state ? with_state->instance_id : ""},
           {"missing_exists", missing.has_value()}};
  taskhub::EntityQuery q;
  q.instance_id_prefix = "@counter@" + key + "-";
  q.page_size = 2;
  int pages = 0;
  Json listed = Json::object();
  while (true) {
    ASSIGN_OR_RETURN(page, c.QueryEntities(q));
    ++pages;
    for (const auto& m : page.entities)
      listed[m.instance_id] = m.state ? Json::parse(*m.state) : Json();
    if (page.continuation_token.empty() || pages > 10) break;
    q.continuation_token = page.continuation_token;
  }
  out["paged"] = Json{{"pages", pages}, {"entities", listed}};
  taskhub::EntityQuery no_states;
  no_states.instance_id_prefix = "@counter@" + key + "-";
  no_states.include_state = false;
  ASSIGN_OR_RETURN(without, c.QueryAllEntities(no_states));
  int with_state_count = 0;
  for (const auto& m : without) with_state_count += m.state.has_value();
  out["without_state"] = Json{{"count", without.size()}, {"states", with_state_count}};
  taskhub::EntityQuery future = no_states;
  future.last_modified_from = absl::Now() + absl::Hours(1);
  ASSIGN_OR_RETURN(none, c.QueryAllEntities(future));
  out["modified_in_future"] = none.size();
  // Delete one entity's state; once its batch completed it is gone.
  RETURN_IF_ERROR(c.SignalEntityWith(first, "reset", nullptr));
  // A call queued behind the reset: once it answered, the reset has run (and the
  // call itself leaves the entity without state, queue or lock: deleted).
  ASSIGN_OR_RETURN(after_reset, Run(c, "read_all", Json{ids[0]}));
  out["read_after_reset"] = after_reset;
  ASSIGN_OR_RETURN(reset_entity, c.GetEntityMetadata(first));
  out["reset_exists"] = reset_entity.has_value();
  ASSIGN_OR_RETURN(clean, c.CleanEntityStorage(true, true));
  ASSIGN_OR_RETURN(remaining, c.QueryAllEntities(no_states));
  out["after_clean"] = Json{{"remaining", remaining.size()},
                            {"removed", clean.empty_entities_removed},
                            {"released", clean.orphaned_locks_released}};
  return out;
}

absl::StatusOr<Json> StartsOrchestration(Client& c, const std::string& key) {
  ASSIGN_OR_RETURN(child_id, Run(c, "start_child", key));
  ASSIGN_OR_RETURN(child,
                   c.WaitForInstanceCompletion(child_id.get<std::string>(), absl::Seconds(60)));
  if (!child) return absl::NotFoundError("the child " + child_id.dump() + " does not exist");
  return Json{{"child_id", child_id},
              {"status", OrchestrationStatus_Name(child->status)},
              {"output", child->output ? Json::parse(*child->output) : Json()}};
}

}  // namespace

// --replay: one episode without a server. Reads an OrchestratorRequest as JSON on
// stdin, writes the OrchestratorResponse as JSON on stdout.
int ReplayOne() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  OrchestratorRequest req;
  google::protobuf::util::JsonParseOptions in;
  in.ignore_unknown_fields = true;
  if (auto st = google::protobuf::util::JsonStringToMessage(text, &req, in); !st.ok()) {
    std::cerr << "bad request: " << st.ToString() << "\n";
    return 2;
  }
  const taskhub::Registry registry = MakeRegistry();
  OrchestratorResponse resp = taskhub::ExecuteOrchestrator(registry, req, "tok");
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(resp, &out);
  std::cout << out << std::endl;
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--replay") return ReplayOne();
  std::string address = "localhost:4001", key = "k", scenario;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--address" && i + 1 < argc) {
      address = argv[++i];
    } else if (arg == "--key" && i + 1 < argc) {
      key = argv[++i];
    } else {
      scenario = arg;
    }
  }
  const std::map<std::string, absl::StatusOr<Json> (*)(Client&, const std::string&)> scenarios{
      {"basics", Basics},
      {"thousand", Thousand},
      {"transfers", Transfers},
      {"delayed", Delayed},
      {"failure", Failure},
      {"query", Query},
      {"starts_orchestration", StartsOrchestration}};
  auto it = scenarios.find(scenario);
  if (it == scenarios.end()) {
    std::cerr << "unknown scenario '" << scenario << "'\n";
    return 2;
  }
  taskhub::WorkerOptions options;
  options.address = address;
  taskhub::Worker worker(MakeRegistry(), options);
  if (auto st = worker.Start(); !st.ok()) {
    std::cerr << st << "\n";
    return 1;
  }
  auto client = Client::Connect({.address = address});
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }
  absl::StatusOr<Json> result = it->second(**client, key);
  worker.Stop();
  if (!result.ok()) {
    std::cerr << "error: " << result.status() << "\n";
    return 1;
  }
  std::cout << "RESULT: " << result->dump() << std::endl;
  return 0;
}
