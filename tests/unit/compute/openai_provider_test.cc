#include "compute/openai_provider.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "tests/fakes/fake_llm.h"

namespace agent9::compute {
namespace {

using agent9::testing::FakeLlm;
using agent9::testing::FakeLlmOptions;

constexpr char kKey[] = "sk-test-secret-key-123";

int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

ProviderConfig Config(const std::string& base_url, const std::string& key = kKey) {
  ProviderConfig cfg;
  cfg.id = "fake";
  cfg.type = "openai";
  cfg.base_url = base_url;
  cfg.api_key = key;
  cfg.timeout_ms = 10'000;
  return cfg;
}

JobSpec ChatSpec(const std::string& model, bool stream,
                 const std::string& text = "hello big world") {
  JobSpec spec;
  spec.kind = "chat";
  spec.model = model;
  spec.stream = stream;
  spec.input = {{"messages", Json::array({{{"role", "system"}, {"content", "be brief"}},
                                          {{"role", "user"}, {"content", text}}})}};
  return spec;
}

class OpenAiProviderTest : public ::testing::Test {
 protected:
  OpenAiProviderTest() : fake_(FakeLlmOptions{.api_key = kKey}) {
    provider_ = MakeOpenAiProvider(Config(fake_.url() + "/v1"));
  }

  Attempt Run(const JobSpec& spec, std::vector<Delta>* deltas = nullptr) {
    std::atomic<bool> cancel{false};
    return provider_->Run(
        spec,
        [deltas](const Delta& d) {
          if (deltas != nullptr) deltas->push_back(d);
        },
        cancel);
  }

  FakeLlm fake_;
  std::unique_ptr<Provider> provider_;
};

TEST_F(OpenAiProviderTest, PlainAnswerAndRequestShape) {
  JobSpec spec = ChatSpec("echo", false);
  spec.max_output_tokens = 64;
  spec.input["temperature"] = 0.5;
  Attempt a = Run(spec);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.output.text, "echo: hello big world");
  EXPECT_EQ(a.output.finish_reason, "stop");
  EXPECT_EQ(a.output.input_tokens, 5);  // "be brief" + "hello big world"
  EXPECT_EQ(a.output.output_tokens, 4);
  EXPECT_TRUE(a.output.tool_calls.is_null());
  EXPECT_EQ(a.http_status, 200);
  EXPECT_FALSE(a.streamed);
  Json body = fake_.LastBody("/v1/chat/completions");
  EXPECT_EQ(body["model"], "echo");
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_EQ(body["temperature"], 0.5);
  EXPECT_EQ(body["messages"].size(), 2u);
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_EQ(fake_.LastHeader("/v1/chat/completions", "authorization"),
            std::string("Bearer ") + kKey);
}

TEST_F(OpenAiProviderTest, StreamedDeltasAndUsage) {
  std::vector<Delta> deltas;
  Attempt a = Run(ChatSpec("echo", true), &deltas);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_TRUE(a.streamed);
  EXPECT_EQ(a.output.text, "echo: hello big world");
  EXPECT_EQ(a.output.finish_reason, "stop");
  EXPECT_EQ(a.output.input_tokens, 5);
  EXPECT_EQ(a.output.output_tokens, 4);
  ASSERT_EQ(deltas.size(), 4u);  // one word per delta
  std::string joined;
  for (const Delta& d : deltas) joined += d.text;
  EXPECT_EQ(joined, "echo: hello big world");
  Json body = fake_.LastBody("/v1/chat/completions");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
}

TEST_F(OpenAiProviderTest, ToolCallsPlain) {
  JobSpec spec = ChatSpec("tools", false);
  spec.input["tools"] =
      Json::array({{{"type", "function"}, {"function", {{"name", "get_weather"}}}}});
  Attempt a = Run(spec);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.output.finish_reason, "tool_calls");
  EXPECT_EQ(a.output.text, "");
  ASSERT_TRUE(a.output.tool_calls.is_array());
  ASSERT_EQ(a.output.tool_calls.size(), 1u);
  EXPECT_EQ(a.output.tool_calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(a.output.tool_calls[0]["function"]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(fake_.LastBody("/v1/chat/completions")["tools"].size(), 1u);
}

TEST_F(OpenAiProviderTest, ToolCallsStreamedAreAccumulated) {
  std::vector<Delta> deltas;
  Attempt a = Run(ChatSpec("tools", true), &deltas);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.output.finish_reason, "tool_calls");
  ASSERT_EQ(a.output.tool_calls.size(), 1u);
  const Json& call = a.output.tool_calls[0];
  EXPECT_EQ(call["id"], "call_fake_1");
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(call["function"]["arguments"], R"({"city":"Paris"})");
  ASSERT_EQ(deltas.size(), 3u);
  for (const Delta& d : deltas) EXPECT_TRUE(d.tool_calls.is_array());
}

TEST_F(OpenAiProviderTest, RateLimitedIsRetryableWithRetryAfter) {
  Attempt a = Run(ChatSpec("429-once-a", false));
  EXPECT_EQ(a.status.code(), Code::kResourceExhausted);
  EXPECT_EQ(a.http_status, 429);
  EXPECT_TRUE(a.retryable);
  EXPECT_EQ(a.retry_after_ms, 1000);
  EXPECT_NE(a.status.message().find("HTTP 429"), std::string::npos);
  EXPECT_NE(a.status.message().find("Rate limit"), std::string::npos);
  Attempt again = Run(ChatSpec("429-once-a", false));
  EXPECT_TRUE(again.status.ok()) << again.status.ToString();
}

TEST_F(OpenAiProviderTest, ServerErrorIsRetryable) {
  Attempt a = Run(ChatSpec("500-once-b", true));
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
  EXPECT_EQ(a.http_status, 500);
  EXPECT_TRUE(a.retryable);
  EXPECT_FALSE(a.streamed);
  EXPECT_EQ(a.retry_after_ms, -1);
  EXPECT_EQ(a.status.message(), "HTTP 500: The server had an error");
  EXPECT_TRUE(Run(ChatSpec("500-once-b", true)).status.ok());
  Attempt always = Run(ChatSpec("500-always", false));
  EXPECT_TRUE(always.retryable);
}

TEST_F(OpenAiProviderTest, BadRequestIsNotRetryable) {
  Attempt a = Run(ChatSpec("bad-request", false));
  EXPECT_EQ(a.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(a.http_status, 400);
  EXPECT_FALSE(a.retryable);
  EXPECT_NE(a.status.message().find("bad request"), std::string::npos);
}

TEST_F(OpenAiProviderTest, CutStreamFailsAfterDeltas) {
  std::vector<Delta> deltas;
  Attempt a = Run(ChatSpec("cut", true), &deltas);
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ(a.status.message().rfind("stream cut", 0), 0u) << a.status.ToString();
  EXPECT_TRUE(a.streamed);
  EXPECT_FALSE(a.retryable);
  EXPECT_EQ(deltas.size(), 2u);
}

TEST_F(OpenAiProviderTest, CutPlainBodyIsMalformed) {
  Attempt a = Run(ChatSpec("cut", false));
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ(a.status.message().rfind("malformed response", 0), 0u) << a.status.ToString();
}

TEST_F(OpenAiProviderTest, MalformedFails) {
  Attempt plain = Run(ChatSpec("malformed", false));
  EXPECT_EQ(plain.status.code(), Code::kUnavailable);
  EXPECT_EQ(plain.status.message().rfind("malformed response", 0), 0u);
  std::vector<Delta> deltas;
  Attempt streamed = Run(ChatSpec("malformed", true), &deltas);
  EXPECT_EQ(streamed.status.message().rfind("malformed response", 0), 0u)
      << streamed.status.ToString();
  EXPECT_TRUE(deltas.empty());
}

TEST_F(OpenAiProviderTest, SlowPastTimeoutIsDeadlineExceeded) {
  JobSpec spec = ChatSpec("slow-3000", true);
  spec.timeout_ms = 300;
  Attempt a = Run(spec);
  EXPECT_EQ(a.status.code(), Code::kDeadlineExceeded) << a.status.ToString();
  JobSpec fast = ChatSpec("slow-50", false);
  EXPECT_TRUE(Run(fast).status.ok());
}

TEST_F(OpenAiProviderTest, CancelIsAborted) {
  std::atomic<bool> cancel{true};
  Attempt a = provider_->Run(ChatSpec("slow-2000", true), nullptr, cancel);
  EXPECT_EQ(a.status.code(), Code::kAborted);
  EXPECT_EQ(a.status.message(), "cancelled");
}

TEST_F(OpenAiProviderTest, WrongKeyIs401AndNeverEchoesTheKey) {
  auto bad = MakeOpenAiProvider(Config(fake_.url() + "/v1", "sk-wrong-key-456"));
  std::atomic<bool> cancel{false};
  Attempt a = bad->Run(ChatSpec("echo", false), nullptr, cancel);
  EXPECT_EQ(a.status.code(), Code::kUnauthenticated);
  EXPECT_EQ(a.http_status, 401);
  EXPECT_FALSE(a.retryable);
  EXPECT_EQ(a.status.message().rfind("HTTP 401: ", 0), 0u) << a.status.message();
  EXPECT_EQ(a.status.message().find("sk-wrong-key-456"), std::string::npos);
  Status h = bad->Health();
  EXPECT_EQ(h.code(), Code::kUnavailable);
  EXPECT_EQ(h.message().rfind("HTTP 401", 0), 0u) << h.message();
  EXPECT_EQ(h.message().find("sk-wrong"), std::string::npos);
}

TEST_F(OpenAiProviderTest, Health) {
  EXPECT_TRUE(provider_->Health().ok());
  EXPECT_EQ(fake_.Requests("/v1/models"), 1);

  auto refused =
      MakeOpenAiProvider(Config("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/v1"));
  Status r = refused->Health();
  EXPECT_EQ(r.code(), Code::kUnavailable);
  EXPECT_EQ(r.message().rfind("connection refused", 0), 0u) << r.message();

  auto unconfigured = MakeOpenAiProvider(Config(""));
  EXPECT_EQ(unconfigured->Health().message(), "not configured");
  std::atomic<bool> cancel{false};
  EXPECT_EQ(unconfigured->Run(ChatSpec("echo", false), nullptr, cancel).status.message(),
            "not configured");
}

TEST_F(OpenAiProviderTest, ConnectionRefusedIsRetryable) {
  auto refused =
      MakeOpenAiProvider(Config("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/v1"));
  std::atomic<bool> cancel{false};
  Attempt a = refused->Run(ChatSpec("echo", true), nullptr, cancel);
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
  EXPECT_TRUE(a.retryable);
  EXPECT_FALSE(a.streamed);
  EXPECT_EQ(a.http_status, 0);
}

TEST_F(OpenAiProviderTest, EmbeddingsInInputOrder) {
  JobSpec spec;
  spec.kind = "embeddings";
  spec.model = "fake-embed";
  spec.input = Json::array({"alpha", "beta gamma", "delta"});
  Attempt a = Run(spec);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_EQ(a.output.vectors.size(), 3u);
  EXPECT_EQ(a.output.input_tokens, 4);
  for (const Json& v : a.output.vectors) EXPECT_EQ(v.size(), 8u);
  // The fake lists items in reverse order; each vector depends only on its text.
  JobSpec one = spec;
  one.input = Json::array({"beta gamma"});
  Attempt b = Run(one);
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.output.vectors[0], a.output.vectors[1]);
  EXPECT_NE(a.output.vectors[0], a.output.vectors[1]);
  EXPECT_EQ(fake_.LastBody("/v1/embeddings")["input"], one.input);

  JobSpec bad = spec;
  bad.input = Json::array({1, 2});
  EXPECT_EQ(Run(bad).status.code(), Code::kInvalidArgument);
}

TEST_F(OpenAiProviderTest, KeepAliveAcrossAttempts) {
  std::set<std::string> ports;
  for (int i = 0; i < 20; ++i) {
    Attempt a = Run(ChatSpec("echo", i % 2 == 0));
    ASSERT_TRUE(a.status.ok()) << a.status.ToString();
    ports.insert(fake_.LastHeader("/v1/chat/completions", "x-fake-remote-port"));
  }
  EXPECT_EQ(ports.size(), 1u);
}

TEST(RetryAfter, SecondsAndDates) {
  EXPECT_EQ(ParseRetryAfter("1", 0), 1000);
  EXPECT_EQ(ParseRetryAfter(" 30 ", 0), 30'000);
  EXPECT_EQ(ParseRetryAfter("", 0), -1);
  EXPECT_EQ(ParseRetryAfter("soon", 0), -1);
  EXPECT_EQ(ParseRetryAfter("1.5", 0), -1);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784'111'770'000), 7000);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784'111'780'000), 0);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999", 0), 86'400LL * 365 * 1000);
}

}  // namespace
}  // namespace agent9::compute
