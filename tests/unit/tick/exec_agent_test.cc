#include "tick/exec_agent.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "tests/unit/testing/temp_dir.h"

namespace agent9 {
namespace {

bool HaveBwrap() { return access("/usr/bin/bwrap", X_OK) == 0; }

class ExecAgentTest : public ::testing::Test {
 protected:
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = dir_.File(name);
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }
  TickInput Input(const std::string& program, bool sandbox = true) {
    TickInput in;
    in.agent_id = "x";
    in.tick = 1;
    in.now_ms = 1000;
    in.trigger = Json{{"type", "message"},
                      {"seq", 1},
                      {"message", {{"id", "m1"}, {"from", "http"}, {"body", {{"n", 7}}}}}};
    in.state = Json::object();
    in.config.kind = "exec";
    in.config.program = program;
    in.config.timeout_ms = 5000;
    in.config.sandbox = sandbox;
    return in;
  }
  void SetUp() override {
    if (!HaveBwrap()) GTEST_SKIP() << "bubblewrap is not installed";
  }
  testing::TempDir dir_;
  StreamHub trace_;
  ExecAgent agent_{ExecOptions{}, &trace_};
};

TEST_F(ExecAgentTest, RunsTheProgramWithTheTickOnStdin) {
  // The program lives under /tmp, which the sandbox replaces: it is bound in at its path.
  auto prog = Script("echo.sh", R"(read -r line; echo "got: $line" >&2
printf '{"state":{"seen":true},"reply":{"ok":1},"emit":[{"e":1}],"log":["hi"]}')");
  auto out = agent_.Tick(Input(prog));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out->state)["seen"], true);
  EXPECT_EQ((*out->reply)["ok"], 1);
  ASSERT_EQ(out->emit.size(), 1u);
  uint64_t pos = 0;
  char buf[4096];
  auto n = trace_.Get("x")->Read(&pos, std::as_writable_bytes(std::span(buf)), 0, nullptr);
  ASSERT_TRUE(n.ok());
  std::string trace(buf, *n);
  EXPECT_NE(trace.find("got: {"), std::string::npos);  // stderr, with the JSON input
  EXPECT_NE(trace.find("m1"), std::string::npos);
  EXPECT_NE(trace.find("\"type\":\"log\""), std::string::npos);
}

TEST_F(ExecAgentTest, FailuresCarryTheirReason) {
  auto timeout = Input(Script("sleep.sh", "sleep 10"));
  timeout.config.timeout_ms = 200;
  EXPECT_EQ(agent_.Tick(timeout).status().code(), Code::kDeadlineExceeded);
  auto crash = agent_.Tick(Input(Script("crash.sh", "exit 3")));
  // A program that exits at once without reading a large input: EPIPE, not SIGPIPE.
  auto early = Input(Script("early.sh", "exit 0"));
  early.state = Json{{"big", std::string(1 << 20, 'x')}};
  EXPECT_NE(agent_.Tick(early).status().message().find("not one JSON object"), std::string::npos);
  EXPECT_NE(crash.status().message().find("exited with status 3"), std::string::npos);
  auto killed = agent_.Tick(Input(Script("kill.sh", "kill -9 $$")));
  EXPECT_NE(killed.status().message().find("signal 9"), std::string::npos);
  auto bad = agent_.Tick(Input(Script("bad.sh", "echo not json")));
  EXPECT_NE(bad.status().message().find("not one JSON object"), std::string::npos);
  auto big = agent_.Tick(Input(Script("big.sh", "head -c 3000000 /dev/zero")));
  EXPECT_EQ(big.status().code(), Code::kTooLarge);
  auto missing = agent_.Tick(Input("/nonexistent/prog"));
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
}

TEST_F(ExecAgentTest, TheSandboxRefusesNetworkAndWritesOutsideItsDirs) {
  // A listener on the host's loopback: reachable unsandboxed, not from the sandbox.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 4), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  std::string outside = dir_.File("outside-written");
  auto prog = Script(
      "probe.sh",
      "cat >/dev/null\n"
      "if python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", " +
          std::to_string(port) +
          "), 1)' 2>/dev/null; then net=open; else net=refused; fi\n"
          "if touch /etc/agent9-probe " +
          outside +
          " 2>/dev/null; then fs=writable; else fs=readonly; fi\n"
          "if touch /tmp/mine 2>/dev/null; then tmp=ok; else tmp=no; fi\n"
          "printf '{\"state\":{\"net\":\"%s\",\"fs\":\"%s\",\"tmp\":\"%s\",\"cwd\":\"%s\"}}' "
          "$net $fs $tmp \"$(pwd)\"");
  auto boxed = agent_.Tick(Input(prog));
  ASSERT_TRUE(boxed.ok()) << boxed.status().ToString();
  EXPECT_EQ((*boxed->state)["net"], "refused");
  EXPECT_EQ((*boxed->state)["fs"], "readonly");
  EXPECT_EQ((*boxed->state)["tmp"], "ok");
  EXPECT_EQ((*boxed->state)["cwd"], "/tmp");
  EXPECT_NE(access(outside.c_str(), F_OK), 0);
  // Unsandboxed (config.sandbox false) the same program reaches the listener: the probe works.
  auto open = agent_.Tick(Input(prog, /*sandbox=*/false));
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ((*open->state)["net"], "open");
  close(s);
  unlink(outside.c_str());
}

TEST(ExecOutput, ParsesTheProtocolAndRejectsHostileOutput) {
  auto ok = ExecAgent::ParseOutput(
      R"({"state":{"a":1},"emit":[1],"send":[{"to":"b","body":2}],"reply":"r","hibernate":true,"log":["x",3]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->hibernate);
  EXPECT_EQ(ok->send[0].to, "b");
  EXPECT_EQ(ok->log[1], "3");
  EXPECT_TRUE(ExecAgent::ParseOutput("{}").ok());
  EXPECT_TRUE(ExecAgent::ParseOutput(R"({"alarms":[]})").ok());
  auto alarms = ExecAgent::ParseOutput(
      R"({"alarms":[{"in_ms":5,"payload":1},{"in_ms":0,"every_ms":60000}]})");
  ASSERT_TRUE(alarms.ok());
  EXPECT_EQ(alarms->alarms.size(), 2u);
  EXPECT_EQ(*alarms->alarms[1].every_ms, 60000);
  // Other keys are module actions ({"compute":[...]}); the engine refuses keys no module takes.
  auto action = ExecAgent::ParseOutput(R"({"surprise":1})");
  ASSERT_TRUE(action.ok());
  EXPECT_EQ(action->actions.at("surprise"), 1);
  for (const char* bad : {"", "[]", "{", "1", R"({"emit":{}})", R"({"send":[{"body":1}]})",
                          R"({"send":[{"to":5,"body":1}]})", R"({"hibernate":"yes"})", "{} {}",
                          R"({"alarms":[{"in_ms":-1}]})", R"({"alarms":[{"payload":1}]})",
                          R"({"alarms":[{"in_ms":1,"every_ms":1}]})", R"({"alarms":{}})"}) {
    EXPECT_FALSE(ExecAgent::ParseOutput(bad).ok()) << bad;
  }
}

// Found by fuzz/exec_output_fuzz.cc: in_ms/every_ms up to 2^63-1 were accepted, and the engine
// adds them to the clock (signed overflow); deep output overflowed the stack when copied.
TEST(ExecOutput, BoundsAlarmTimesAndNesting) {
  EXPECT_TRUE(ExecAgent::ParseOutput(R"({"alarms":[{"in_ms":315360000000}]})").ok());
  for (const char* bad :
       {R"({"alarms":[{"in_ms":315360000001}]})", R"({"alarms":[{"in_ms":9223372036854775807}]})",
        R"({"alarms":[{"in_ms":18446744073709551615}]})",
        R"({"alarms":[{"in_ms":0,"every_ms":9223372036854775807}]})"}) {
    EXPECT_EQ(ExecAgent::ParseOutput(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  std::string deep = R"({"state":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(ExecAgent::ParseOutput(deep).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(ExecAgent::ParseOutput(std::string("{}\0{\"x\":1}", 10)).ok());
}

TEST(ExecArgv, BindsTheAgentViewAtAgentAndHidesTheDaemonsOtherMounts) {
  AgentConfig c;
  c.kind = "exec";
  c.program = "/usr/bin/env";
  auto has = [](const std::vector<std::string>& v, std::vector<std::string> seq) {
    return std::search(v.begin(), v.end(), seq.begin(), seq.end()) != v.end();
  };
  auto plain = ExecAgent::BuildArgv(ExecOptions{}, c);
  EXPECT_TRUE(has(plain, {"--ro-bind", "/", "/"}));
  EXPECT_FALSE(has(plain, {"/agent"}));
  ExecContext ctx;
  ctx.agent_root = "/srv/views/bot";
  ctx.hide = {"/srv/global", "/tmp/under-tmp"};
  auto argv = ExecAgent::BuildArgv(ExecOptions{}, c, ctx);
  EXPECT_FALSE(has(argv, {"--ro-bind", "/", "/"}));  // the root is rebuilt entry by entry
  EXPECT_TRUE(has(argv, {"--ro-bind", "/usr", "/usr"}));
  EXPECT_TRUE(has(argv, {"--bind", "/srv/views/bot", "/agent"}));
  EXPECT_TRUE(has(argv, {"--tmpfs", "/srv/global"}));
  EXPECT_FALSE(has(argv, {"--tmpfs", "/tmp/under-tmp"}));  // the private /tmp hides it already
  EXPECT_EQ(argv.back(), "/usr/bin/env");
  c.sandbox = false;
  EXPECT_EQ(ExecAgent::BuildArgv(ExecOptions{}, c, ctx), std::vector<std::string>{"/usr/bin/env"});
}

TEST_F(ExecAgentTest, ProgramsGetTheirContextInTheEnvironment) {
  ExecOptions o;
  o.context = [](const std::string& agent) {
    ExecContext ctx;
    ctx.url = "http://127.0.0.1:1";
    ctx.token = "a9p_" + agent + "_secret";
    return ctx;
  };
  ExecAgent exec(o, nullptr);
  AgentConfig c;
  c.kind = "exec";
  c.program = "/bin/sh";
  c.args = {"-c",
            "printf '{\"state\":{\"env\":\"%s %s %s %s\"}}' \"$AGENT9_AGENT_ID\" "
            "\"$AGENT9_URL\" \"$AGENT9_TOKEN\" \"${AGENT9_ROOT-unset}\""};
  TickInput in;
  in.agent_id = "bot";
  in.config = c;
  in.trigger = Json{{"type", "manual"}};
  auto out = exec.Tick(in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out->state)["env"], "bot http://127.0.0.1:1 a9p_bot_secret unset");
}

}  // namespace
}  // namespace agent9
