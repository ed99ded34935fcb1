#include "compute/ledger.h"

#include <algorithm>
#include <ctime>

namespace agent9::compute {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kMaxAmount = int64_t{1} << 50;  // ~$1.1 billion in micro-USD

constexpr std::string_view kSchema[] = {
    // 1: budget holds (one per reservation) and per-agent policies.
    R"sql(
CREATE TABLE budget_holds(
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  tick INTEGER NOT NULL,
  day INTEGER NOT NULL,
  reserved INTEGER NOT NULL,
  spent INTEGER NOT NULL,
  settled INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  settled_at INTEGER
);
CREATE INDEX budget_holds_day ON budget_holds(agent, day);
CREATE TABLE budget_windows(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  key INTEGER NOT NULL,
  reserved INTEGER NOT NULL,
  spent INTEGER NOT NULL,
  PRIMARY KEY(agent, kind, key)
);
CREATE TABLE budget_policies(
  agent TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  policy TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql",
};

Status Bad(std::string_view key, std::string_view why) {
  return Status::InvalidArgument("policy: " + std::string(key), why);
}

Result<std::optional<int64_t>> Amount(const Json& v, std::string_view key) {
  if (v.is_null()) return std::optional<int64_t>();
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return Bad(key, "must be an integer (micro-USD) or null");
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxAmount)) {
    return Bad(key, "too large");
  }
  int64_t n = v.get<int64_t>();
  if (n < 0 || n > kMaxAmount) return Bad(key, "must be from 0 to 2^50");
  return std::optional<int64_t>(n);
}

Result<std::vector<std::string>> Names(const Json& v, std::string_view key) {
  if (!v.is_array()) return Bad(key, "must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string() || e.get<std::string>().empty() || e.get<std::string>().size() > 200) {
      return Bad(key, "must be an array of non-empty strings");
    }
    out.push_back(e.get<std::string>());
  }
  if (out.size() > 1000) return Bad(key, "at most 1000 entries");
  return out;
}

Json OptJson(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(nullptr); }

std::string Date(int64_t day) {
  std::time_t t = static_cast<std::time_t>(day * 86'400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// A window's running totals (budget_windows: kept by Reserve and Settle, so a check costs one
// row read however many holds the window has).
Status ReadWindow(Conn& c, std::string_view agent, std::string_view kind, int64_t key,
                  BudgetWindow* w) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT reserved, spent FROM budget_windows "
                                              "WHERE agent=? AND kind=? AND key=?"));
  s->Bind(1, agent).Bind(2, kind).Bind(3, key);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  w->reserved = row ? s->Int(0) : 0;
  w->spent = row ? s->Int(1) : 0;
  s->Reset();
  return Status::OK();
}

Status AddToWindow(Conn& c, std::string_view agent, std::string_view kind, int64_t key,
                   int64_t reserved, int64_t spent) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO budget_windows(agent, kind, key, reserved, spent) "
                                    "VALUES(?,?,?,?,?) ON CONFLICT(agent, kind, key) DO UPDATE SET "
                                    "reserved=budget_windows.reserved+excluded.reserved, "
                                    "spent=budget_windows.spent+excluded.spent"));
  s->Bind(1, agent).Bind(2, kind).Bind(3, key).Bind(4, reserved).Bind(5, spent);
  return s->Run();
}

// Settled holds are kept this many days (the journal behind the windows).
constexpr int64_t kKeepHoldDays = 31;
// Tick windows older than this many ticks, with nothing reserved, are dropped.
constexpr int64_t kKeepTickWindows = 100;

}  // namespace

int64_t UtcDay(int64_t ms) { return ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs; }

int64_t UtcDayStartMs(int64_t day) { return day * kDayMs; }

Json BudgetPolicy::ToJson() const {
  return Json{{"allowed_providers", allowed_providers},
              {"allowed_models", allowed_models},
              {"max_cost_usd_per_tick", OptJson(max_cost_usd_per_tick)},
              {"max_cost_usd_per_day", OptJson(max_cost_usd_per_day)},
              {"default_max_cost_usd", OptJson(default_max_cost_usd)}};
}

Result<BudgetPolicy> BudgetPolicy::FromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("policy must be a JSON object");
  BudgetPolicy p;
  for (const auto& [key, v] : j.items()) {
    if (key == "allowed_providers") {
      AGENT9_ASSIGN_OR_RETURN(p.allowed_providers, Names(v, key));
    } else if (key == "allowed_models") {
      AGENT9_ASSIGN_OR_RETURN(p.allowed_models, Names(v, key));
    } else if (key == "max_cost_usd_per_tick") {
      AGENT9_ASSIGN_OR_RETURN(p.max_cost_usd_per_tick, Amount(v, key));
    } else if (key == "max_cost_usd_per_day") {
      AGENT9_ASSIGN_OR_RETURN(p.max_cost_usd_per_day, Amount(v, key));
    } else if (key == "default_max_cost_usd") {
      AGENT9_ASSIGN_OR_RETURN(p.default_max_cost_usd, Amount(v, key));
    } else {
      return Bad(key, "unknown field");
    }
  }
  return p;
}

Result<BudgetPolicy> BudgetPolicy::Parse(std::string_view text) {
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "policy"));
  return FromJson(j);
}

Status BudgetPolicy::Allows(std::string_view provider, std::string_view model) const {
  auto in = [](const std::vector<std::string>& list, std::string_view v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  if (!in(allowed_providers, provider)) {
    return Status::PermissionDenied("policy: provider not in allowed_providers", provider);
  }
  if (!in(allowed_models, model)) {
    return Status::PermissionDenied("policy: model not in allowed_models", model);
  }
  return Status::OK();
}

std::optional<int64_t> BudgetWindow::remaining() const {
  if (!limit) return std::nullopt;
  return std::max<int64_t>(0, *limit - spent - reserved);
}

Json BudgetWindow::ToJson() const {
  // Member by member: part of every status document, where a braced Json{{k, v}, ...} (each
  // pair built as an array, then copied) was a sixth of a status GET's allocations.
  Json j = Json::object();
  j["reserved_usd"] = reserved;
  j["spent_usd"] = spent;
  j["limit_usd"] = OptJson(limit);
  j["remaining_usd"] = OptJson(remaining());
  return j;
}

Json BudgetUsage::ToJson() const {
  Json t = tick_window.ToJson();
  t["tick"] = tick;
  Json d = day_window.ToJson();
  d["date"] = Date(day);
  return Json{{"tick", std::move(t)}, {"day", std::move(d)}};
}

Status Ledger::Migrate(Database& db) { return db.Migrate("budget", kSchema); }

namespace {

// The policy set for agent, or nullopt when none was.
Result<std::optional<BudgetPolicy>> StoredPolicy(Conn& c, std::string_view agent) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT policy FROM budget_policies WHERE agent=?"));
  s->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  std::string text = row ? s->Text(0) : "";
  s->Reset();
  if (!row) return std::optional<BudgetPolicy>();
  AGENT9_ASSIGN_OR_RETURN(BudgetPolicy p, BudgetPolicy::Parse(text));
  return std::optional<BudgetPolicy>(std::move(p));
}

}  // namespace

Result<BudgetPolicy> Ledger::GetPolicy(Conn& c, std::string_view agent) {
  AGENT9_ASSIGN_OR_RETURN(std::optional<BudgetPolicy> p, StoredPolicy(c, agent));
  if (p) return *std::move(p);
  AGENT9_RETURN_IF_ERROR(CurrentTick(c, agent).status());  // the agent exists
  return BudgetPolicy{};
}

Status Ledger::SetPolicy(Conn& c, std::string_view agent, const BudgetPolicy& p, int64_t now_ms) {
  AGENT9_RETURN_IF_ERROR(CurrentTick(c, agent).status());
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO budget_policies(agent, policy, updated_at) VALUES(?,?,?) "
                          "ON CONFLICT(agent) DO UPDATE SET policy=excluded.policy, "
                          "updated_at=excluded.updated_at"));
  s->Bind(1, agent).Bind(2, DumpJson(p.ToJson())).Bind(3, now_ms);
  return s->Run();
}

Result<int64_t> Ledger::CurrentTick(Conn& c, std::string_view agent) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT tick_count FROM agents WHERE id=?"));
  s->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  int64_t n = row ? s->Int(0) : 0;
  s->Reset();
  if (!row) return Status::NotFound("no such agent", agent);
  return n + 1;
}

Result<BudgetUsage> Ledger::Usage(Conn& c, std::string_view agent, const BudgetPolicy& p,
                                  int64_t tick, int64_t now_ms) {
  BudgetUsage u;
  u.tick = tick;
  u.day = UtcDay(now_ms);
  AGENT9_RETURN_IF_ERROR(ReadWindow(c, agent, "tick", tick, &u.tick_window));
  AGENT9_RETURN_IF_ERROR(ReadWindow(c, agent, "day", u.day, &u.day_window));
  u.tick_window.limit = p.max_cost_usd_per_tick;
  u.day_window.limit = p.max_cost_usd_per_day;
  return u;
}

Result<BudgetWindow> Ledger::DayWindow(Conn& c, std::string_view agent, int64_t now_ms) {
  AGENT9_ASSIGN_OR_RETURN(std::optional<BudgetPolicy> p, StoredPolicy(c, agent));
  BudgetWindow w;
  AGENT9_RETURN_IF_ERROR(ReadWindow(c, agent, "day", UtcDay(now_ms), &w));
  w.limit = (p ? *p : BudgetPolicy{}).max_cost_usd_per_day;
  return w;
}

Status Ledger::Reserve(Conn& c, const Hold& h, const BudgetPolicy& p) {
  if (h.amount < 0 || h.amount > kMaxAmount) {
    return Status::InvalidArgument("max_cost_usd must be from 0 to 2^50 micro-USD");
  }
  AGENT9_ASSIGN_OR_RETURN(BudgetUsage u, Usage(c, h.agent, p, h.tick, h.now_ms));
  auto refuse = [&](std::string_view window, int64_t left) {
    return Status::BudgetExceeded("budget exceeded: the " + std::string(window) + " has " +
                                  std::to_string(left) + " micro-USD left, the job reserves " +
                                  std::to_string(h.amount))
        .WithField("remaining_usd", left);
  };
  // What is left is the smaller of the two windows; the message names the one that binds.
  std::optional<int64_t> tick_left = u.tick_window.remaining();
  std::optional<int64_t> day_left = u.day_window.remaining();
  if (day_left && *day_left < h.amount && (!tick_left || *day_left <= *tick_left)) {
    return refuse("day", *day_left);
  }
  if (tick_left && *tick_left < h.amount) return refuse("tick", *tick_left);
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO budget_holds(id, agent, source, tick, day, reserved, spent, "
                          "settled, created_at) VALUES(?,?,?,?,?,?,0,0,?)"));
  s->Bind(1, h.id).Bind(2, h.agent).Bind(3, h.source).Bind(4, h.tick).Bind(5, u.day);
  s->Bind(6, h.amount).Bind(7, h.now_ms);
  AGENT9_RETURN_IF_ERROR(s->Run());
  AGENT9_RETURN_IF_ERROR(AddToWindow(c, h.agent, "tick", h.tick, h.amount, 0));
  AGENT9_RETURN_IF_ERROR(AddToWindow(c, h.agent, "day", u.day, h.amount, 0));
  // Trim what no window needs any more: old empty tick windows, and settled holds of old days.
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * t, c.Prepare("DELETE FROM budget_windows WHERE agent=? AND kind='tick' AND key<? "
                          "AND reserved=0"));
  t->Bind(1, h.agent).Bind(2, h.tick - kKeepTickWindows);
  AGENT9_RETURN_IF_ERROR(t->Run());
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * d, c.Prepare("DELETE FROM budget_holds WHERE agent=? AND day<? AND settled=1"));
  d->Bind(1, h.agent).Bind(2, u.day - kKeepHoldDays);
  return d->Run();
}

Result<int64_t> Ledger::Settle(Conn& c, std::string_view hold_id, int64_t cost, int64_t now_ms) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * q,
      c.Prepare("SELECT reserved, settled, agent, tick, day FROM budget_holds WHERE id=?"));
  q->Bind(1, hold_id);
  AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
  int64_t reserved = row ? q->Int(0) : 0;
  bool settled = row && q->Int(1) != 0;
  std::string agent = row ? q->Text(2) : "";
  int64_t tick = row ? q->Int(3) : 0, day = row ? q->Int(4) : 0;
  q->Reset();
  if (!row) return Status::NotFound("no such budget hold", hold_id);
  if (settled) return int64_t{0};
  cost = std::max<int64_t>(cost, 0);
  int64_t charged = std::min(cost, reserved);
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * u, c.Prepare("UPDATE budget_holds SET spent=?, settled=1, settled_at=? WHERE id=?"));
  u->Bind(1, charged).Bind(2, now_ms).Bind(3, hold_id);
  AGENT9_RETURN_IF_ERROR(u->Run());
  AGENT9_RETURN_IF_ERROR(AddToWindow(c, agent, "tick", tick, -reserved, charged));
  AGENT9_RETURN_IF_ERROR(AddToWindow(c, agent, "day", day, -reserved, charged));
  return cost - charged;
}

Status Ledger::Release(Conn& c, std::string_view hold_id, int64_t now_ms) {
  return Settle(c, hold_id, 0, now_ms).status();
}

}  // namespace agent9::compute
