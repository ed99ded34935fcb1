// ComputeFixture: a real SQLite store with the core and compute schemas, agents made through
// AgentService, a recording AgentHost, and a ComputeService over providers pointed at the
// loopback FakeLlm.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "compute/compute_service.h"
#include "tests/fakes/fake_llm.h"
#include "tests/unit/testing/agent_store.h"

namespace agent9::compute {

// Records what the service asks of the runtime.
class RecordingHost final : public AgentHost {
 public:
  Result<std::string> Deliver(std::string_view, std::string_view, std::string_view) override {
    return Status::Unimplemented("not in these tests");
  }
  Result<int64_t> AddEvent(std::string_view agent, const Json& event) override {
    std::lock_guard<std::mutex> l(mu);
    events.emplace_back(std::string(agent), event);
    return static_cast<int64_t>(events.size());
  }
  Result<int64_t> AddEventInTransaction(Conn&, std::string_view agent, const Json& event) override {
    return AddEvent(agent, event);  // recorded at once; the tests look after the commit
  }
  void EventAdded(std::string_view) override {}
  Status Emit(std::string_view, const Json&) override { return Status::OK(); }
  void Trace(std::string_view, Json record) override {
    std::lock_guard<std::mutex> l(mu);
    traces.push_back(std::move(record));
  }
  Result<Json> AgentConfigJson(std::string_view) override { return Json{{"kind", kind}}; }
  Result<std::vector<std::string>> ListAgents(std::string_view, size_t) override {
    return std::vector<std::string>{};
  }
  std::vector<std::pair<std::string, Json>> Events() {
    std::lock_guard<std::mutex> l(mu);
    return events;
  }

  std::mutex mu;
  std::string kind = "exec";
  std::vector<std::pair<std::string, Json>> events;
  std::vector<Json> traces;
};

class ComputeFixture : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    AgentStoreFixture::SetUp();
    ASSERT_TRUE(ComputeService::Migrate(*db_).ok());
    ASSERT_TRUE(agents_->Create("a", AgentConfig{}).ok());
    ASSERT_TRUE(agents_->Create("b", AgentConfig{}).ok());
  }
  void TearDown() override { service_.reset(); }

  ProviderConfig Provider(int64_t max_concurrent = 4) {
    ProviderConfig p;
    p.id = "fake";
    p.type = "openai";
    p.base_url = fake_.url() + "/v1";
    p.max_concurrent = max_concurrent;
    p.timeout_ms = 10'000;
    p.models = {ModelConfig{"m1", 1'000'000, 2'000'000}};  // $1 / $2 per million tokens
    return p;
  }
  // The same server as "free": no price list, so any model name (the fake's behaviours) at 0.
  ProviderConfig Free(int64_t max_concurrent = 4) {
    ProviderConfig p = Provider(max_concurrent);
    p.id = "free";
    p.models.clear();
    return p;
  }
  // Starts a service over the given providers (default: "fake" with m1 priced, and "free").
  void StartService(std::vector<ProviderConfig> providers = {}) {
    if (providers.empty()) providers = {Provider(), Free()};
    ComputeConfig c;
    c.retry_base_ms = 10;
    c.retry_max_ms = 100;
    c.providers = providers;
    std::vector<std::unique_ptr<compute::Provider>> made;
    for (const auto& p : providers) made.push_back(std::move(MakeProvider(p)).value());
    service_ = std::make_unique<ComputeService>(db_.get(), &clock_, &host_, c, std::move(made));
    ASSERT_TRUE(service_->Start().ok());
  }
  std::string Submit(std::string_view agent, const Json& job) {
    auto r = service_->Submit(agent, job.dump());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["job_id"].get<std::string>() : "";
  }
  // Waits until the job ends; returns its status document.
  Json WaitEnd(std::string_view agent, const std::string& id, int timeout_ms = 15'000) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      auto s = service_->JobStatus(agent, id);
      if (s.ok() && IsFinal((*s)["state"].get<std::string>())) return *s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return Json();
  }
  Status SetPolicy(std::string_view agent, const Json& j) {
    auto p = BudgetPolicy::FromJson(j);
    if (!p.ok()) return p.status();
    return service_->SetPolicy(agent, *p);
  }

  agent9::testing::FakeLlm fake_;
  RecordingHost host_;
  std::unique_ptr<ComputeService> service_;
};

}  // namespace agent9::compute
