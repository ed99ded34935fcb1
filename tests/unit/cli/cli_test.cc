// RunCli against a real HttpServer with the fake ControlApi/Authenticator of the HTTP tests.
#include "controlplane/cli/cli.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/unit/http/test_server.h"
#include "tests/unit/http/test_util.h"
#include "tests/unit/testing/temp_dir.h"

namespace agent9 {
namespace {

// Sets environment variables for one test and restores them after.
class EnvGuard {
 public:
  ~EnvGuard() {
    for (const auto& [k, v] : saved_) {
      if (v) {
        ::setenv(k.c_str(), v->c_str(), 1);
      } else {
        ::unsetenv(k.c_str());
      }
    }
  }
  void Set(const std::string& k, const std::optional<std::string>& v) {
    if (!saved_.count(k)) {
      const char* old = std::getenv(k.c_str());
      saved_[k] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (v) {
      ::setenv(k.c_str(), v->c_str(), 1);
    } else {
      ::unsetenv(k.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

struct CliRun {
  int code;
  std::string out, err;
};

// A port nothing listens on.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(srv_.port, 0);
    std::ofstream(data_.File("admin.token")) << "admin-token\n";
    env_.Set("AGENT9_SERVER", srv_.url());
    env_.Set("AGENT9_DATA", data_.path());
    env_.Set("AGENT9_TOKEN", std::nullopt);
    env_.Set("HOME", home_.path());
  }

  CliRun Cli(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "agent9");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::istringstream in(input);
    std::ostringstream out, err;
    int code = RunCli(static_cast<int>(args.size()), argv.data(), serve_, in, out, err);
    return {code, out.str(), err.str()};
  }

  testing::TestServer srv_;
  testing::TempDir data_, home_;
  EnvGuard env_;
  std::optional<ServeOptions> served_;
  std::function<int(const ServeOptions&)> serve_ = [this](const ServeOptions& o) {
    served_ = o;
    return 7;
  };
};

TEST_F(CliTest, StatusUsesTheDataDirsAdminToken) {
  CliRun r = Cli({"status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("caller: admin\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("version: test\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, TokenResolutionOrder) {
  EXPECT_NE(Cli({"status"}).out.find("caller: admin"), std::string::npos);  // admin.token
  env_.Set("AGENT9_TOKEN", "alice-token");
  EXPECT_NE(Cli({"status"}).out.find("caller: agent:alice"), std::string::npos);
  EXPECT_NE(Cli({"--token", "bob-token", "status"}).out.find("caller: agent:bob"),
            std::string::npos);
  EXPECT_NE(Cli({"status", "--token", "bob-token"}).out.find("caller: agent:bob"),
            std::string::npos);  // global flags work after the subcommand too
  // --data points at another data dir's admin.token.
  env_.Set("AGENT9_TOKEN", std::nullopt);
  testing::TempDir other;
  std::ofstream(other.File("admin.token")) << "bob-token";
  EXPECT_NE(Cli({"--data", other.path(), "status"}).out.find("caller: agent:bob"),
            std::string::npos);
  // Without $AGENT9_DATA the default is ~/.local/share/agent9.
  env_.Set("AGENT9_DATA", std::nullopt);
  std::filesystem::create_directories(home_.path() + "/.local/share/agent9");
  std::ofstream(home_.path() + "/.local/share/agent9/admin.token") << "alice-token\n";
  EXPECT_NE(Cli({"status"}).out.find("caller: agent:alice"), std::string::npos);
  EXPECT_EQ(DefaultDataDir(), home_.path() + "/.local/share/agent9");
}

TEST_F(CliTest, NoTokenGives401WithAHint) {
  env_.Set("AGENT9_DATA", home_.path());  // no admin.token there
  CliRun r = Cli({"status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("agent9: a token is required (unauthenticated)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("AGENT9_TOKEN"), std::string::npos) << r.err;
}

TEST_F(CliTest, BadTokenIsNeverPrinted) {
  CliRun r = Cli({"--token", "sekrit-value-42", "status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("invalid token (unauthenticated)"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find("sekrit"), std::string::npos);
}

TEST_F(CliTest, JsonPrintsTheDaemonsAnswer) {
  CliRun r = Cli({"--json", "status", "alice"});
  EXPECT_EQ(r.code, 0);
  auto j = ParseJsonObject(r.out);
  ASSERT_TRUE(j.ok()) << r.out;
  EXPECT_EQ((*j)["budget"]["spent"], 1);
  CliRun human = Cli({"status", "alice"});
  EXPECT_NE(human.out.find("budget.spent: 1\n"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("state: active\n"), std::string::npos);
}

TEST_F(CliTest, ServerErrorsExitOneWithTheMessage) {
  CliRun r = Cli({"status", "nobody"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "agent9: no such agent: nobody (not_found)\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, UnreachableDaemon) {
  std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  CliRun r = Cli({"--server", url, "ls"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "agent9: cannot reach agent9 at " + url + ": is the daemon running?\n");
  EXPECT_EQ(Cli({"--server", "ftp://x", "ls"}).code, 2);
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Cli({}).code, 2);
  EXPECT_EQ(Cli({"frobnicate"}).code, 2);
  CliRun r = Cli({"create"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("agent9: id is required"), std::string::npos) << r.err;
  EXPECT_EQ(Cli({"create", "Bad!"}).code, 2);
  EXPECT_EQ(Cli({"ls", "--limit", "0"}).code, 2);
  EXPECT_EQ(Cli({"cat", "agents/../x"}).code, 2);
  CliRun help = Cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("serve"), std::string::npos);
  EXPECT_EQ(Cli({"--version"}).code, 0);
}

TEST_F(CliTest, CreatePrintsIdAndToken) {
  CliRun r = Cli({"create", "carol", "--kind", "echo"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "id: carol\nkind: echo\ntoken: tok-carol\n");
  auto body = ParseJsonObject(srv_.api.Last().body);
  EXPECT_EQ(*body, (Json{{"id", "carol"}, {"kind", "echo"}}));

  CliRun cfg = Cli({"create", "dave", "--config", "-"}, R"({"timeout_ms": 5})");
  EXPECT_EQ(cfg.code, 0) << cfg.err;
  EXPECT_EQ(ParseJsonObject(srv_.api.Last().body).value()["config"]["timeout_ms"], 5);
  CliRun bad = Cli({"create", "erin", "--config", "-"}, "{nope");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("not valid JSON"), std::string::npos) << bad.err;
  EXPECT_EQ(Cli({"create", "frank", "--config", data_.File("missing.json")}).code, 2);
  CliRun taken = Cli({"create", "taken"});
  EXPECT_EQ(taken.code, 1);
  EXPECT_EQ(taken.err, "agent9: agent exists: taken (already_exists)\n");
}

TEST_F(CliTest, ListShowsATableAndPagesWithAll) {
  CliRun r = Cli({"ls", "--limit", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  KIND  STATE   CREATED\n"
            "a1  echo  active  2026-01-01T00:00:00.000Z\n"
            "a2  echo  active  2026-01-01T00:00:00.000Z\n");
  CliRun all = Cli({"ls", "--limit", "2", "--all"});
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 6);  // header + 5
  EXPECT_NE(all.out.find("a5  echo"), std::string::npos);
  CliRun json = Cli({"--json", "ls", "--all", "--limit", "2"});
  EXPECT_EQ(ParseJsonObject(json.out).value()["agents"].size(), 5u);
}

TEST_F(CliTest, SendWordsStdinAndIdempotentEnvelope) {
  CliRun r = Cli({"send", "alice", "hello", "world"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "queued m1 seq 1\n");
  EXPECT_EQ(srv_.api.Last().body, "hello world");
  EXPECT_EQ(srv_.api.Last().caller, "admin");

  EXPECT_EQ(Cli({"send", "alice", "-"}, "from stdin\n").code, 0);
  EXPECT_EQ(srv_.api.Last().body, "from stdin\n");

  EXPECT_EQ(Cli({"send", "alice", "--id", "m-7", "hi"}).code, 0);
  EXPECT_EQ(ParseJsonObject(srv_.api.Last().body).value(),
            (Json{{"id", "m-7"}, {"body", {{"text", "hi"}}}}));
  EXPECT_EQ(Cli({"send", "alice", "--id", "m-8", R"({"k":1})"}).code, 0);
  EXPECT_EQ(ParseJsonObject(srv_.api.Last().body).value()["body"]["k"], 1);
}

TEST_F(CliTest, CatWriteCall) {
  CliRun w = Cli({"--token", "alice-token", "write", "agents/alice/docs/g.json", R"({"a":1})"});
  EXPECT_EQ(w.code, 0) << w.err;
  CliRun c = Cli({"--token", "alice-token", "cat", "/agents/alice/docs/g.json"});
  EXPECT_EQ(c.code, 0);
  EXPECT_EQ(c.out, R"({"a":1})");
  EXPECT_EQ(Cli({"write", "agents/alice/docs/h.json"}, R"({"b":2})").code, 0);  // stdin
  EXPECT_EQ(Cli({"cat", "agents/alice/docs/h.json"}).out, R"({"b":2})");
  CliRun bad = Cli({"write", "agents/alice/docs/h.json", "nope"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("(invalid_argument)"), std::string::npos) << bad.err;

  CliRun dir = Cli({"cat", "agents/alice"});
  EXPECT_EQ(dir.out, "status\nsecret\npolicy\ndocs/\necho\nstream\nbig\n");
  EXPECT_EQ(ParseJson(Cli({"--json", "cat", "agents/alice"}).out)->size(), 7u);

  CliRun call = Cli({"call", "agents/alice/echo", "ping"});
  EXPECT_EQ(call.code, 0) << call.err;
  EXPECT_EQ(call.out, "echo:ping\n");
  EXPECT_EQ(Cli({"call", "agents/alice/echo"}, "").code, 2);  // empty request

  CliRun missing = Cli({"cat", "agents/alice/nothing"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "agent9: no such file: nothing (not_found)\n");
  EXPECT_EQ(Cli({"--token", "bob-token", "cat", "agents/alice/secret"}).code, 1);
}

TEST_F(CliTest, CatPercentEncodesSegments) {
  EXPECT_EQ(Cli({"write", "agents/alice/docs/a b%2F.json", "{}"}).code, 0);
  CliRun r = Cli({"cat", "agents/alice/docs"});
  EXPECT_NE(r.out.find("a b%2F.json\n"), std::string::npos) << r.out;
}

TEST_F(CliTest, CatFollowPrintsEventsUntilTheStreamEnds) {
  srv_.stream->Append("one\n");
  std::thread closer([&] {
    testing::WaitFor([&] { return srv_.server->active_streams() == 1; });
    srv_.stream->Append("two\n");
    srv_.stream->Close();
  });
  CliRun r = Cli({"cat", "-f", "agents/alice/stream"});
  closer.join();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "one\ntwo\n");
  CliRun logs = Cli({"--token", "bob-token", "logs", "-f", "alice"});
  EXPECT_EQ(logs.code, 1);
}

TEST_F(CliTest, TokenRmAndLifecycle) {
  CliRun t = Cli({"token", "alice"});
  EXPECT_EQ(t.code, 0);
  EXPECT_EQ(t.out, "tok-alice\n");
  EXPECT_EQ(Cli({"--token", "alice-token", "token", "alice"}).code, 1);
  EXPECT_EQ(Cli({"rm", "alice"}).code, 0);
  EXPECT_EQ(srv_.api.Last().op, "delete");
  EXPECT_EQ(Cli({"rm", "bob"}).code, 1);
  CliRun tick = Cli({"tick", "alice", "because", "why"});
  EXPECT_EQ(tick.code, 0) << tick.err;
  EXPECT_EQ(srv_.api.Last().extra, "because why");
  EXPECT_EQ(tick.out, "agent: alice\nverb: tick\n");
  EXPECT_EQ(Cli({"hibernate", "alice"}).code, 0);
  EXPECT_EQ(srv_.api.Last().op, "hibernate");
  EXPECT_EQ(Cli({"wake", "alice"}).code, 0);
  EXPECT_EQ(srv_.api.Last().op, "wake");
}

TEST_F(CliTest, ReplayExitsLikeDiff) {
  CliRun same = Cli({"replay", "alice", "2"});
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_EQ(same.out, "tick 2 of alice (kind exec): identical\n");
  EXPECT_EQ(srv_.api.Last().op, "replay");
  EXPECT_EQ(srv_.api.Last().body, R"({"tick":2})");
  CliRun diff = Cli({"replay", "changed", "2", "--program", "/bin/new"});
  EXPECT_EQ(diff.code, 1) << diff.err;
  EXPECT_EQ(diff.out,
            "tick 2 of changed (kind exec): 2 difference(s)\n"
            "  state/n: replace recorded=2 replayed=11\n"
            "  emit/0: remove recorded={\"n\":2}\n");
  EXPECT_EQ(srv_.api.Last().body, R"({"program":"/bin/new","tick":2})");
  CliRun broken = Cli({"replay", "broken", "1"});
  EXPECT_EQ(broken.code, 1);
  EXPECT_NE(broken.out.find("error: program exited with status 3\n"), std::string::npos);
  CliRun json = Cli({"--json", "replay", "changed", "2"});
  EXPECT_EQ(json.code, 1);
  EXPECT_EQ((*ParseJson(json.out))["identical"], false);
  CliRun missing = Cli({"replay", "bob", "9"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("no ticks are kept"), std::string::npos);
  EXPECT_EQ(Cli({"replay", "alice", "0"}).code, 2);
  EXPECT_EQ(Cli({"replay", "alice", "2", "--program", "rel"}).code, 2);
}

TEST_F(CliTest, ExportWritesTheBundleAndImportPrintsTheId) {
  const std::string tar("TAR\0bytes", 9);
  CliRun out = Cli({"export", "alice"});
  EXPECT_EQ(out.code, 0) << out.err;
  EXPECT_EQ(out.out, tar);  // bytes as they came, NUL included
  std::string file = data_.File("alice.tar");
  EXPECT_EQ(Cli({"export", "alice", "-o", file}).code, 0);
  std::ifstream f(file, std::ios::binary);
  std::stringstream got;
  got << f.rdbuf();
  EXPECT_EQ(got.str(), tar);
  CliRun missing = Cli({"export", "bob"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(Cli({"export", "Bad!"}).code, 2);

  CliRun imp = Cli({"import", file});
  EXPECT_EQ(imp.code, 0) << imp.err;
  EXPECT_EQ(imp.out, "imported\n");
  EXPECT_EQ(srv_.api.Last().body, tar);
  EXPECT_EQ(srv_.api.Last().extra, "restore");
  CliRun clone = Cli({"import", "-", "--mode", "clone", "--id", "copy"}, tar);
  EXPECT_EQ(clone.code, 0) << clone.err;
  EXPECT_EQ(clone.out, "copy\n");
  EXPECT_EQ(srv_.api.Last().extra, "clone");
  CliRun json = Cli({"--json", "import", file});
  EXPECT_EQ(json.code, 0);
  EXPECT_EQ((*ParseJson(json.out))["mode"], "restore");
  CliRun bad = Cli({"import", "-"}, "garbage");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "agent9: bundle is not a tar file (invalid_argument)\n");
  EXPECT_EQ(Cli({"import", data_.File("nope.tar")}).code, 2);
  EXPECT_EQ(Cli({"import", "-"}, "").code, 2);
  EXPECT_EQ(Cli({"import", file, "--id", "copy"}).code, 2);  // --id needs --mode clone
  EXPECT_EQ(Cli({"import", file, "--mode", "merge"}).code, 2);
}

TEST_F(CliTest, ServePassesOptionsAndReturnsItsExitCode) {
  CliRun r = Cli({"serve", "--listen", "127.0.0.1:0", "--mount", "/mnt/a9", "--mount-agent",
                  "alice=/mnt/alice", "--sync", "normal", "--allow-other", "-v"});
  EXPECT_EQ(r.code, 7);
  ASSERT_TRUE(served_);
  EXPECT_EQ(served_->data_dir, data_.path());
  EXPECT_EQ(served_->listen, "127.0.0.1:0");
  EXPECT_EQ(served_->mounts, std::vector<std::string>{"/mnt/a9"});
  ASSERT_EQ(served_->agent_mounts.size(), 1u);
  EXPECT_EQ(served_->agent_mounts[0],
            std::make_pair(std::string("alice"), std::string("/mnt/alice")));
  EXPECT_EQ(served_->sync, "normal");
  EXPECT_TRUE(served_->allow_other);
  EXPECT_TRUE(served_->verbose);

  served_.reset();
  EXPECT_EQ(Cli({"serve", "--data", "/tmp/x"}).code, 7);
  EXPECT_EQ(served_->data_dir, "/tmp/x");
  EXPECT_EQ(served_->listen, "127.0.0.1:7909");
  EXPECT_EQ(served_->sync, "full");

  served_.reset();
  for (auto bad : std::vector<std::vector<std::string>>{{"serve", "--listen", "nope"},
                                                        {"serve", "--listen", "h:99999"},
                                                        {"serve", "--mount-agent", "Bad=/x"},
                                                        {"serve", "--mount-agent", "alice"},
                                                        {"serve", "--sync", "sometimes"}}) {
    EXPECT_EQ(Cli(bad).code, 2) << bad[1] << " " << bad[2];
  }
  EXPECT_FALSE(served_);
}

TEST(ParseListenTest, HostPortForms) {
  EXPECT_EQ(*ParseListen("127.0.0.1:7909"), std::make_pair(std::string("127.0.0.1"), 7909));
  EXPECT_EQ(*ParseListen("[::1]:0"), std::make_pair(std::string("::1"), 0));
  EXPECT_EQ(*ParseListen("localhost:80"), std::make_pair(std::string("localhost"), 80));
  for (const char* bad : {"", ":80", "host", "host:", "host:-1", "host:65536", "::1:80", "h:8x"}) {
    EXPECT_FALSE(ParseListen(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace agent9
