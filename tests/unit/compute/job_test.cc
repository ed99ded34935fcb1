#include "compute/job.h"

#include <gtest/gtest.h>

namespace agent9::compute {
namespace {

TEST(JobRequest, ParsesTheDesignShapeAndShorthands) {
  auto r = JobRequest::Parse(
      R"({"model":"m1","kind":"chat","input":{"messages":[{"role":"system","content":"s"},
          {"role":"user","content":"hi"}],"temperature":0.2},"max_cost_usd":500,
          "idempotency_key":"k","stream":true,"provider":"p","timeout_ms":1000,"max_tokens":64,
          "tag":{"x":1},"notify":false})",
      1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->model, "m1");
  EXPECT_EQ(*r->max_cost_usd, 500);
  EXPECT_TRUE(r->stream);
  EXPECT_FALSE(r->notify);
  EXPECT_EQ(r->max_output_tokens, 64);
  EXPECT_EQ(r->tag, Json({{"x", 1}}));
  // Round trip through the normalized form.
  auto again = JobRequest::FromJson(r->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), r->ToJson());

  auto text = JobRequest::Parse(R"({"model":"m1","input":"hello"})", 1 << 20);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->input["messages"][0]["content"], "hello");
  auto arr =
      JobRequest::Parse(R"({"model":"m1","input":[{"role":"user","content":"x"}]})", 1 << 20);
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(arr->input["messages"].size(), 1u);
  auto emb = JobRequest::Parse(R"({"model":"e","kind":"embeddings","input":"one"})", 1 << 20);
  ASSERT_TRUE(emb.ok());
  EXPECT_EQ(emb->input, Json::array({"one"}));
  auto tool = JobRequest::Parse(
      R"({"model":"m","input":{"messages":[{"role":"user","content":"w?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
          "function":{"name":"f","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"c1","content":"sunny"}],"tools":[]}})",
      1 << 20);
  EXPECT_TRUE(tool.ok()) << tool.status().ToString();
}

TEST(JobRequest, RefusesHostileInputNamingTheField) {
  struct Bad {
    std::string doc;
    const char* needle;
  } bad[] = {
      {"", "JSON"},
      {"[1]", "JSON object"},
      {"{\"model\":\"m\"", "JSON"},
      {R"({"input":"x"})", "model"},
      {R"({"model":"m"})", "input"},
      {R"({"model":"","input":"x"})", "model"},
      {R"({"model":5,"input":"x"})", "model"},
      {R"({"model":"m","input":"x","kind":"image"})", "kind"},
      {R"({"model":"m","input":"x","surprise":1})", "surprise"},
      {R"({"model":"m","input":"x","max_cost_usd":-5})", "max_cost_usd"},
      {R"({"model":"m","input":"x","max_cost_usd":1e30})", "max_cost_usd"},
      {R"({"model":"m","input":"x","max_cost_usd":18446744073709551615})", "max_cost_usd"},
      {R"({"model":"m","input":"x","stream":"yes"})", "stream"},
      {R"({"model":"m","input":"x","timeout_ms":0})", "timeout_ms"},
      {R"({"model":"m","input":{"messages":[]}})", "messages"},
      {R"({"model":"m","input":{"messages":[{"role":"wizard","content":"x"}]}})", "role"},
      {R"({"model":"m","input":{"messages":[{"role":"user"}]}})", "content"},
      {R"({"model":"m","input":{"messages":[{"role":"user","content":5}]}})", "content"},
      {R"({"model":"m","input":{"messages":[{"role":"tool","content":"x"}]}})", "tool_call_id"},
      {R"({"model":"m","input":{"messages":[{"role":"user","content":"x"}],"evil":1}})", "evil"},
      {R"({"model":"m","input":{"messages":"x"}})", "messages"},
      {R"({"model":"m","input":5})", "input"},
      {R"({"model":"m","kind":"embeddings","input":[1]})", "input"},
      {R"({"model":"m","kind":"embeddings","input":[]})", "input"},
      {std::string(R"({"model":"m","input":)") + std::string(100, '[') + "1" +
           std::string(100, ']') + "}",
       "nested"},
  };
  for (const auto& b : bad) {
    auto r = JobRequest::Parse(b.doc, 1 << 20);
    ASSERT_FALSE(r.ok()) << b.doc;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << b.doc;
    EXPECT_NE(r.status().message().find(b.needle), std::string::npos)
        << b.doc << " -> " << r.status().message();
  }
  auto big = JobRequest::Parse(R"({"model":"m","input":")" + std::string(2000, 'x') + "\"}", 1024);
  EXPECT_EQ(big.status().code(), Code::kTooLarge);
}

TEST(JobRequest, EstimatesInputTokensConservatively) {
  auto r = JobRequest::Parse(R"({"model":"m","input":"123456789"})", 1 << 20);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(EstimateInputTokens(*r), 9 / 3 + 1 + 1);  // "user" counts too
}

}  // namespace
}  // namespace agent9::compute
