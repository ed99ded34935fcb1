#include "compute/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "compute/compute_service.h"
#include "tests/unit/testing/agent_store.h"

namespace agent9::compute {
namespace {

class LedgerTest : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    AgentStoreFixture::SetUp();
    ASSERT_TRUE(Ledger::Migrate(*db_).ok());
    ASSERT_TRUE(agents_->Create("a", AgentConfig{}).ok());
  }
  Status Reserve(const std::string& id, int64_t amount, const BudgetPolicy& p) {
    return db_->Write([&](Conn& c) {
      return Ledger::Reserve(c, Hold{id, "a", "compute", 1, amount, clock_.NowMs()}, p);
    });
  }
  BudgetUsage Usage(const BudgetPolicy& p) {
    BudgetUsage u;
    EXPECT_TRUE(db_->Read([&](Conn& c) -> Status {
                     AGENT9_ASSIGN_OR_RETURN(u, Ledger::Usage(c, "a", p, 1, clock_.NowMs()));
                     return Status::OK();
                   })
                    .ok());
    return u;
  }
};

TEST_F(LedgerTest, PolicyParsingIsStrict) {
  auto ok = BudgetPolicy::Parse(
      R"({"allowed_providers":["p"],"allowed_models":[],"max_cost_usd_per_tick":5,
          "max_cost_usd_per_day":null,"default_max_cost_usd":0})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok->max_cost_usd_per_tick, 5);
  EXPECT_FALSE(ok->max_cost_usd_per_day.has_value());
  EXPECT_EQ(ok->ToJson()["allowed_providers"], Json::array({"p"}));
  struct Bad {
    const char* doc;
    const char* needle;
  } bad[] = {
      {R"({"max_cost_usd_per_day":-1})", "max_cost_usd_per_day"},
      {R"({"max_cost_usd_per_day":"5"})", "max_cost_usd_per_day"},
      {R"({"max_cost_usd_per_day":1.5})", "max_cost_usd_per_day"},
      {R"({"max_cost_usd_per_day":18446744073709551615})", "max_cost_usd_per_day"},
      {R"({"allowed_models":"m1"})", "allowed_models"},
      {R"({"allowed_models":[1]})", "allowed_models"},
      {R"({"allowed_models":[""]})", "allowed_models"},
      {R"({"budget":1})", "budget"},
      {R"([1])", "JSON object"},
      {R"({"max_cost_usd_per_day":)", "JSON"},
  };
  for (const auto& b : bad) {
    auto r = BudgetPolicy::Parse(b.doc);
    ASSERT_FALSE(r.ok()) << b.doc;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << b.doc;
    EXPECT_NE(r.status().message().find(b.needle), std::string::npos) << r.status().message();
  }
  BudgetPolicy p;
  p.allowed_models = {"m1"};
  EXPECT_TRUE(p.Allows("any", "m1").ok());
  EXPECT_EQ(p.Allows("any", "m2").code(), Code::kPermissionDenied);
}

TEST_F(LedgerTest, ReservesSettlesAndReleasesWithinTheDayAndTickLimits) {
  BudgetPolicy p;
  p.max_cost_usd_per_day = 1000;
  p.max_cost_usd_per_tick = 700;
  ASSERT_TRUE(Reserve("h1", 600, p).ok());
  Status over = Reserve("h2", 200, p);  // the tick has 100 left
  EXPECT_EQ(over.code(), Code::kBudgetExceeded);
  EXPECT_NE(over.message().find("tick"), std::string::npos) << over.message();
  ASSERT_EQ(over.fields().size(), 1u);
  EXPECT_EQ(over.fields()[0], std::make_pair(std::string("remaining_usd"), int64_t{100}));
  BudgetUsage u = Usage(p);
  EXPECT_EQ(u.day_window.reserved, 600);
  EXPECT_EQ(*u.tick_window.remaining(), 100);

  // Settle to less than reserved: the rest is released.
  auto excess = db_->Write([&](Conn& c) { return Ledger::Settle(c, "h1", 250, 0).status(); });
  ASSERT_TRUE(excess.ok());
  u = Usage(p);
  EXPECT_EQ(u.day_window.reserved, 0);
  EXPECT_EQ(u.day_window.spent, 250);
  EXPECT_EQ(*u.day_window.remaining(), 750);
  // Settling again changes nothing (no double count).
  ASSERT_TRUE(db_->Write([&](Conn& c) { return Ledger::Settle(c, "h1", 999, 0).status(); }).ok());
  EXPECT_EQ(Usage(p).day_window.spent, 250);

  // A cost over its reservation is charged only up to it; the excess is returned.
  ASSERT_TRUE(Reserve("h3", 100, p).ok());
  int64_t unbilled = -1;
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(unbilled, Ledger::Settle(c, "h3", 130, 0));
                   return Status::OK();
                 })
                  .ok());
  EXPECT_EQ(unbilled, 30);
  EXPECT_EQ(Usage(p).day_window.spent, 350);

  ASSERT_TRUE(Reserve("h4", 300, p).ok());
  ASSERT_TRUE(db_->Write([&](Conn& c) { return Ledger::Release(c, "h4", 0); }).ok());
  u = Usage(p);
  EXPECT_EQ(u.day_window.reserved, 0);
  EXPECT_EQ(u.day_window.spent, 350);
  EXPECT_EQ(db_->Write([&](Conn& c) { return Ledger::Release(c, "nope", 0); }).code(),
            Code::kNotFound);
  EXPECT_EQ(Reserve("h5", -1, p).code(), Code::kInvalidArgument);
}

TEST_F(LedgerTest, DayWindowIsUsagesDayWindowWithTheStoredLimit) {
  auto day = [&] {
    BudgetWindow w;
    EXPECT_TRUE(db_->Read([&](Conn& c) -> Status {
                     AGENT9_ASSIGN_OR_RETURN(w, Ledger::DayWindow(c, "a", clock_.NowMs()));
                     return Status::OK();
                   })
                    .ok());
    return w;
  };
  BudgetWindow none = day();  // no policy set: no limit, nothing reserved
  EXPECT_FALSE(none.limit.has_value());
  EXPECT_EQ(none.reserved, 0);
  BudgetPolicy p;
  p.max_cost_usd_per_day = 1000;
  ASSERT_TRUE(db_->Write([&](Conn& c) { return Ledger::SetPolicy(c, "a", p, 0); }).ok());
  ASSERT_TRUE(Reserve("h1", 400, p).ok());
  BudgetWindow w = day();
  EXPECT_EQ(w.ToJson(), Usage(p).day_window.ToJson());
  EXPECT_EQ(w.limit, std::optional<int64_t>(1000));
  EXPECT_EQ(w.reserved, 400);
}

TEST_F(LedgerTest, ReservationsSurviveAReopen) {
  BudgetPolicy p;
  p.max_cost_usd_per_day = 1000;
  ASSERT_TRUE(Reserve("h1", 400, p).ok());
  OpenStore();
  EXPECT_EQ(Usage(p).day_window.reserved, 400);
  EXPECT_EQ(Reserve("h2", 700, p).code(), Code::kBudgetExceeded);
}

TEST_F(LedgerTest, TheDayWindowIsTheUtcDay) {
  BudgetPolicy p;
  p.max_cost_usd_per_day = 100;
  ASSERT_TRUE(Reserve("h1", 100, p).ok());
  EXPECT_EQ(Reserve("h2", 1, p).code(), Code::kBudgetExceeded);
  clock_.AdvanceMs(86'400'000);
  EXPECT_TRUE(Reserve("h3", 100, p).ok());
  EXPECT_EQ(UtcDay(0), 0);
  EXPECT_EQ(UtcDay(86'399'999), 0);
  EXPECT_EQ(UtcDay(-1), -1);
}

// 200 threads race to reserve 100 each against a day of 1000, while settlers settle and
// release what was reserved: exactly 10 reservations win, and the money adds up (run under
// TSan in make test).
TEST_F(LedgerTest, ConcurrentReservationsNeverOverspend) {
  BudgetPolicy p;
  p.max_cost_usd_per_day = 1000;
  std::atomic<int> won{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&, i] {
      Status st = Reserve("h" + std::to_string(i), 100, p);
      if (st.ok()) {
        ++won;
        // Half settle at a cost of 40 (releasing 60); the rest hold their reservation.
        if (i % 2 == 0) {
          (void)db_->Write(
              [&](Conn& c) { return Ledger::Settle(c, "h" + std::to_string(i), 40, 0).status(); });
        }
      } else if (st.code() == Code::kBudgetExceeded) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  BudgetUsage u = Usage(p);
  // Settling frees money while others still try, so more than 10 may win; never more than
  // the day holds.
  EXPECT_GE(won.load(), 10);
  EXPECT_LE(u.day_window.spent + u.day_window.reserved, 1000);
  EXPECT_EQ(won.load() + refused.load(), 200);
  // The running totals agree with the journal of holds.
  int64_t reserved = -1, spent = -1;
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * s, c.Prepare("SELECT sum(CASE WHEN settled=0 THEN reserved ELSE 0 "
                                           "END), sum(spent) FROM budget_holds WHERE agent='a'"));
                   AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                   if (row) reserved = s->Int(0), spent = s->Int(1);
                   s->Reset();
                   return Status::OK();
                 })
                  .ok());
  EXPECT_EQ(u.day_window.reserved, reserved);
  EXPECT_EQ(u.day_window.spent, spent);
  EXPECT_EQ(u.tick_window.reserved, reserved);
}

TEST_F(LedgerTest, ExactlyTenOfTwoHundredConcurrentReservationsFit) {
  BudgetPolicy p;
  p.max_cost_usd_per_day = 1000;
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&, i] {
      if (Reserve("h" + std::to_string(i), 100, p).ok()) ++won;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 10);
  EXPECT_EQ(Usage(p).day_window.reserved, 1000);
}

}  // namespace
}  // namespace agent9::compute
