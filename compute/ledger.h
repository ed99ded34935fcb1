// Ledger: an agent's budget in integer micro-USD (1 = $0.000001), shared by every module
// that spends money (compute now; containers next). Money is reserved before work starts,
// settled to the actual cost when it ends (the rest released), or released whole on failure,
// cancel or restart. Every change is a row in budget_holds (the journal, settled rows kept 31
// days) plus the running totals of its two windows in budget_windows, written in the caller's
// transaction with the work's own rows, so reservations and spend survive kill -9 and are
// never lost or counted twice, and a check reads two rows however many holds there are. Windows:
// the agent's current tick (the tick in progress, or the next one: agents.tick_count + 1) and the
// UTC day. Thread-safety: stateless; every function runs inside the caller's Database transaction
// (writes are serialized, which is what makes a reservation exact under contention).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/sqlite.h"

namespace agent9::compute {

// compute/policy (DESIGN 4.2). Absent limits are unlimited; empty lists allow all.
struct BudgetPolicy {
  std::vector<std::string> allowed_providers;
  std::vector<std::string> allowed_models;
  std::optional<int64_t> max_cost_usd_per_tick;
  std::optional<int64_t> max_cost_usd_per_day;
  std::optional<int64_t> default_max_cost_usd;

  Json ToJson() const;
  // Strict: unknown keys, wrong types and negative amounts are kInvalidArgument naming the key.
  static Result<BudgetPolicy> FromJson(const Json& j);
  static Result<BudgetPolicy> Parse(std::string_view text);
  // kPermissionDenied naming the rule when provider or model is not allowed.
  Status Allows(std::string_view provider, std::string_view model) const;
};

struct BudgetWindow {
  int64_t reserved = 0;
  int64_t spent = 0;
  std::optional<int64_t> limit;
  // limit − spent − reserved (never below 0), or nullopt when unlimited.
  std::optional<int64_t> remaining() const;
  Json ToJson()
      const;  // {"reserved_usd","spent_usd","limit_usd","remaining_usd"} (null: unlimited)
};

struct BudgetUsage {
  int64_t tick = 0;  // the tick window's number
  int64_t day = 0;   // UTC day number (ms / 86400000)
  BudgetWindow tick_window;
  BudgetWindow day_window;
  // {"tick":{...,"tick":N},"day":{...,"date":"YYYY-MM-DD"}}
  Json ToJson() const;
};

// A reservation request.
struct Hold {
  std::string id;  // unique: "compute:<job id>"
  std::string agent;
  std::string source;  // "compute"
  int64_t tick = 0;    // the window it counts in (CurrentTick)
  int64_t amount = 0;  // micro-USD
  int64_t now_ms = 0;
};

class Ledger {
 public:
  static Status Migrate(Database& db);

  // The agent's policy (the empty policy when none was set). kNotFound for unknown agents.
  static Result<BudgetPolicy> GetPolicy(Conn& c, std::string_view agent);
  static Status SetPolicy(Conn& c, std::string_view agent, const BudgetPolicy& p, int64_t now_ms);

  // agents.tick_count + 1: the tick in progress or the next one. kNotFound for unknown agents.
  static Result<int64_t> CurrentTick(Conn& c, std::string_view agent);
  static Result<BudgetUsage> Usage(Conn& c, std::string_view agent, const BudgetPolicy& p,
                                   int64_t tick, int64_t now_ms);
  // The day's window with its limit, for an agent known to exist (the status document):
  // two reads, where GetPolicy + CurrentTick + Usage make five.
  static Result<BudgetWindow> DayWindow(Conn& c, std::string_view agent, int64_t now_ms);

  // Reserves h.amount against both windows. kBudgetExceeded ("budget exceeded: ...") with the
  // field remaining_usd (the smaller window's) when either cannot cover it; nothing is written.
  static Status Reserve(Conn& c, const Hold& h, const BudgetPolicy& p);
  // Charges min(cost, reserved) and releases the rest; the excess of a cost over its
  // reservation is returned (never charged: a reservation is the most a job can spend).
  // A hold that is already settled is left as it is (returns 0). kNotFound for unknown holds.
  static Result<int64_t> Settle(Conn& c, std::string_view hold_id, int64_t cost, int64_t now_ms);
  // Settle with cost 0.
  static Status Release(Conn& c, std::string_view hold_id, int64_t now_ms);
};

int64_t UtcDay(int64_t ms);
// The first millisecond of UTC day `day` (UtcDay's inverse).
int64_t UtcDayStartMs(int64_t day);

}  // namespace agent9::compute
