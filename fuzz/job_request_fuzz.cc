// JobRequest::Parse and BudgetPolicy::Parse (compute/job.h, compute/ledger.h): what an agent
// writes to compute/new and an admin to compute/policy. Invariants: an accepted request has a
// model, a known kind and an input of the shape its kind needs; it survives its own normalized
// form unchanged; accepted amounts are within 0..2^50.
#include <cstddef>
#include <cstdint>

#include "compute/job.h"
#include "compute/ledger.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::compute;
  using namespace agent9::fuzz;
  std::string_view text = AsText(data, size);
  auto r = JobRequest::Parse(text, 1 << 20);
  if (r.ok()) {
    Require(!r->model.empty(), "accepted a job without a model");
    Require(r->kind == "chat" || r->kind == "embeddings", "accepted an unknown kind", r->kind);
    if (r->kind == "chat") {
      Require(r->input.contains("messages") && r->input["messages"].is_array() &&
                  !r->input["messages"].empty(),
              "accepted a chat job without messages");
    } else {
      Require(r->input.is_array() && !r->input.empty(), "accepted embeddings without texts");
    }
    Require(!r->max_cost_usd || (*r->max_cost_usd >= 0 && *r->max_cost_usd <= (int64_t{1} << 50)),
            "max_cost_usd out of range");
    auto again = JobRequest::FromJson(r->ToJson());
    Require(again.ok() && again->ToJson() == r->ToJson(), "normalized form does not round-trip");
    (void)EstimateInputTokens(*r);
  }
  auto p = BudgetPolicy::Parse(text);
  if (p.ok()) {
    for (const auto& v :
         {p->max_cost_usd_per_day, p->max_cost_usd_per_tick, p->default_max_cost_usd}) {
      Require(!v || (*v >= 0 && *v <= (int64_t{1} << 50)), "policy amount out of range");
    }
    auto again = BudgetPolicy::FromJson(p->ToJson());
    Require(again.ok() && again->ToJson() == p->ToJson(), "policy does not round-trip");
  }
  return 0;
}
