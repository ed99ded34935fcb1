// SSE watches of stream files: delivery, keep-alives, ending on stream close, client
// disconnect and server stop, and the bound on open streams.
#include <gtest/gtest.h>
#include <httplib.h>

#include <mutex>
#include <thread>

#include "controlplane/http/http_server.h"
#include "tests/unit/http/test_server.h"
#include "tests/unit/http/test_util.h"

namespace agent9 {
namespace {

using testing::TestServer;
using testing::WaitFor;

// Runs one SSE GET on its own thread and collects what arrives.
class Watcher {
 public:
  Watcher(int port, std::string target, httplib::Headers headers = {},
          std::string token = "admin-token")
      : thread_([this, port, target, headers, token] {
          httplib::Client c("127.0.0.1", port);
          c.set_read_timeout(20, 0);
          c.set_bearer_token_auth(token);
          auto r = c.Get(
              target, headers,
              [this](const httplib::Response& resp) {
                std::lock_guard<std::mutex> l(mu_);
                status_ = resp.status;
                type_ = resp.get_header_value("Content-Type");
                return true;
              },
              [this](const char* d, size_t n) {
                std::lock_guard<std::mutex> l(mu_);
                got_.append(d, n);
                return !hang_up_;
              });
          std::lock_guard<std::mutex> l(mu_);
          done_ = true;
        }) {}
  ~Watcher() {
    if (thread_.joinable()) thread_.join();
  }
  std::string got() {
    std::lock_guard<std::mutex> l(mu_);
    return got_;
  }
  bool Has(const std::string& s) { return got().find(s) != std::string::npos; }
  bool done() {
    std::lock_guard<std::mutex> l(mu_);
    return done_;
  }
  int status() {
    std::lock_guard<std::mutex> l(mu_);
    return status_;
  }
  std::string type() {
    std::lock_guard<std::mutex> l(mu_);
    return type_;
  }
  // The next chunk makes the client close the connection.
  void HangUp() {
    std::lock_guard<std::mutex> l(mu_);
    hang_up_ = true;
  }

 private:
  std::mutex mu_;
  std::string got_;
  std::string type_;
  int status_ = 0;
  bool done_ = false;
  bool hang_up_ = false;
  std::thread thread_;
};

class HttpSseTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(srv_.port, 0); }
  TestServer srv_;
};

TEST_F(HttpSseTest, DeliversBacklogThenAppendedLinesAndEndsWithTheStream) {
  srv_.stream->Append("old\n");
  Watcher w(srv_.port, "/v1/fs/agents/alice/stream?watch=1");
  ASSERT_TRUE(WaitFor([&] { return w.Has("data: old\n\n"); })) << w.got();
  EXPECT_EQ(w.status(), 200);
  EXPECT_EQ(w.type(), "text/event-stream");
  EXPECT_EQ(srv_.server->active_streams(), 1u);

  srv_.stream->Append("{\"n\":1}\nsecond\npart");
  ASSERT_TRUE(WaitFor([&] { return w.Has("data: second\n\n"); })) << w.got();
  EXPECT_TRUE(w.Has("data: {\"n\":1}\n\n"));
  EXPECT_FALSE(w.Has("part"));  // only complete lines become events
  srv_.stream->Append("ial\r\n");
  ASSERT_TRUE(WaitFor([&] { return w.Has("data: partial\n\n"); })) << w.got();

  srv_.stream->Close();
  ASSERT_TRUE(WaitFor([&] { return w.done(); }));
  EXPECT_TRUE(WaitFor([&] { return srv_.server->active_streams() == 0; }));
}

TEST_F(HttpSseTest, AcceptHeaderAlsoWatchesAndIdleStreamsGetKeepAlives) {
  Watcher w(srv_.port, "/v1/fs/agents/alice/stream", {{"Accept", "text/event-stream"}});
  ASSERT_TRUE(WaitFor([&] { return w.Has(": keepalive\n\n"); }, std::chrono::seconds(5)));
  EXPECT_EQ(w.type(), "text/event-stream");
  srv_.stream->Close();
  EXPECT_TRUE(WaitFor([&] { return w.done(); }));
}

TEST_F(HttpSseTest, EndsWhenTheClientGoesAway) {
  Watcher w(srv_.port, "/v1/fs/agents/alice/stream?watch=1");
  ASSERT_TRUE(WaitFor([&] { return srv_.server->active_streams() == 1; }));
  w.HangUp();
  srv_.stream->Append("bye\n");  // the client reads this chunk and disconnects
  ASSERT_TRUE(WaitFor([&] { return w.done(); }));
  // The server notices at its next write (a keep-alive within a second or two).
  EXPECT_TRUE(WaitFor([&] { return srv_.server->active_streams() == 0; }));
}

TEST_F(HttpSseTest, ErrorsBeforeTheStreamAreJson) {
  Watcher w(srv_.port, "/v1/fs/agents/alice/stream?watch=1", {}, "bob-token");
  ASSERT_TRUE(WaitFor([&] { return w.done(); }));
  EXPECT_EQ(w.status(), 403);
  EXPECT_TRUE(w.Has("\"error\":\"permission_denied\""));
  EXPECT_EQ(srv_.server->active_streams(), 0u);
}

TEST_F(HttpSseTest, OpenStreamsAreBoundedSoWorkersStayFree) {
  // TestServer runs 8 workers, so at most 4 streams.
  std::vector<std::unique_ptr<Watcher>> ws;
  for (int i = 0; i < 4; ++i) {
    ws.push_back(std::make_unique<Watcher>(srv_.port, "/v1/fs/agents/alice/stream?watch=1"));
  }
  ASSERT_TRUE(WaitFor([&] { return srv_.server->active_streams() == 4; }));
  httplib::Client c("127.0.0.1", srv_.port);
  c.set_bearer_token_auth("admin-token");
  auto r = c.Get("/v1/fs/agents/alice/stream?watch=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("\"unavailable\""), std::string::npos);
  EXPECT_EQ(c.Get("/v1/healthz")->status, 200);  // plain requests still get a worker
  srv_.stream->Close();
  for (auto& w : ws) EXPECT_TRUE(WaitFor([&] { return w->done(); }));
}

TEST_F(HttpSseTest, StopEndsOpenStreamsPromptly) {
  Watcher w(srv_.port, "/v1/fs/agents/alice/stream?watch=1");
  ASSERT_TRUE(WaitFor([&] { return srv_.server->active_streams() == 1; }));
  auto start = std::chrono::steady_clock::now();
  srv_.server->Stop();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(4));
  EXPECT_TRUE(WaitFor([&] { return w.done(); }));
  EXPECT_EQ(srv_.server->active_streams(), 0u);
}

}  // namespace
}  // namespace agent9
