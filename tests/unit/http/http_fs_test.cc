// The file API (/v1/fs): path parsing at the edge, reads, writes, calls, HEAD and limits.
#include <gtest/gtest.h>
#include <httplib.h>

#include "controlplane/http/http_server.h"
#include "tests/unit/http/test_server.h"
#include "tests/unit/http/test_util.h"

namespace agent9 {
namespace {

using testing::TestServer;

class HttpFsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(srv_.port, 0); }
  httplib::Client Client(const std::string& token = "admin-token") { return srv_.Client(token); }
  static std::string Error(const httplib::Result& r) {
    auto j = ParseJsonObject(r ? r->body : "");
    return j.ok() ? j->value("error", "") : "(not json: " + (r ? r->body : "") + ")";
  }
  TestServer srv_;
};

TEST_F(HttpFsTest, HostilePathsAre400BeforeTouchingTheTree) {
  const std::vector<std::string> bad = {
      "/v1/fs/agents/../status",
      "/v1/fs/agents/%2e%2e/status",
      "/v1/fs/agents/%2E%2E/status",
      "/v1/fs/agents/.%2e/status",
      "/v1/fs/agents%2Falice/status",
      "/v1/fs/agents/alice%2fstatus",
      "/v1/fs/agents/al%00ice/status",
      "/v1/fs/agents//alice/status",
      "/v1/fs/agents/./alice",
      "/v1/fs/agents/a%zz",
      "/v1/fs/agents/a%2",
      "/v1/fs/" + std::string(300, 'n'),
  };
  std::vector<std::string> hostile = bad;
  std::string long_path = "/v1/fs";  // short segments, over Path::kMaxPath in all
  for (int i = 0; i < 20; ++i) long_path += "/" + std::string(250, 'a');
  hostile.push_back(long_path);
  for (const auto& target : hostile) {
    for (const char* method : {"GET", "PUT", "DELETE", "HEAD"}) {
      httplib::Request req;
      req.method = method;
      req.path = target;
      auto c = Client();
      auto r = c.send(req);
      ASSERT_TRUE(r) << target;
      EXPECT_EQ(r->status, 400) << method << " " << target.substr(0, 60);
      if (std::string(method) != "HEAD") {
        EXPECT_EQ(Error(r), "invalid_argument") << target;
      }
    }
  }
  // Past httplib's request-line limit: its own 414, still with our JSON body.
  auto r = Client().Get("/v1/fs/" + std::string(9000, 'a'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_EQ(Error(r), "too_large");
}

TEST_F(HttpFsTest, ListDirectoryAsJson) {
  auto r = Client().Get("/v1/fs/agents/alice");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Agent9-Type"), "dir");
  auto j = ParseJson(r->body);
  ASSERT_TRUE(j.ok() && j->is_array()) << r->body;
  ASSERT_EQ(j->size(), 7u);
  EXPECT_EQ((*j)[0], (Json{{"name", "status"},
                           {"type", "file"},
                           {"size", 0},
                           {"mtime", "2023-11-14T22:13:20.000Z"}}));
  EXPECT_EQ((*j)[3]["name"], "docs");
  EXPECT_EQ((*j)[3]["type"], "dir");
  // The root, with and without the trailing slash.
  EXPECT_EQ(ParseJson(Client().Get("/v1/fs/")->body)->size(), 2u);
  EXPECT_EQ(ParseJson(Client().Get("/v1/fs")->body)->size(), 2u);
  // alice may not list agents/.
  EXPECT_EQ(Client("alice-token").Get("/v1/fs/agents")->status, 403);
}

TEST_F(HttpFsTest, ListingPagesByName) {
  auto r = Client().Get("/v1/fs/agents/alice?limit=2");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Agent9-Next"), "docs");
  auto j = ParseJson(r->body);
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ((*j)[0]["name"], "big");
  r = Client().Get("/v1/fs/agents/alice?limit=2&after=docs");
  j = ParseJson(r->body);
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ((*j)[0]["name"], "echo");
  EXPECT_EQ((*j)[1]["name"], "policy");
  r = Client().Get("/v1/fs/agents/alice?limit=5&after=secret");
  EXPECT_EQ(*ParseJson(r->body), ParseJson(R"([
      {"name":"status","type":"file","size":0,"mtime":"2023-11-14T22:13:20.000Z"},
      {"name":"stream","type":"file","size":0,"mtime":"2023-11-14T22:13:20.000Z"}])")
                                     .value());
  EXPECT_FALSE(r->has_header("X-Agent9-Next"));
  for (const char* q : {"limit=0", "limit=1001", "limit=x", "after=a%2Fb", "after=..", "limit=%"}) {
    EXPECT_EQ(Client().Get(std::string("/v1/fs/agents/alice?") + q)->status, 400) << q;
  }
}

TEST_F(HttpFsTest, ReadFiles) {
  auto r = Client("").Get("/v1/fs/agents/alice/status");
  EXPECT_EQ(r->status, 401);  // alice is private
  srv_.alice_public->store(true);
  r = Client("").Get("/v1/fs/agents/alice/status");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(ParseJson(r->body).value()["id"], "alice");
  EXPECT_EQ(Client("").Get("/v1/fs/agents/alice/secret")->status, 401);  // still not public

  auto big = Client("alice-token").Get("/v1/fs/agents/alice/big");
  ASSERT_EQ(big->status, 200);
  ASSERT_EQ(big->body.size(), 200u * 1024);
  EXPECT_EQ(big->body[1000], 'm');  // 'a' + 1000 % 26
  EXPECT_EQ(big->get_header_value("Content-Type"), "application/octet-stream");
  EXPECT_EQ(Client().Get("/v1/fs/agents/alice/nothing")->status, 404);
  EXPECT_EQ(Client().Get("/v1/fs/agents/alice/status/x")->status, 400);  // not a directory
  EXPECT_EQ(Client().Get("/v1/fs/agents/carol")->status, 404);
}

TEST_F(HttpFsTest, PutGetDeleteDocuments) {
  auto c = Client("alice-token");
  auto put = c.Put("/v1/fs/agents/alice/docs/g1.json", R"({"a":1})", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 204);
  auto get = c.Get("/v1/fs/agents/alice/docs/g1.json");
  EXPECT_EQ(get->body, R"({"a":1})");
  EXPECT_EQ(get->get_header_value("Content-Type"), "application/json");

  auto bad = c.Put("/v1/fs/agents/alice/docs/g1.json", "not json", "text/plain");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Error(bad), "invalid_argument");
  EXPECT_EQ(c.Get("/v1/fs/agents/alice/docs/g1.json")->body, R"({"a":1})");  // unchanged

  auto list = ParseJson(c.Get("/v1/fs/agents/alice/docs")->body);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0]["size"], 7);

  EXPECT_EQ(c.Delete("/v1/fs/agents/alice/docs/g1.json")->status, 204);
  EXPECT_EQ(c.Get("/v1/fs/agents/alice/docs/g1.json")->status, 404);
  EXPECT_EQ(c.Delete("/v1/fs/agents/alice/docs/g1.json")->status, 404);
  EXPECT_EQ(Client("bob-token").Put("/v1/fs/agents/alice/docs/x.json", "{}", "")->status, 403);
}

TEST_F(HttpFsTest, WriteErrorsMapThroughTheStatusMap) {
  EXPECT_EQ(Client("alice-token").Put("/v1/fs/agents/alice/policy", "{}", "")->status, 403);
  EXPECT_EQ(Client().Put("/v1/fs/agents/alice/policy", R"({"max":2})", "")->status, 204);
  EXPECT_EQ(*srv_.policy, R"({"max":2})");
  auto dir = Client().Put("/v1/fs/agents/alice/docs", "{}", "");
  EXPECT_EQ(dir->status, 400);
  EXPECT_EQ(Error(dir), "is_directory");
  EXPECT_EQ(Client().Put("/v1/fs/agents/alice/status", "{}", "")->status, 403);
  EXPECT_EQ(Error(Client().Delete("/v1/fs/")), "invalid_argument");
  EXPECT_EQ(Client().Delete("/v1/fs/agents/alice/status")->status, 403);
}

TEST_F(HttpFsTest, PostCallsACallFileAndWritesOtherwise) {
  auto c = Client("alice-token");
  auto r = c.Post("/v1/fs/agents/alice/echo", "hi", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "echo:hi");
  // The last response stays readable for the same caller (the shell's `echo > f; cat f`).
  EXPECT_EQ(c.Get("/v1/fs/agents/alice/echo")->body, "echo:hi");
  EXPECT_EQ(Error(c.Post("/v1/fs/agents/alice/echo", "", "text/plain")), "invalid_argument");
  EXPECT_EQ(Client("bob-token").Post("/v1/fs/agents/alice/echo", "x", "")->status, 403);

  EXPECT_EQ(c.Post("/v1/fs/agents/alice/docs/n.json", R"({"b":2})", "")->status, 204);
  EXPECT_EQ(c.Get("/v1/fs/agents/alice/docs/n.json")->body, R"({"b":2})");
  EXPECT_EQ(c.Post("/v1/fs/agents/alice/docs/n.json", "nope", "")->status, 400);
}

TEST_F(HttpFsTest, HeadShowsStatInHeaders) {
  auto c = Client("alice-token");
  ASSERT_EQ(c.Put("/v1/fs/agents/alice/docs/h.json", R"({"x":12345})", "")->status, 204);
  auto doc = c.Head("/v1/fs/agents/alice/docs/h.json");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->status, 200);
  EXPECT_EQ(doc->get_header_value("X-Agent9-Type"), "file");
  EXPECT_EQ(doc->get_header_value("Content-Length"), "11");
  EXPECT_EQ(doc->get_header_value("X-Agent9-Mode"), "0644");
  EXPECT_TRUE(doc->body.empty());
  auto dir = c.Head("/v1/fs/agents/alice");
  EXPECT_EQ(dir->get_header_value("X-Agent9-Type"), "dir");
  EXPECT_EQ(dir->get_header_value("Last-Modified"), "Tue, 14 Nov 2023 22:13:20 GMT");
  EXPECT_EQ(c.Head("/v1/fs/agents/alice/stream")->get_header_value("X-Agent9-Stream"), "1");
  EXPECT_EQ(c.Head("/v1/fs/agents/alice/echo")->get_header_value("X-Agent9-Call"), "1");
  EXPECT_EQ(c.Head("/v1/fs/agents/alice/policy")->get_header_value("X-Agent9-Mode"), "0444");
  EXPECT_EQ(c.Head("/v1/fs/agents/alice/missing")->status, 404);
}

TEST_F(HttpFsTest, OversizedBodiesAre413) {
  std::string big(64 * 1024 + 1, '{');
  auto r = Client().Put("/v1/fs/agents/alice/docs/big.json", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Error(r), "too_large");
  EXPECT_EQ(Client().Post("/v1/fs/agents/alice/echo", big, "")->status, 413);
  EXPECT_EQ(Client().Get("/v1/fs/agents/alice/docs/big.json")->status, 404);
}

TEST_F(HttpFsTest, StreamWithoutWatchReturnsTheBacklogAndEnds) {
  srv_.stream->Append("l1\nl2\n");
  auto r = Client().Get("/v1/fs/agents/alice/stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "l1\nl2\n");
  EXPECT_EQ(srv_.server->active_streams(), 0u);
  EXPECT_EQ(Client().Get("/v1/fs/agents/alice/stream?watch=maybe")->status, 400);
}

TEST_F(HttpFsTest, OneConnectionServes200KeepAliveRequests) {
  testing::RawConnection conn(srv_.port);
  ASSERT_TRUE(conn.ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(
        conn.Send("GET /v1/fs/agents/alice/status HTTP/1.1\r\nHost: t\r\n"
                  "Authorization: Bearer admin-token\r\n\r\n"))
        << "request " << i;
    std::string resp = conn.ReadResponse();
    ASSERT_TRUE(resp.starts_with("HTTP/1.1 200")) << "request " << i << ": " << resp;
    ASSERT_EQ(resp.find("Connection: close"), std::string::npos) << "request " << i;
    ASSERT_NE(resp.find("\"alice\""), std::string::npos);
  }
}

TEST_F(HttpFsTest, ChunkedBodiesAreBoundedToo) {
  testing::RawConnection conn(srv_.port);
  ASSERT_TRUE(conn.ok());
  std::string chunk(32 * 1024, 'z');
  std::string req =
      "PUT /v1/fs/agents/alice/docs/c.json HTTP/1.1\r\nHost: t\r\n"
      "Authorization: Bearer admin-token\r\nTransfer-Encoding: chunked\r\n\r\n";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx\r\n", chunk.size());
  for (int i = 0; i < 3; ++i) req += size + chunk + "\r\n";
  req += "0\r\n\r\n";
  ASSERT_TRUE(conn.Send(req));
  std::string resp = conn.ReadResponse();
  EXPECT_TRUE(resp.starts_with("HTTP/1.1 413")) << resp.substr(0, 200);
  EXPECT_NE(resp.find("\"too_large\""), std::string::npos);
  EXPECT_NE(resp.find("Connection: close"), std::string::npos);
}

TEST_F(HttpFsTest, RealCurlClient) {
  if (!testing::HaveCurl()) GTEST_SKIP() << "curl not installed";
  std::string base = srv_.url();
  std::string auth = " -H 'Authorization: Bearer admin-token' ";
  std::string out = testing::Shell("curl -sS -w '|%{http_code}|%{content_type}'" + auth + "'" +
                                   base + "/v1/fs/agents/alice/status'");
  EXPECT_NE(out.find("\"id\": \"alice\""), std::string::npos) << out;
  EXPECT_NE(out.find("|200|application/json"), std::string::npos) << out;
  // curl normalizes ".." unless told not to; the server must still refuse it.
  out = testing::Shell("curl -sS --path-as-is -w '|%{http_code}'" + auth + "'" + base +
                       "/v1/fs/agents/../status'");
  EXPECT_NE(out.find("\"error\":\"invalid_argument\""), std::string::npos) << out;
  EXPECT_NE(out.find("|400"), std::string::npos) << out;
  // A body announced with Expect: 100-continue is refused before it is sent.
  out = testing::Shell(
      "head -c 200000 /dev/zero | curl -sS -X PUT --data-binary @- -H "
      "'Expect: 100-continue' -w '|%{http_code}'" +
      auth + "'" + base + "/v1/fs/agents/alice/docs/x.json'");
  EXPECT_NE(out.find("\"error\":\"too_large\""), std::string::npos) << out;
  EXPECT_NE(out.find("|413"), std::string::npos) << out;
  out = testing::Shell("curl -sS -X POST --data-binary 'hello curl' -w '|%{http_code}'" + auth +
                       "'" + base + "/v1/fs/agents/alice/echo'");
  EXPECT_EQ(out, "echo:hello curl|200");
}

}  // namespace
}  // namespace agent9
