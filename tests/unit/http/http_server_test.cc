// The control-plane routes, authentication and error mapping over a real server.
#include "controlplane/http/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include "controlplane/http/status_map.h"
#include "tests/unit/http/test_server.h"

namespace agent9 {
namespace {

using testing::TestServer;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_GT(srv_.port, 0); }

  httplib::Client Client(const std::string& token = "admin-token") { return srv_.Client(token); }
  static Json Body(const httplib::Result& r) {
    auto j = ParseJson(r->body);
    return j.ok() ? *j : Json();
  }
  // Asserts a JSON error answer with the given HTTP status and code name.
  static void ExpectError(const httplib::Result& r, int status, std::string_view code) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    Json j = Body(r);
    EXPECT_EQ(j.value("error", ""), code) << r->body;
    EXPECT_TRUE(j.contains("message")) << r->body;
  }

  TestServer srv_;
};

TEST_F(HttpServerTest, HealthzNeedsNoToken) {
  auto r = Client("").Get("/v1/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r), (Json{{"ok", true}}));
  EXPECT_EQ(Client("garbage").Get("/v1/healthz")->status, 200);
}

TEST_F(HttpServerTest, RuntimeAndMetrics) {
  auto r = Client().Get("/v1/runtime");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Body(r)["caller"], "admin");
  auto m = Client().Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->body, "agent9_agents 2\n");
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(HttpServerTest, MissingTokenIsPublicAndBadTokensAre401WithoutEchoingThem) {
  auto none = Client("").Get("/v1/runtime");
  ExpectError(none, 401, "unauthenticated");
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"agent9\"");
  EXPECT_EQ(srv_.api.Last().caller, "public");

  auto bad = Client("sekrit-token-123").Get("/v1/runtime");
  ExpectError(bad, 401, "unauthenticated");
  EXPECT_EQ(bad->body.find("sekrit"), std::string::npos) << bad->body;

  for (const char* header : {"Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer", "Token x", ""}) {
    auto c = Client("");
    auto r = c.Get("/v1/runtime", {{"Authorization", header}});
    ExpectError(r, 401, "unauthenticated");
  }
  // The scheme is case-insensitive (RFC 7235).
  auto c = Client("");
  EXPECT_EQ(c.Get("/v1/runtime", {{"Authorization", "bearer admin-token"}})->status, 200);
}

TEST_F(HttpServerTest, PermissionDeniedIs403AndUnauthenticatedIs401) {
  ExpectError(Client("bob-token").Get("/v1/fs/agents/alice/secret"), 403, "permission_denied");
  ExpectError(Client("").Get("/v1/fs/agents/alice/secret"), 401, "unauthenticated");
  ExpectError(Client("alice-token").Post("/v1/agents/alice/tokens"), 403, "permission_denied");
  EXPECT_EQ(Client("alice-token").Get("/v1/fs/agents/alice/secret")->body, "SECRET\n");
}

TEST_F(HttpServerTest, EveryErrorCodeReachesTheClientMapped) {
  for (int i = 1; i <= static_cast<int>(Code::kInternal); ++i) {
    Code code = static_cast<Code>(i);
    auto r = Client().Get("/v1/agents/code-" + std::to_string(i));
    SCOPED_TRACE(std::string(CodeName(code)));
    ExpectError(r, HttpStatusFor(code), CodeName(code));
    EXPECT_EQ(Body(r)["message"], "forced failure");
    if (code == Code::kResourceExhausted) {
      EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    }
  }
}

TEST_F(HttpServerTest, CreateAgent) {
  auto r = Client().Post("/v1/agents", R"({"id":"carol","kind":"echo"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(Body(r)["token"], "tok-carol");
  EXPECT_EQ(srv_.api.Last().op, "create");
  ExpectError(Client().Post("/v1/agents", R"({"id":"taken"})", "application/json"), 409,
              "already_exists");
  EXPECT_EQ(Client().Post("/v1/agents", "", "application/json")->status, 201);  // {} is fine
  EXPECT_EQ(srv_.api.Last().body, "{}");
}

TEST_F(HttpServerTest, MalformedJsonBodiesAre400WithoutReachingTheApi) {
  size_t before = srv_.api.Count();
  for (const char* body : {"{", "[1,2]", "\"str\"", "{\"id\":}", "nul", "{} {}"}) {
    ExpectError(Client().Post("/v1/agents", body, "application/json"), 400, "invalid_argument");
  }
  EXPECT_EQ(srv_.api.Count(), before);
}

TEST_F(HttpServerTest, ListAgentsPassesValidatedPaging) {
  auto r = Client().Get("/v1/agents");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(srv_.api.Last().extra, "100");
  EXPECT_EQ(Body(r)["agents"].size(), 5u);
  r = Client().Get("/v1/agents?limit=2&after=a1");
  EXPECT_EQ(Body(r)["next"], "a3");
  EXPECT_EQ(srv_.api.Last().extra, "2");
  EXPECT_EQ(srv_.api.Last().id, "a1");
  EXPECT_EQ(Client().Get("/v1/agents?limit=1000")->status, 200);
  size_t before = srv_.api.Count();
  for (const char* q : {"limit=0", "limit=1001", "limit=abc", "limit=-5", "limit=1.5",
                        "limit=999999999999999999999999999", "limit=%zz", "limit=1&limit=2",
                        "after=Bad!Id", "after=%2e%2e", "after=a%00b"}) {
    ExpectError(Client().Get(std::string("/v1/agents?") + q), 400, "invalid_argument");
  }
  EXPECT_EQ(srv_.api.Count(), before);
}

TEST_F(HttpServerTest, AgentIdsAreValidatedAndDecoded) {
  const std::vector<std::string> bad = {"Bad", "-x", "a%2Fb", "%00", "a%zz", std::string(64, 'a')};
  for (const auto& id : bad) {
    ExpectError(Client().Get("/v1/agents/" + id), 400, "invalid_argument");
  }
  auto r = Client().Get("/v1/agents/%61lice");  // 'a' percent-encoded
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(srv_.api.Last().id, "alice");
  ExpectError(Client().Get("/v1/agents/nobody"), 404, "not_found");
}

TEST_F(HttpServerTest, AgentOperations) {
  auto d = Client().Delete("/v1/agents/alice");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 204);
  EXPECT_EQ(srv_.api.Last().op, "delete");

  auto t = Client().Post("/v1/agents/bob/tokens");
  EXPECT_EQ(t->status, 201);
  EXPECT_EQ(Body(t)["token"], "tok-bob");

  auto s = Client("alice-token").Post("/v1/agents/bob/send", "hi there\n", "text/plain");
  EXPECT_EQ(s->status, 202);
  EXPECT_EQ(Body(s)["seq"], 1);
  auto call = srv_.api.Last();
  EXPECT_EQ(call.op, "send");
  EXPECT_EQ(call.caller, "agent:alice");
  EXPECT_EQ(call.body, "hi there\n");  // raw bytes, untouched
  EXPECT_EQ(call.extra, "http");

  auto tick = Client().Post("/v1/agents/alice/tick", "manual check\n", "text/plain");
  EXPECT_EQ(tick->status, 200);
  EXPECT_EQ(srv_.api.Last().op, "tick");
  EXPECT_EQ(srv_.api.Last().extra, "manual check");
  EXPECT_EQ(Client().Post("/v1/agents/alice/hibernate")->status, 200);
  EXPECT_EQ(srv_.api.Last().op, "hibernate");
  EXPECT_EQ(Client().Post("/v1/agents/alice/wake")->status, 200);
  EXPECT_EQ(srv_.api.Last().op, "wake");
}

TEST_F(HttpServerTest, ReplayTakesAJsonBody) {
  auto r = Client().Post("/v1/agents/alice/replay", R"({"tick":3})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ((*ParseJson(r->body))["identical"], true);
  EXPECT_EQ(srv_.api.Last().op, "replay");
  EXPECT_EQ(srv_.api.Last().body, R"({"tick":3})");
  ExpectError(Client().Post("/v1/agents/alice/replay", "not json", "application/json"), 400,
              "invalid_argument");
  ExpectError(Client().Post("/v1/agents/bob/replay", R"({"tick":9})", "application/json"), 404,
              "not_found");
  ExpectError(Client("").Post("/v1/agents/alice/replay", R"({"tick":1})", "application/json"), 401,
              "unauthenticated");
  auto get = Client().Get("/v1/agents/alice/replay");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

TEST_F(HttpServerTest, ExportAnswersTheBundleAsAnAttachment) {
  auto e = Client().Get("/v1/agents/alice/export");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 200);
  EXPECT_EQ(e->body, std::string("TAR\0bytes", 9));
  EXPECT_EQ(e->get_header_value("Content-Type"), "application/x-tar");
  EXPECT_EQ(e->get_header_value("Content-Disposition"), "attachment; filename=\"alice.tar\"");
  EXPECT_EQ(srv_.api.Last().op, "export");
  ExpectError(Client().Get("/v1/agents/bob/export"), 404, "not_found");
  ExpectError(Client("").Get("/v1/agents/alice/export"), 401, "unauthenticated");
  // The key's passphrase travels in a header, never the URL; without it with_key is 400.
  ExpectError(Client().Get("/v1/agents/alice/export?with_key=1"), 400, "invalid_argument");
  auto keyed = Client().Get("/v1/agents/alice/export?with_key=1",
                            httplib::Headers{{"X-Agent9-Passphrase", "pass word"}});
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->status, 200);
  EXPECT_EQ(srv_.api.last_passphrase, "pass word");
  ASSERT_TRUE(Client().Get("/v1/agents/alice/export"));
  EXPECT_EQ(srv_.api.last_passphrase, "");  // no with_key: no key, header or not
  ExpectError(Client().Get("/v1/agents/alice/export?with_key=maybe"), 400, "invalid_argument");
  auto post = Client().Post("/v1/agents/alice/export", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST_F(HttpServerTest, ImportPassesModeIdAndBytes) {
  std::string bundle("tar\0data", 8);
  auto r = Client().Post("/v1/agents/import?mode=clone&id=copy", bundle, "application/x-tar");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(Body(r)["id"], "copy");
  auto call = srv_.api.Last();
  EXPECT_EQ(call.op, "import");
  EXPECT_EQ(call.body, bundle);
  EXPECT_EQ(call.extra, "clone");
  EXPECT_EQ(call.id, "copy");
  EXPECT_EQ(srv_.api.last_passphrase, "");
  auto keyed = Client().Post("/v1/agents/import", httplib::Headers{{"X-Agent9-Passphrase", "pw"}},
                             bundle, "application/x-tar");
  ASSERT_TRUE(keyed);
  EXPECT_EQ(keyed->status, 201);
  EXPECT_EQ(srv_.api.last_passphrase, "pw");
  // mode defaults to restore; the mode itself is the api's to judge.
  EXPECT_EQ(Client().Post("/v1/agents/import", "x", "application/x-tar")->status, 201);
  EXPECT_EQ(srv_.api.Last().extra, "restore");
  ExpectError(Client().Post("/v1/agents/import?id=Bad!", "x", "application/x-tar"), 400,
              "invalid_argument");
  ExpectError(Client().Post("/v1/agents/import", "garbage", "application/x-tar"), 400,
              "invalid_argument");
  ExpectError(Client("alice-token").Post("/v1/agents/import", "x", "application/x-tar"), 403,
              "permission_denied");
  auto get = Client().Get("/v1/agents/import");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
}

TEST_F(HttpServerTest, ImportBodiesMayExceedTheGeneralLimitButNotTheirOwn) {
  // Small(): 64 KiB for every body, 256 KiB for imports.
  std::string mid(200 * 1024, 'b');
  auto ok = Client().Post("/v1/agents/import?mode=restore", mid, "application/x-tar");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 201);
  EXPECT_EQ(srv_.api.Last().body.size(), mid.size());
  ExpectError(Client().Post("/v1/agents/alice/send", mid, "text/plain"), 413, "too_large");
  std::string big(300 * 1024, 'b');
  ExpectError(Client().Post("/v1/agents/import?mode=restore", big, "application/x-tar"), 413,
              "too_large");
}

TEST_F(HttpServerTest, UnknownRoutesAndMethods) {
  ExpectError(Client().Get("/v2/nothing"), 404, "not_found");
  ExpectError(Client().Get("/v1/agents/alice/frobnicate"), 404, "not_found");
  ExpectError(Client().Get("/"), 404, "not_found");
  auto r = Client().Put("/v1/agents/alice", "x", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(Body(r)["error"], "method_not_allowed");
  EXPECT_EQ(Client().Delete("/v1/runtime")->status, 405);
}

TEST_F(HttpServerTest, HandlerExceptionsBecome500Json) {
  ExpectError(Client().Get("/v1/agents/throw"), 500, "internal");
  // The server keeps serving.
  EXPECT_EQ(Client().Get("/v1/healthz")->status, 200);
}

TEST_F(HttpServerTest, OversizedBodiesAre413Json) {
  std::string big(64 * 1024 + 1, 'x');
  ExpectError(Client().Post("/v1/agents/alice/send", big, "text/plain"), 413, "too_large");
  ExpectError(Client().Post("/v1/agents", big, "application/json"), 413, "too_large");
  // Exactly the limit is accepted.
  std::string ok(64 * 1024, 'y');
  EXPECT_EQ(Client().Post("/v1/agents/alice/send", ok, "text/plain")->status, 202);
  EXPECT_EQ(srv_.api.Last().body.size(), ok.size());
}

TEST_F(HttpServerTest, StartTwiceAndStopTwice) {
  EXPECT_EQ(srv_.server->Start().status().code(), Code::kAborted);
  srv_.server->Stop();
  srv_.server->Stop();
  auto r = Client().Get("/v1/healthz");
  EXPECT_FALSE(r);
}

TEST_F(HttpServerTest, BusyPortIsUnavailable) {
  HttpOptions o = TestServer::Small();
  o.port = srv_.port;
  HttpServer second(srv_.fs, &srv_.api, &srv_.auth, o);
  EXPECT_EQ(second.Start().status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace agent9
