#include "compute/anthropic_provider.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/fakes/fake_llm.h"

namespace agent9::compute {
namespace {

using agent9::testing::FakeLlm;
using agent9::testing::FakeLlmOptions;

constexpr char kKey[] = "sk-ant-test-key-123";

ProviderConfig Config(const FakeLlm& fake, std::string key = kKey) {
  ProviderConfig cfg;
  cfg.id = "claude";
  cfg.type = "anthropic";
  cfg.base_url = fake.url();
  cfg.api_key = std::move(key);
  cfg.api_key_env = "ANTHROPIC_API_KEY";
  cfg.timeout_ms = 10'000;
  return cfg;
}

JobSpec Chat(std::string model, Json messages, bool stream = false) {
  JobSpec spec;
  spec.kind = "chat";
  spec.model = std::move(model);
  spec.input = Json{{"messages", std::move(messages)}};
  spec.stream = stream;
  return spec;
}

Json User(std::string text) { return Json{{"role", "user"}, {"content", std::move(text)}}; }

Json WeatherTool() {
  return Json{{"type", "function"},
              {"function",
               {{"name", "get_weather"},
                {"description", "The weather in a city"},
                {"parameters",
                 {{"type", "object"},
                  {"properties", {{"city", {{"type", "string"}}}}},
                  {"required", {"city"}}}}}}};
}

struct Outcome {
  Attempt attempt;
  std::vector<Delta> deltas;
};

Outcome RunJob(Provider& p, const JobSpec& spec) {
  Outcome r;
  std::atomic<bool> cancel{false};
  r.attempt = p.Run(
      spec, [&](const Delta& d) { r.deltas.push_back(d); }, cancel);
  return r;
}

// A loopback port nobody listens on (bound, then closed).
int DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(AnthropicProvider, PlainAnswerWithUsage) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  ASSERT_NE(p, nullptr);
  Outcome r = RunJob(*p, Chat("claude-test", Json::array({User("hello there world")})));
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();
  EXPECT_EQ(r.attempt.http_status, 200);
  EXPECT_EQ(r.attempt.output.text, "echo: hello there world");
  EXPECT_EQ(r.attempt.output.finish_reason, "end_turn");
  EXPECT_EQ(r.attempt.output.input_tokens, 3);
  EXPECT_EQ(r.attempt.output.output_tokens, 4);
  EXPECT_TRUE(r.attempt.output.tool_calls.is_null());
  EXPECT_EQ(r.attempt.output.raw.value("type", ""), "message");
  EXPECT_FALSE(r.attempt.streamed);
  EXPECT_TRUE(r.deltas.empty());
  EXPECT_EQ(fake.Requests("/v1/messages"), 1);
}

TEST(AnthropicProvider, SendsKeyVersionAndContentTypeHeaders) {
  FakeLlm fake;
  ProviderConfig cfg = Config(fake);
  cfg.anthropic_version = "2023-06-01";
  auto p = MakeAnthropicProvider(cfg);
  Outcome r = RunJob(*p, Chat("claude-test", Json::array({User("hi")})));
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();
  EXPECT_EQ(fake.LastHeader("/v1/messages", "x-api-key"), kKey);
  EXPECT_EQ(fake.LastHeader("/v1/messages", "anthropic-version"), "2023-06-01");
  EXPECT_EQ(fake.LastHeader("/v1/messages", "content-type"), "application/json");
  EXPECT_EQ(fake.LastHeader("/v1/messages", "authorization"), "");
}

TEST(AnthropicProvider, SystemMessagesBecomeTopLevelSystem) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  JobSpec spec = Chat("claude-test", Json::array({{{"role", "system"}, {"content", "Be brief."}},
                                                  User("first"),
                                                  {{"role", "assistant"}, {"content", "ok"}},
                                                  User("second question")}));
  spec.max_output_tokens = 77;
  Outcome r = RunJob(*p, spec);
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();
  EXPECT_EQ(r.attempt.output.text, "echo: second question");
  // The fake counts system words as input too: 2 + 1 + 1 + 2.
  EXPECT_EQ(r.attempt.output.input_tokens, 6);

  Json body = fake.LastBody("/v1/messages");
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(body["system"], "Be brief.");
  EXPECT_EQ(body["model"], "claude-test");
  EXPECT_EQ(body["max_tokens"], 77);
  EXPECT_FALSE(body.contains("stream"));
  ASSERT_EQ(body["messages"].size(), 3u);
  for (const Json& m : body["messages"]) EXPECT_NE(m["role"], "system");
  EXPECT_EQ(body["messages"][0], User("first"));
  EXPECT_EQ(body["messages"][1]["role"], "assistant");
  EXPECT_EQ(body["messages"][1]["content"], "ok");
}

TEST(AnthropicProvider, MaxTokensDefaultsTo1024) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome r = RunJob(*p, Chat("claude-test", Json::array({User("hi")})));
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();
  EXPECT_EQ(fake.LastBody("/v1/messages")["max_tokens"], 1024);
  EXPECT_FALSE(fake.LastBody("/v1/messages").contains("system"));
}

TEST(AnthropicProvider, ToolsMappedBothWays) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  JobSpec spec = Chat(
      "tools",
      Json::array(
          {User("weather in Rome?"),
           {{"role", "assistant"},
            {"content", nullptr},
            {"tool_calls",
             {{{"id", "call_1"},
               {"type", "function"},
               {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Rome"})"}}}}}}},
           {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny, 24C"}},
           User("and in Paris?")}));
  spec.input["tools"] = Json::array({WeatherTool()});
  spec.input["tool_choice"] = "auto";
  Outcome r = RunJob(*p, spec);
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();

  // Request: Anthropic's shapes.
  Json body = fake.LastBody("/v1/messages");
  ASSERT_EQ(body["tools"].size(), 1u);
  EXPECT_EQ(body["tools"][0]["name"], "get_weather");
  EXPECT_EQ(body["tools"][0]["description"], "The weather in a city");
  EXPECT_EQ(body["tools"][0]["input_schema"]["required"], Json::array({"city"}));
  EXPECT_FALSE(body["tools"][0].contains("function"));
  EXPECT_EQ(body["tool_choice"], Json({{"type", "auto"}}));
  ASSERT_EQ(body["messages"].size(), 4u);
  const Json& use = body["messages"][1]["content"];
  ASSERT_TRUE(use.is_array());
  ASSERT_EQ(use.size(), 1u);
  EXPECT_EQ(use[0]["type"], "tool_use");
  EXPECT_EQ(use[0]["id"], "call_1");
  EXPECT_EQ(use[0]["name"], "get_weather");
  EXPECT_EQ(use[0]["input"], Json({{"city", "Rome"}}));
  const Json& result = body["messages"][2];
  EXPECT_EQ(result["role"], "user");
  ASSERT_TRUE(result["content"].is_array());
  EXPECT_EQ(result["content"][0]["type"], "tool_result");
  EXPECT_EQ(result["content"][0]["tool_use_id"], "call_1");
  EXPECT_EQ(result["content"][0]["content"], "sunny, 24C");

  // Reply: OpenAI's shape.
  const JobOutput& out = r.attempt.output;
  EXPECT_EQ(out.finish_reason, "tool_use");
  ASSERT_TRUE(out.tool_calls.is_array());
  ASSERT_EQ(out.tool_calls.size(), 1u);
  const Json& call = out.tool_calls[0];
  EXPECT_FALSE(call.value("id", "").empty());
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  ASSERT_TRUE(call["function"]["arguments"].is_string());
  EXPECT_EQ(Json::parse(call["function"]["arguments"].get<std::string>()),
            Json({{"city", "Paris"}}));
  EXPECT_EQ(out.text, "");
}

TEST(AnthropicProvider, StreamsTextDeltasUsageAndFinishReason) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome r = RunJob(*p, Chat("claude-test", Json::array({User("one two three")}), true));
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();
  EXPECT_TRUE(fake.LastBody("/v1/messages")["stream"].get<bool>());
  EXPECT_TRUE(r.attempt.streamed);
  ASSERT_GE(r.deltas.size(), 4u);  // one word per delta
  std::string joined;
  for (const Delta& d : r.deltas) {
    EXPECT_TRUE(d.tool_calls.is_null());
    joined += d.text;
  }
  EXPECT_EQ(joined, "echo: one two three");
  EXPECT_EQ(r.attempt.output.text, "echo: one two three");
  EXPECT_EQ(r.attempt.output.finish_reason, "end_turn");
  EXPECT_EQ(r.attempt.output.input_tokens, 3);
  EXPECT_EQ(r.attempt.output.output_tokens, 4);
  EXPECT_EQ(r.attempt.output.raw["content"][0]["text"], "echo: one two three");
}

TEST(AnthropicProvider, StreamsToolCallInOpenAiDeltaShape) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  JobSpec spec = Chat("tools", Json::array({User("weather in Paris?")}), true);
  spec.input["tools"] = Json::array({WeatherTool()});
  Outcome r = RunJob(*p, spec);
  ASSERT_TRUE(r.attempt.status.ok()) << r.attempt.status.ToString();
  ASSERT_GE(r.deltas.size(), 2u);
  const Json& first = r.deltas[0].tool_calls;
  ASSERT_TRUE(first.is_array());
  EXPECT_EQ(first[0]["index"], 0);
  EXPECT_FALSE(first[0].value("id", "").empty());
  EXPECT_EQ(first[0]["function"]["name"], "get_weather");
  std::string args;
  for (const Delta& d : r.deltas) {
    ASSERT_TRUE(d.tool_calls.is_array());
    EXPECT_EQ(d.tool_calls[0]["index"], 0);
    EXPECT_TRUE(d.text.empty());
    args += d.tool_calls[0]["function"].value("arguments", "");
  }
  EXPECT_EQ(Json::parse(args), Json({{"city", "Paris"}}));
  const JobOutput& out = r.attempt.output;
  EXPECT_EQ(out.finish_reason, "tool_use");
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0]["id"], first[0]["id"]);
  EXPECT_EQ(out.tool_calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(Json::parse(out.tool_calls[0]["function"]["arguments"].get<std::string>()),
            Json({{"city", "Paris"}}));
}

TEST(AnthropicProvider, RateLimitedIsRetryableWithRetryAfter) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  JobSpec spec = Chat("429-once-a", Json::array({User("hi")}));
  Outcome r = RunJob(*p, spec);
  EXPECT_EQ(r.attempt.status.code(), Code::kResourceExhausted);
  EXPECT_EQ(r.attempt.http_status, 429);
  EXPECT_TRUE(r.attempt.retryable);
  EXPECT_GE(r.attempt.retry_after_ms, 900);
  EXPECT_LE(r.attempt.retry_after_ms, 1000);
  EXPECT_NE(r.attempt.status.message().find("HTTP 429"), std::string::npos);
  EXPECT_NE(r.attempt.status.message().find("rate limited"), std::string::npos);
  Outcome again = RunJob(*p, spec);  // the fake fails only the first request
  ASSERT_TRUE(again.attempt.status.ok()) << again.attempt.status.ToString();
  EXPECT_EQ(again.attempt.output.text, "echo: hi");
  EXPECT_EQ(again.attempt.retry_after_ms, -1);
}

TEST(AnthropicProvider, ServerErrorIsRetryable) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome once = RunJob(*p, Chat("500-once-b", Json::array({User("hi")})));
  EXPECT_EQ(once.attempt.status.code(), Code::kUnavailable);
  EXPECT_EQ(once.attempt.http_status, 500);
  EXPECT_TRUE(once.attempt.retryable);
  EXPECT_EQ(once.attempt.retry_after_ms, -1);
  EXPECT_NE(once.attempt.status.message().find("HTTP 500: internal error"), std::string::npos);
  EXPECT_TRUE(RunJob(*p, Chat("500-once-b", Json::array({User("hi")}))).attempt.status.ok());
  Outcome always = RunJob(*p, Chat("500-always", Json::array({User("hi")}), true));
  EXPECT_FALSE(always.attempt.status.ok());
  EXPECT_EQ(always.attempt.http_status, 500);
  EXPECT_TRUE(always.attempt.retryable);
  EXPECT_FALSE(always.attempt.streamed);
  EXPECT_NE(always.attempt.status.message().find("HTTP 500: internal error"), std::string::npos)
      << always.attempt.status.ToString();
  EXPECT_TRUE(always.deltas.empty());
}

TEST(AnthropicProvider, StreamedRequestRefusedWithRetryAfter) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome r = RunJob(*p, Chat("429-once-stream", Json::array({User("hi")}), true));
  EXPECT_EQ(r.attempt.status.code(), Code::kResourceExhausted);
  EXPECT_NE(r.attempt.status.message().find("rate limited"), std::string::npos)
      << r.attempt.status.ToString();
  EXPECT_TRUE(r.attempt.retryable);
  EXPECT_FALSE(r.attempt.streamed);
  EXPECT_GE(r.attempt.retry_after_ms, 900);
  EXPECT_LE(r.attempt.retry_after_ms, 1000);
  EXPECT_TRUE(r.deltas.empty());
}

TEST(AnthropicProvider, BadRequestIsNotRetryable) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome r = RunJob(*p, Chat("bad-request", Json::array({User("hi")})));
  EXPECT_EQ(r.attempt.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(r.attempt.http_status, 400);
  EXPECT_FALSE(r.attempt.retryable);
  EXPECT_NE(r.attempt.status.message().find("HTTP 400: bad request"), std::string::npos);
}

TEST(AnthropicProvider, CutStreamFailsAfterDeltasAndIsNotRetried) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome r = RunJob(*p, Chat("cut", Json::array({User("a b c d e f")}), true));
  EXPECT_FALSE(r.attempt.status.ok());
  EXPECT_NE(r.attempt.status.message().find("stream cut"), std::string::npos)
      << r.attempt.status.ToString();
  EXPECT_EQ(r.deltas.size(), 2u);
  EXPECT_TRUE(r.attempt.streamed);
  EXPECT_FALSE(r.attempt.retryable);
  EXPECT_EQ(r.attempt.output.text, r.deltas[0].text + r.deltas[1].text);
}

TEST(AnthropicProvider, TruncatedPlainReplyFails) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome r = RunJob(*p, Chat("cut", Json::array({User("hi")})));
  EXPECT_EQ(r.attempt.status.code(), Code::kInternal);
  EXPECT_NE(r.attempt.status.message().find("malformed reply"), std::string::npos);
  EXPECT_FALSE(r.attempt.retryable);
}

TEST(AnthropicProvider, MalformedRepliesFail) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Outcome plain = RunJob(*p, Chat("malformed", Json::array({User("hi")})));
  EXPECT_EQ(plain.attempt.status.code(), Code::kInternal);
  EXPECT_NE(plain.attempt.status.message().find("malformed"), std::string::npos);
  EXPECT_FALSE(plain.attempt.retryable);
  Outcome stream = RunJob(*p, Chat("malformed", Json::array({User("hi")}), true));
  EXPECT_EQ(stream.attempt.status.code(), Code::kInternal);
  EXPECT_NE(stream.attempt.status.message().find("malformed event"), std::string::npos);
  EXPECT_FALSE(stream.attempt.retryable);
  EXPECT_TRUE(stream.deltas.empty());
}

TEST(AnthropicProvider, SlowServerPastTimeoutIsDeadlineExceeded) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  JobSpec spec = Chat("slow-3000", Json::array({User("hi")}));
  spec.timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  Outcome r = RunJob(*p, spec);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_EQ(r.attempt.status.code(), Code::kDeadlineExceeded) << r.attempt.status.ToString();
  EXPECT_LT(ms, 2000);
  // Within its time, a slow server answers.
  spec.model = "slow-50";
  spec.timeout_ms = 5000;
  EXPECT_EQ(RunJob(*p, spec).attempt.output.text, "echo: hi");
}

TEST(AnthropicProvider, CancelDropsTheRequest) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  auto t0 = std::chrono::steady_clock::now();
  Attempt a = p->Run(Chat("slow-3000", Json::array({User("hi")}), true), nullptr, cancel);
  canceller.join();
  EXPECT_EQ(a.status.code(), Code::kAborted) << a.status.ToString();
  EXPECT_EQ(a.status.message(), "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2000));
}

TEST(AnthropicProvider, WrongKeyIsUnauthenticatedAndNeverEchoed) {
  FakeLlmOptions opts;
  opts.api_key = "the-right-key";
  FakeLlm fake(opts);
  auto p = MakeAnthropicProvider(Config(fake, "a-wrong-key"));
  Outcome r = RunJob(*p, Chat("claude-test", Json::array({User("hi")})));
  EXPECT_EQ(r.attempt.status.code(), Code::kUnauthenticated);
  EXPECT_EQ(r.attempt.http_status, 401);
  EXPECT_FALSE(r.attempt.retryable);
  EXPECT_EQ(r.attempt.status.message().rfind("HTTP 401: ", 0), 0u) << r.attempt.status.message();
  EXPECT_EQ(r.attempt.status.message().find("a-wrong-key"), std::string::npos);

  auto good = MakeAnthropicProvider(Config(fake, "the-right-key"));
  EXPECT_TRUE(RunJob(*good, Chat("claude-test", Json::array({User("hi")}))).attempt.status.ok());
}

TEST(AnthropicProvider, HealthOkAndHttp401) {
  FakeLlmOptions opts;
  opts.api_key = "the-right-key";
  FakeLlm fake(opts);
  auto good = MakeAnthropicProvider(Config(fake, "the-right-key"));
  Status ok = good->Health();
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(fake.Requests("/v1/models"), 1);
  EXPECT_EQ(fake.LastHeader("/v1/models", "x-api-key"), "the-right-key");
  EXPECT_EQ(fake.LastHeader("/v1/models", "anthropic-version"), "2023-06-01");

  auto bad = MakeAnthropicProvider(Config(fake, "a-wrong-key"));
  Status s = bad->Health();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("HTTP 401"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.message().find("a-wrong-key"), std::string::npos);
}

TEST(AnthropicProvider, HealthNotConfiguredWithoutKey) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake, ""));
  Status s = p->Health();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_EQ(s.message(), "not configured: set ANTHROPIC_API_KEY");
  Attempt a = RunJob(*p, Chat("claude-test", Json::array({User("hi")}))).attempt;
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
  EXPECT_FALSE(a.retryable);
  EXPECT_EQ(fake.TotalRequests(), 0);
  EXPECT_EQ(p->Info()["api_key_set"], false);
}

TEST(AnthropicProvider, HealthConnectionRefused) {
  ProviderConfig cfg;
  cfg.id = "claude";
  cfg.type = "anthropic";
  cfg.base_url = "http://127.0.0.1:" + std::to_string(DeadPort());
  cfg.api_key = kKey;
  auto p = MakeAnthropicProvider(cfg);
  Status s = p->Health();
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_NE(s.message().find("connection refused"), std::string::npos) << s.ToString();
  // A refused attempt is retryable (nothing was streamed).
  Attempt a = RunJob(*p, Chat("claude-test", Json::array({User("hi")}), true)).attempt;
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
  EXPECT_TRUE(a.retryable);
  EXPECT_FALSE(a.streamed);
}

TEST(AnthropicProvider, EmbeddingsAreUnimplemented) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  JobSpec spec;
  spec.kind = "embeddings";
  spec.model = "claude-test";
  spec.input = Json::array({"a", "b"});
  Attempt a = RunJob(*p, spec).attempt;
  EXPECT_EQ(a.status.code(), Code::kUnimplemented);
  EXPECT_EQ(a.status.message(), "anthropic has no embeddings API");
  EXPECT_FALSE(a.retryable);
  EXPECT_EQ(fake.TotalRequests(), 0);
}

TEST(AnthropicProvider, InfoNeverHoldsTheKey) {
  FakeLlm fake;
  auto p = MakeAnthropicProvider(Config(fake));
  Json info = p->Info();
  EXPECT_EQ(info["type"], "anthropic");
  EXPECT_EQ(info["api_key_set"], true);
  EXPECT_EQ(info["anthropic_version"], "2023-06-01");
  EXPECT_EQ(info.dump().find(kKey), std::string::npos);
}

TEST(AnthropicMapping, ConsecutiveToolResultsShareOneUserMessage) {
  JobSpec spec =
      Chat("m", Json::array({User("two cities"),
                             {{"role", "assistant"},
                              {"content", "Looking."},
                              {"tool_calls",
                               {{{"id", "c1"}, {"function", {{"name", "w"}, {"arguments", "{}"}}}},
                                {{"id", "c2"}, {"function", {{"name", "w"}, {"arguments", ""}}}}}}},
                             {{"role", "tool"}, {"tool_call_id", "c1"}, {"content", "rain"}},
                             {{"role", "tool"}, {"tool_call_id", "c2"}, {"content", "snow"}}}));
  spec.input["tool_choice"] = {{"type", "function"}, {"function", {{"name", "w"}}}};
  spec.input["tools"] = Json::array({WeatherTool()});
  auto body = AnthropicRequestBody(spec);
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  const Json& msgs = (*body)["messages"];
  ASSERT_EQ(msgs.size(), 3u);
  const Json& turn = msgs[1]["content"];
  ASSERT_EQ(turn.size(), 3u);
  EXPECT_EQ(turn[0], Json({{"type", "text"}, {"text", "Looking."}}));
  EXPECT_EQ(turn[2]["input"], Json::object());
  ASSERT_EQ(msgs[2]["content"].size(), 2u);
  EXPECT_EQ(msgs[2]["content"][1]["tool_use_id"], "c2");
  EXPECT_EQ((*body)["tool_choice"], Json({{"type", "tool"}, {"name", "w"}}));
}

TEST(AnthropicMapping, RefusesInputItCannotMap) {
  JobSpec spec;
  spec.kind = "chat";
  spec.input = Json{{"prompt", "hi"}};
  EXPECT_EQ(AnthropicRequestBody(spec).status().code(), Code::kInvalidArgument);
  spec.input = Json{{"messages", {{{"role", "wizard"}, {"content", "hi"}}}}};
  EXPECT_EQ(AnthropicRequestBody(spec).status().code(), Code::kInvalidArgument);
  spec.input = Json{
      {"messages",
       {{{"role", "assistant"},
         {"tool_calls", {{{"id", "c"}, {"function", {{"name", "f"}, {"arguments", "{oops"}}}}}}}}}};
  EXPECT_EQ(AnthropicRequestBody(spec).status().code(), Code::kInvalidArgument);
  spec.input = Json{{"messages", {{{"role", "tool"}, {"content", "x"}}}}};
  EXPECT_EQ(AnthropicRequestBody(spec).status().code(), Code::kInvalidArgument);
}

TEST(AnthropicMapping, StreamErrorEventFailsWithItsMessage) {
  int calls = 0;
  DeltaSink sink = [&](const Delta&) { ++calls; };
  AnthropicStream s(sink);
  EXPECT_TRUE(s.OnEvent("ping", R"({"type":"ping"})").ok());
  Status st = s.OnEvent(
      "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("Overloaded"), std::string::npos);
  EXPECT_TRUE(s.retryable_error());
  AnthropicStream other(sink);
  Status inv = other.OnEvent(
      "error", R"({"type":"error","error":{"type":"invalid_request_error","message":"no"}})");
  EXPECT_FALSE(inv.ok());
  EXPECT_FALSE(other.retryable_error());
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace agent9::compute
