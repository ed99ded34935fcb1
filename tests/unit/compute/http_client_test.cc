#include "compute/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "tests/fakes/fake_llm.h"

namespace agent9::compute {
namespace {

using agent9::testing::FakeLlm;

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

// A loopback port nothing listens on (bound, then closed).
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

HttpRequest Chat(const FakeLlm& fake, const std::string& model, bool stream) {
  HttpRequest req;
  req.url = fake.url() + "/v1/chat/completions";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = std::string(R"({"model":")") + model +
             R"(","messages":[{"role":"user","content":"one two three four"}],"stream":)" +
             (stream ? "true" : "false") + "}";
  return req;
}

TEST(HttpClient, GetAndPostWithHeaders) {
  FakeLlm fake;
  HttpClient http;
  HttpRequest req = Chat(fake, "echo", false);
  req.headers.emplace_back("X-Custom", "v1");
  auto resp = http.Send(req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->headers["content-type"], "application/json");
  EXPECT_NE(resp->body.find("echo: one two three four"), std::string::npos);
  EXPECT_EQ(fake.LastHeader("/v1/chat/completions", "x-custom"), "v1");
  EXPECT_EQ(fake.LastBody("/v1/chat/completions")["model"], "echo");

  HttpRequest get;
  get.method = "GET";
  get.url = fake.url() + "/v1/models";
  auto models = http.Send(get);
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(models->status, 200);
  EXPECT_EQ(fake.Requests("/v1/models"), 1);
}

TEST(HttpClient, PutDeleteAndUnknownMethods) {
  FakeLlm fake;
  HttpClient http;
  for (const char* method : {"PUT", "DELETE"}) {
    HttpRequest req;
    req.method = method;
    req.url = fake.url() + "/v1/models";
    auto resp = http.Send(req);
    ASSERT_TRUE(resp.ok()) << method << ": " << resp.status().ToString();
    EXPECT_EQ(resp->status, 404) << method;  // the fake serves only GET there
  }
  HttpRequest bad;
  bad.method = "BREW";
  bad.url = fake.url() + "/v1/models";
  EXPECT_EQ(http.Send(bad).status().code(), Code::kInvalidArgument);
}

TEST(HttpClient, KeepAliveReusesOneConnection) {
  FakeLlm fake;
  HttpClient http;
  std::set<std::string> ports;
  for (int i = 0; i < 30; ++i) {
    auto resp = http.Send(Chat(fake, "echo", i % 2 == 1));
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    ASSERT_EQ(resp->status, 200);
    ports.insert(fake.LastHeader("/v1/chat/completions", "x-fake-remote-port"));
  }
  EXPECT_EQ(fake.Requests("/v1/chat/completions"), 30);
  EXPECT_EQ(ports.size(), 1u) << "each request opened a new connection";
}

TEST(HttpClient, HttpErrorStatusIsNotAnError) {
  FakeLlm fake;
  HttpClient http;
  auto resp = http.Send(Chat(fake, "500-always", false));
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 500);
  auto limited = http.Send(Chat(fake, "429-once-h", false));
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->headers["retry-after"], "1");
}

TEST(HttpClient, StreamsToTheSinkWithStatusKnown) {
  FakeLlm fake;
  HttpClient http;
  std::string got;
  int chunks = 0;
  auto resp = http.Send(Chat(fake, "echo", true), [&](std::string_view c) {
    got.append(c);
    ++chunks;
    return true;
  });
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_TRUE(resp->body.empty());
  EXPECT_GE(chunks, 1);
  EXPECT_NE(got.find("data: [DONE]"), std::string::npos);
}

TEST(HttpClient, ConnectionRefused) {
  HttpClient http;
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/v1/models";
  req.method = "GET";
  auto resp = http.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kUnavailable);
  EXPECT_EQ(resp.status().message(), "connection refused: " + req.url);
}

TEST(HttpClient, TimeoutIsDeadlineExceeded) {
  FakeLlm fake;
  HttpClient http;
  HttpRequest req = Chat(fake, "slow-3000", false);
  req.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto resp = http.Send(req);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(ElapsedMs(start), 2000);
}

TEST(HttpClient, CancelWhileWaiting) {
  FakeLlm fake;
  HttpClient http;
  std::atomic<bool> cancel{false};
  std::thread t([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  auto resp = http.Send(
      Chat(fake, "slow-5000", true), [](std::string_view) { return true; }, &cancel);
  t.join();
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kAborted);
  EXPECT_EQ(resp.status().message(), "cancelled");
  EXPECT_LT(ElapsedMs(start), 2500);
}

TEST(HttpClient, CancelMidStreamAndSinkStop) {
  FakeLlm fake;
  HttpClient http;
  std::atomic<bool> cancel{false};
  // A long answer (thousands of events) cannot arrive in one chunk.
  HttpRequest long_req = Chat(fake, "echo", true);
  std::string words;
  for (int i = 0; i < 3000; ++i) words += "word ";
  long_req.body =
      R"({"model":"echo","stream":true,"messages":[{"role":"user","content":")" + words + R"("}]})";
  auto resp = http.Send(
      long_req,
      [&cancel](std::string_view) {
        cancel = true;  // after the first chunk
        return true;
      },
      &cancel);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), Code::kAborted);
  EXPECT_EQ(resp.status().message(), "cancelled");

  auto stopped = http.Send(Chat(fake, "echo", true), [](std::string_view) { return false; });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), Code::kAborted);
  // The client still works after aborted transfers.
  auto again = http.Send(Chat(fake, "echo", false));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST(HttpClient, ConcurrentSends) {
  FakeLlm fake;
  HttpClient http;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto resp = http.Send(Chat(fake, "echo", i % 2 == 0));
        if (resp.ok() && resp->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 60);
  EXPECT_EQ(fake.Requests("/v1/chat/completions"), 60);
}

}  // namespace
}  // namespace agent9::compute
