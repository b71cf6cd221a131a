// Critical section (durable entities): concurrent transfers between two bank
// accounts. Each transfer orchestration locks both accounts (LockEntities), reads
// the source balance, withdraws and deposits, then releases the locks; no other
// operation runs on either account in between, so no update is lost and the total
// is conserved.
// Run: taskhub-example-critical-section [--address localhost:4001] [--transfers N]
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "sdk/examples/example_main.h"

using taskhub::EntityContext;
using taskhub::EntityInstanceId;
using taskhub::OrchestrationContext;
using taskhub::Task;

// A class entity: the object is the state (saved as {"balance": n}).
struct Account {
  int64_t balance = 0;
  int64_t Deposit(int64_t amount) { return balance += amount; }
  int64_t Withdraw(int64_t amount) {
    if (amount > balance) throw std::runtime_error("insufficient funds");
    return balance -= amount;
  }
  int64_t Balance() const { return balance; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account, balance)

struct TransferRequest {
  std::string from, to;
  int64_t amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TransferRequest, from, to, amount)

// Returns whether the money moved (false: not enough funds).
Task<bool> Transfer(OrchestrationContext& ctx) {
  const TransferRequest req = ctx.GetInput<TransferRequest>();
  const EntityInstanceId from("account", req.from), to("account", req.to);
  auto lock = co_await ctx.LockEntities(from, to);
  const int64_t available = co_await ctx.CallEntity<int64_t>(from, "balance");
  if (available < req.amount) co_return false;  // the lock is released on return
  co_await ctx.CallEntity<int64_t>(from, "withdraw", req.amount);
  co_await ctx.CallEntity<int64_t>(to, "deposit", req.amount);
  lock.Release();
  co_return true;
}

int main(int argc, char** argv) {
  taskhub::examples::Args args = taskhub::examples::ParseArgs(argc, argv);
  int transfers = 20;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--transfers") transfers = std::atoi(argv[i + 1]);
  }
  taskhub::Registry registry;
  registry.AddEntity("account", taskhub::EntityClass<Account>()
                                    .Op("deposit", &Account::Deposit)
                                    .Op("withdraw", &Account::Withdraw)
                                    .Op("balance", &Account::Balance));
  registry.AddOrchestrator("transfer", Transfer);
  return taskhub::examples::RunExample(
      args, std::move(registry), [&](taskhub::Client& client) -> absl::StatusOr<nlohmann::json> {
        const std::string run = absl::StrCat(absl::ToUnixNanos(absl::Now()));
        const std::string a = "alice-" + run, b = "bob-" + run;
        for (const std::string& key : {a, b}) {
          auto st = client.SignalEntityWith(EntityInstanceId("account", key), "deposit", 1000);
          if (!st.ok()) return st;
        }
        // All transfers at once, alternating directions, amounts 10, 20, ... 100.
        std::vector<std::string> ids;
        for (int i = 0; i < transfers; ++i) {
          TransferRequest req{i % 2 ? b : a, i % 2 ? a : b, 10 * (i % 10 + 1)};
          auto id = client.ScheduleNewOrchestration("transfer", nlohmann::json(req).dump());
          if (!id.ok()) return id.status();
          ids.push_back(*id);
        }
        int moved = 0;
        for (const std::string& id : ids) {
          auto state = client.WaitForInstanceCompletion(id, absl::Seconds(120));
          if (!state.ok()) return state.status();
          if (!state->has_value() || (*state)->status != ORCHESTRATION_STATUS_COMPLETED) {
            return absl::InternalError("transfer " + id + " did not complete");
          }
          if ((*state)->output == "true") ++moved;
        }
        std::cout << moved << " of " << transfers << " transfers moved money" << std::endl;
        int64_t total = 0;
        nlohmann::json balances;
        for (const std::string& key : {a, b}) {
          auto account = client.GetEntity<Account>(EntityInstanceId("account", key));
          if (!account.ok()) return account.status();
          if (!account->has_value()) return absl::InternalError("account " + key + " is gone");
          balances[key.substr(0, key.find('-'))] = (*account)->balance;
          total += (*account)->balance;
        }
        return nlohmann::json{
            {"transfers", transfers}, {"moved", moved}, {"total", total}, {"balances", balances}};
      });
}
