#include "compute/compute_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "compute/llm_agent.h"
#include "tests/unit/compute/compute_fixture.h"

namespace agent9::compute {
namespace {

using std::chrono::steady_clock;

int64_t ElapsedMs(steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - t0).count();
}

std::string ReadAll(std::shared_ptr<Stream> s) {
  std::string out;
  uint64_t pos = s->Begin();
  std::string buf(4096, '\0');
  for (;;) {
    auto n = s->Read(&pos, std::as_writable_bytes(std::span(buf)), -1, nullptr);
    if (!n.ok() || *n == 0) break;
    out.append(buf.data(), *n);
  }
  return out;
}

class ComputeServiceTest : public ComputeFixture {};

TEST_F(ComputeServiceTest, AJobRunsSettlesItsCostAndWakesItsAgent) {
  StartService();
  std::string id = Submit("a", {{"model", "m1"}, {"input", "one two three"}, {"tag", {{"k", 7}}}});
  Json st = WaitEnd("a", id);
  EXPECT_EQ(st["state"], "complete");
  EXPECT_EQ(st["attempts"], 1);
  auto res = service_->JobResult("a", id);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ((*res)["output"]["text"], "echo: one two three");
  // The fake counts words: 3 in, 4 out; $1 and $2 per million: 3 + 8 micro-USD.
  EXPECT_EQ((*res)["usage"]["input_tokens"], 3);
  EXPECT_EQ((*res)["usage"]["output_tokens"], 4);
  EXPECT_EQ((*res)["cost_usd"], 11);
  auto u = service_->Usage("a");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->day_window.spent, 11);
  EXPECT_EQ(u->day_window.reserved, 0);
  auto events = host_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].first, "a");
  EXPECT_EQ(events[0].second["type"], "compute.job");
  EXPECT_EQ(events[0].second["job_id"], id);
  EXPECT_EQ(events[0].second["tag"], Json({{"k", 7}}));
  EXPECT_EQ(events[0].second["result"]["output"]["text"], "echo: one two three");
  // Another agent cannot see it.
  EXPECT_EQ(service_->JobStatus("b", id).status().code(), Code::kNotFound);
}

TEST_F(ComputeServiceTest, StreamsDeltasThenTheResultToReadersFromTheStart) {
  StartService();
  std::string id = Submit(
      "a", {{"model", "slow-300"}, {"input", "a b c"}, {"stream", true}, {"provider", "free"}});
  ASSERT_FALSE(id.empty());
  auto s = service_->JobStream("a", id);  // opened while pending: blocks until the end
  ASSERT_TRUE(s.ok());
  std::string text = ReadAll(*s);
  EXPECT_NE(text.find(R"({"delta":{"text":"echo:"}})"), std::string::npos) << text;
  EXPECT_NE(text.find("{\"result\":"), std::string::npos) << text;
  // A reader that comes after the end gets the same lines from the store.
  auto again = service_->JobStream("a", id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(*again), text);
}

TEST_F(ComputeServiceTest, RetriesA429AfterItsRetryAfterAndA500) {
  StartService();
  auto t0 = steady_clock::now();
  std::string id = Submit("a", {{"model", "429-once-svc"}, {"input", "x"}, {"provider", "free"}});
  Json st = WaitEnd("a", id);
  EXPECT_EQ(st["state"], "complete");
  EXPECT_EQ(st["attempts"], 2);
  EXPECT_GE(ElapsedMs(t0), 900);  // Retry-After: 1
  std::string id2 = Submit("a", {{"model", "500-once-svc"}, {"input", "x"}, {"provider", "free"}});
  EXPECT_EQ(WaitEnd("a", id2)["attempts"], 2);
}

TEST_F(ComputeServiceTest, FailsWithTheProvidersErrorAndReleasesTheReservation) {
  StartService();
  ASSERT_TRUE(SetPolicy("a", {{"max_cost_usd_per_day", 1000}}).ok());
  std::string always = Submit(
      "a", {{"model", "500-always"}, {"input", "x"}, {"provider", "free"}, {"max_cost_usd", 100}});
  Json st = WaitEnd("a", always);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["attempts"], 4);  // 1 + max_retries
  EXPECT_NE(st["error"].get<std::string>().find("500"), std::string::npos) << st;
  std::string bad = Submit(
      "a", {{"model", "bad-request"}, {"input", "x"}, {"provider", "free"}, {"max_cost_usd", 100}});
  st = WaitEnd("a", bad);
  EXPECT_EQ(st["attempts"], 1);  // a 400 is not retried
  std::string cut = Submit("a", {{"model", "cut"},
                                 {"input", "a b c d e"},
                                 {"provider", "free"},
                                 {"stream", true},
                                 {"max_cost_usd", 100}});
  st = WaitEnd("a", cut);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["attempts"], 1);  // deltas were delivered: never retried
  std::string malformed = Submit(
      "a", {{"model", "malformed"}, {"input", "x"}, {"provider", "free"}, {"max_cost_usd", 100}});
  EXPECT_EQ(WaitEnd("a", malformed)["state"], "failed");
  std::string slow = Submit("a", {{"model", "slow-3000"},
                                  {"input", "x"},
                                  {"provider", "free"},
                                  {"timeout_ms", 300},
                                  {"max_cost_usd", 100}});
  st = WaitEnd("a", slow);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_NE(st["error"].get<std::string>().find("timeout"), std::string::npos) << st;
  auto u = service_->Usage("a");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->day_window.reserved, 0);
  EXPECT_EQ(u->day_window.spent, 0);
  auto res = service_->JobResult("a", always);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ((*res)["state"], "failed");
}

TEST_F(ComputeServiceTest, CancelStopsARunningJobAndAPendingOne) {
  StartService({Provider(), Free(/*max_concurrent=*/1)});
  std::string running = Submit("a", {{"model", "slow-5000"}, {"input", "x"}, {"provider", "free"}});
  std::string queued = Submit("a", {{"model", "slow-5000"}, {"input", "y"}, {"provider", "free"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ((*service_->JobStatus("a", queued))["state"], "pending");
  auto t0 = steady_clock::now();
  ASSERT_TRUE(service_->Cancel("a", queued).ok());
  EXPECT_EQ(WaitEnd("a", queued)["state"], "cancelled");
  ASSERT_TRUE(service_->Cancel("a", running).ok());
  EXPECT_EQ(WaitEnd("a", running)["state"], "cancelled");
  EXPECT_LT(ElapsedMs(t0), 3000);
  EXPECT_EQ(service_->Cancel("a", running).code(), Code::kAborted);  // already ended
  EXPECT_EQ(service_->Usage("a")->day_window.reserved, 0);
}

TEST_F(ComputeServiceTest, RunsAtMostMaxConcurrentInSubmitOrder) {
  StartService({Free(/*max_concurrent=*/2)});
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(Submit("a", {{"model", "slow-150"}, {"input", "x"}, {"provider", "free"}}));
  }
  std::vector<std::string> started;
  for (const auto& id : ids) started.push_back(WaitEnd("a", id)["started_at"].get<std::string>());
  for (size_t i = 1; i < started.size(); ++i) EXPECT_LE(started[i - 1], started[i]);
  // 6 jobs of 150 ms two at a time: the last starts at least 2 rounds after the first.
  EXPECT_GE(started.back(), started.front());
  auto m = service_->MetricsText();
  EXPECT_NE(m.find("agent9_compute_jobs_total{state=\"complete\"} 6"), std::string::npos) << m;
}

TEST_F(ComputeServiceTest, TheSameIdempotencyKeyReturnsTheFirstJob) {
  StartService();
  Json job{{"model", "m1"}, {"input", "x"}, {"idempotency_key", "k1"}};
  auto first = service_->Submit("a", job.dump());
  auto second = service_->Submit("a", job.dump());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ((*first)["job_id"], (*second)["job_id"]);
  EXPECT_TRUE((*second)["existing"].get<bool>());
  auto other = service_->Submit("b", job.dump());  // keys are per agent
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)["job_id"], (*first)["job_id"]);
}

TEST_F(ComputeServiceTest, RefusesWhatPolicyOrBudgetForbidsBeforeSendingAnything) {
  StartService();
  ASSERT_TRUE(SetPolicy("a", {{"allowed_models", {"m1"}}, {"max_cost_usd_per_day", 500}}).ok());
  auto wrong = service_->Submit("a", R"({"model":"other","input":"x","provider":"free"})");
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied);
  auto over = service_->Submit("a", R"({"model":"m1","input":"x","max_cost_usd":600})");
  EXPECT_EQ(over.status().code(), Code::kBudgetExceeded);
  ASSERT_EQ(over.status().fields().size(), 1u);
  EXPECT_EQ(over.status().fields()[0].second, 500);
  EXPECT_EQ(fake_.TotalRequests(), 0);
  auto unknown = service_->Submit("a", R"({"model":"m1","input":"x","provider":"nope"})");
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  auto no_agent = service_->Submit("zz", R"({"model":"m1","input":"x"})");
  EXPECT_EQ(no_agent.status().code(), Code::kNotFound);
}

// 200 concurrent submits against a day budget that covers 10: exactly 10 start.
TEST_F(ComputeServiceTest, TwoHundredConcurrentSubmitsAgainstABudgetForTenStartTen) {
  StartService();
  ASSERT_TRUE(SetPolicy("a", {{"max_cost_usd_per_day", 1000}}).ok());
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&] {
      auto r = service_->Submit("a", R"({"model":"slow-200","input":"x","provider":"free",
                                         "max_cost_usd":100})");
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == Code::kBudgetExceeded) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(refused.load(), 190);
  EXPECT_EQ(other.load(), 0);
  auto jobs = service_->ListJobs("a");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 10u);
  for (const auto& j : *jobs) WaitEnd("a", j.name);
  auto u = service_->Usage("a");
  EXPECT_EQ(u->day_window.reserved, 0);
  EXPECT_EQ(fake_.Requests("/v1/chat/completions"), 10);
}

TEST_F(ComputeServiceTest, ARestartEndsRunningJobsAsInterruptedAndRunsPendingOnes) {
  StartService({Provider(), Free(/*max_concurrent=*/1)});
  ASSERT_TRUE(SetPolicy("a", {{"max_cost_usd_per_day", 10000}}).ok());
  std::string running = Submit(
      "a", {{"model", "slow-20000"}, {"input", "x"}, {"provider", "free"}, {"max_cost_usd", 100}});
  std::string pending = Submit("a", {{"model", "m1"}, {"input", "later"}, {"max_cost_usd", 100}});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // A crash: the rows stay as they were (running, pending) with their holds.
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * s, c.Prepare("UPDATE compute_jobs SET state='running' WHERE id=?"));
                   s->Bind(1, running);
                   return s->Run();
                 })
                  .ok());
  service_.reset();  // Stop: the running attempt ends as interrupted
  EXPECT_EQ((*ComputeService(db_.get(), &clock_, &host_, ComputeConfig{}, {})
                  .JobStatus("a", running))["state"],
            "failed");
  // Simulate the kill -9 case: the row still says running, and the hold is still reserved.
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * s,
                       c.Prepare("UPDATE compute_jobs SET state='running', notified=1 WHERE id=?"));
                   s->Bind(1, running);
                   AGENT9_RETURN_IF_ERROR(s->Run());
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * h,
                       c.Prepare("UPDATE budget_holds SET settled=0, spent=0 WHERE id=?"));
                   h->Bind(1, "compute:" + running);
                   AGENT9_RETURN_IF_ERROR(h->Run());
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * w, c.Prepare("UPDATE budget_windows SET reserved=reserved+100 "
                                           "WHERE agent='a'"));
                   return w->Run();
                 })
                  .ok());
  host_.events.clear();
  StartService({Provider(), Free(/*max_concurrent=*/1)});
  Json st = WaitEnd("a", running);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_NE(st["error"].get<std::string>().find("interrupted"), std::string::npos);
  EXPECT_EQ(WaitEnd("a", pending)["state"], "complete");
  auto u = service_->Usage("a");
  EXPECT_EQ(u->day_window.reserved, 0);
  EXPECT_EQ(u->day_window.spent, (*service_->JobResult("a", pending))["cost_usd"].get<int64_t>());
  bool told = false;
  for (const auto& [agent, ev] : host_.Events()) told = told || ev["job_id"] == running;
  EXPECT_TRUE(told) << "the interrupted job's event reached its agent after the restart";
}

TEST_F(ComputeServiceTest, ProvidersReportHealthAndNoConfiguredProviderIsAClearError) {
  ProviderConfig dead = Provider();
  dead.id = "dead";
  dead.base_url = "http://127.0.0.1:1/v1";
  StartService({Provider(), dead});
  EXPECT_TRUE(service_->FindProvider("fake")->Health().ok());
  Status down = service_->FindProvider("dead")->Health();
  EXPECT_EQ(down.code(), Code::kUnavailable);
  service_.reset();
  service_ = std::make_unique<ComputeService>(db_.get(), &clock_, &host_, ComputeConfig{},
                                              std::vector<std::unique_ptr<compute::Provider>>{});
  auto none = service_->Submit("a", R"({"model":"m1","input":"x"})");
  EXPECT_EQ(none.status().code(), Code::kUnavailable);
  EXPECT_NE(none.status().message().find("OPENAI_API_KEY"), std::string::npos);
}

TEST_F(ComputeServiceTest, TickActionsInsertInTheTicksTransactionAndStartAfterIt) {
  StartService();
  ASSERT_TRUE(SetPolicy("a", {{"max_cost_usd_per_day", 150}}).ok());
  Json action =
      Json::array({Json{{"model", "m1"}, {"input", "x"}, {"max_cost_usd", 100}, {"tag", 1}},
                   Json{{"model", "m1"}, {"input", "y"}, {"max_cost_usd", 100}, {"tag", 2}}});
  ASSERT_TRUE(service_->CheckAction(action).ok());
  EXPECT_EQ(service_->CheckAction(Json{{"model", "m1"}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(service_->CheckAction(Json::array()).code(), Code::kInvalidArgument);
  ASSERT_TRUE(
      db_->Write([&](Conn& c) { return service_->Act(c, "a", 1, clock_.NowMs(), action); }).ok());
  service_->Acted();
  auto jobs = service_->ListJobs("a");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ(jobs->size(), 2u);
  // The first fits the budget and runs; the second is refused, as a failed job whose event
  // says why.
  std::vector<std::string> states;
  for (const auto& j : *jobs) states.push_back(WaitEnd("a", j.name)["state"].get<std::string>());
  EXPECT_EQ(states, (std::vector<std::string>{"complete", "failed"}));
  auto events = host_.Events();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& [agent, ev] : events) {
    if (ev["tag"] == 2) {
      EXPECT_EQ(ev["state"], "failed");
      EXPECT_NE(ev["error"].get<std::string>().find("budget"), std::string::npos) << ev;
    }
  }
  // A rolled-back tick leaves nothing behind.
  EXPECT_FALSE(db_->Write([&](Conn& c) -> Status {
                    AGENT9_RETURN_IF_ERROR(service_->Act(c, "a", 2, clock_.NowMs(), action));
                    return Status::Aborted("the tick failed later");
                  })
                   .ok());
  service_->Acted();
  EXPECT_EQ(service_->ListJobs("a")->size(), 2u);
}

TEST_F(ComputeServiceTest, EmbeddingsReturnVectorsInInputOrder) {
  StartService();
  std::string id =
      Submit("a", {{"model", "m1"}, {"kind", "embeddings"}, {"input", {"a", "b", "c"}}});
  ASSERT_EQ(WaitEnd("a", id)["state"], "complete");
  auto res = service_->JobResult("a", id);
  ASSERT_TRUE(res.ok());
  ASSERT_EQ((*res)["output"]["vectors"].size(), 3u);
  EXPECT_NE((*res)["output"]["vectors"][0], (*res)["output"]["vectors"][1]);
}

// The llm kind, tick by tick: a message becomes a chat job with the system prompt and the
// history; the job's event becomes the reply and the conversation lines.
TEST_F(ComputeServiceTest, TheLlmKindAsksThenAnswers) {
  StartService();
  LlmAgent llm(service_.get());
  EXPECT_TRUE(llm.CheckConfig(Json{{"model", "m1"}, {"system", "s"}, {"max_history", 2}}).ok());
  EXPECT_EQ(llm.CheckConfig(Json{{"colour", "red"}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(llm.CheckConfig(Json{{"max_history", -1}}).code(), Code::kInvalidArgument);
  TickInput in;
  in.agent_id = "a";
  in.now_ms = clock_.NowMs();
  in.config.kind = "llm";
  in.config.extra = Json{{"model", "m1"}, {"system", "be brief"}, {"max_history", 2}};
  std::string history = R"({"role":"user","content":"q1"})"
                        "\n"
                        R"({"role":"assistant","content":"a1"})"
                        "\n"
                        R"({"role":"user","content":"q2"})"
                        "\n"
                        R"({"role":"assistant","content":"a2"})"
                        "\n";
  std::string asked;
  in.read_memory = [&](std::string_view path, size_t) -> Result<std::string> {
    asked = std::string(path);
    return history;
  };
  in.trigger = Json{{"type", "message"},
                    {"message", {{"id", "m9"}, {"from", "npub1xyz"}, {"body", {{"text", "q3"}}}}}};
  auto out = llm.Tick(in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(asked, "conversations/npub1xyz.jsonl");
  const Json job = out->actions.at("compute");
  const Json& msgs = job["input"]["messages"];
  ASSERT_EQ(msgs.size(), 4u);  // system, the last 2 of history, the question
  EXPECT_EQ(msgs[0]["role"], "system");
  EXPECT_EQ(msgs[1]["content"], "q2");
  EXPECT_EQ(msgs[3]["content"], "q3");
  EXPECT_TRUE(service_->CheckAction(job).ok());

  in.trigger = Json{{"type", "event"},
                    {"event",
                     {{"type", "compute.job"},
                      {"state", "complete"},
                      {"tag", job["tag"]},
                      {"result", {{"output", {{"text", "a3"}}}}}}}};
  out = llm.Tick(in);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->send.size(), 1u);
  EXPECT_EQ(out->send[0].to, "npub1xyz");
  EXPECT_EQ(out->send[0].reply_to, "m9");
  EXPECT_EQ(out->send[0].body["text"], "a3");
  ASSERT_EQ(out->memory_append.size(), 1u);
  EXPECT_EQ(out->memory_append[0].path, "conversations/npub1xyz.jsonl");
  EXPECT_NE(out->memory_append[0].data.find("\"q3\""), std::string::npos);
  EXPECT_NE(out->memory_append[0].data.find("\"a3\""), std::string::npos);

  // A reply is never answered; a failed job answers with its error.
  in.trigger = Json{{"type", "message"},
                    {"message", {{"id", "m10"}, {"from", "b"}, {"reply_to", "x"}, {"body", "hi"}}}};
  EXPECT_TRUE(llm.Tick(in)->actions.empty());
  in.trigger["event"] = Json{
      {"type", "compute.job"}, {"state", "failed"}, {"error", "HTTP 500"}, {"tag", job["tag"]}};
  in.trigger["type"] = "event";
  out = llm.Tick(in);
  ASSERT_EQ(out->send.size(), 1u);
  EXPECT_NE(out->send[0].body["text"].get<std::string>().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(LlmAgent::ConversationPath("a/../b"), "conversations/a_.._b.jsonl");
  EXPECT_EQ(LlmAgent::ConversationPath(".x"), "conversations/_.x.jsonl");
}

}  // namespace
}  // namespace agent9::compute
