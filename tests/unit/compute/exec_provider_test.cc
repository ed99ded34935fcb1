#include "compute/exec_provider.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace agent9::compute {
namespace {

class ExecProviderTest : public ::testing::Test {
 protected:
  ExecProviderTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agent9-exec-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  ~ExecProviderTest() override { std::filesystem::remove_all(dir_); }

  // Writes an executable shell script and returns a provider running it.
  std::unique_ptr<Provider> Script(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
    ProviderConfig cfg;
    cfg.id = "local";
    cfg.type = "exec";
    cfg.command = {path, "--flag"};
    cfg.timeout_ms = 10'000;
    return MakeExecProvider(cfg);
  }

  static JobSpec Spec(bool stream = false) {
    JobSpec spec;
    spec.kind = "chat";
    spec.model = "m1";
    spec.stream = stream;
    spec.max_output_tokens = 32;
    spec.input = {{"messages", Json::array({{{"role", "user"}, {"content", "hi"}}})}};
    return spec;
  }

  Attempt Run(Provider& p, const JobSpec& spec, std::vector<Delta>* deltas = nullptr) {
    std::atomic<bool> cancel{false};
    return p.Run(
        spec,
        [deltas](const Delta& d) {
          if (deltas != nullptr) deltas->push_back(d);
        },
        cancel);
  }

  std::string dir_;
};

TEST_F(ExecProviderTest, AnswerGetsTheRequestOnStdin) {
  // Saves its stdin and argv, then answers.
  auto p = Script("answer.sh",
                  "cat > \"$(dirname \"$0\")/stdin.json\"\n"
                  "echo \"$1\" > \"$(dirname \"$0\")/argv\"\n"
                  "printf '%s\\n' '{\"text\":\"hello\",\"usage\":"
                  "{\"input_tokens\":3,\"output_tokens\":1}}'\n");
  EXPECT_TRUE(p->Health().ok());
  Attempt a = Run(*p, Spec());
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.output.text, "hello");
  EXPECT_EQ(a.output.finish_reason, "stop");
  EXPECT_EQ(a.output.input_tokens, 3);
  EXPECT_EQ(a.output.output_tokens, 1);
  std::ifstream in(dir_ + "/stdin.json");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto req = ParseJsonObject(got);
  ASSERT_TRUE(req.ok()) << got;
  EXPECT_EQ((*req)["kind"], "chat");
  EXPECT_EQ((*req)["model"], "m1");
  EXPECT_EQ((*req)["max_output_tokens"], 32);
  EXPECT_EQ((*req)["stream"], false);
  EXPECT_EQ((*req)["input"]["messages"][0]["content"], "hi");
  std::ifstream argv(dir_ + "/argv");
  std::string flag;
  argv >> flag;
  EXPECT_EQ(flag, "--flag");
}

TEST_F(ExecProviderTest, ToolCallsAndVectors) {
  auto p = Script("tools.sh",
                  "cat > /dev/null\n"
                  "echo '{\"text\":\"\",\"finish_reason\":\"tool_calls\",\"tool_calls\":"
                  "[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"arguments\":\"{}\"}}],\"vectors\":[[0.5,1]]}'\n");
  Attempt a = Run(*p, Spec());
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.output.finish_reason, "tool_calls");
  ASSERT_EQ(a.output.tool_calls.size(), 1u);
  EXPECT_EQ(a.output.tool_calls[0]["function"]["name"], "f");
  EXPECT_EQ(a.output.vectors, Json::parse("[[0.5,1]]"));
}

TEST_F(ExecProviderTest, ErrorObjectFails) {
  auto p = Script("err.sh", "cat > /dev/null\necho '{\"error\":\"model overloaded\"}'\n");
  Attempt a = Run(*p, Spec());
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
  EXPECT_EQ(a.status.message(), "model overloaded");
}

TEST_F(ExecProviderTest, NonZeroExitNamesStatusAndStderr) {
  auto p = Script("exit.sh", "echo 'no GPU found' >&2\necho 'second line' >&2\nexit 3\n");
  Attempt a = Run(*p, Spec());
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
  EXPECT_EQ(a.status.message(), "exit status 3: no GPU found");
}

TEST_F(ExecProviderTest, MalformedOutputFails) {
  auto p = Script("junk.sh", "echo 'this is not json'\n");
  Attempt a = Run(*p, Spec());
  EXPECT_EQ(a.status.message().rfind("malformed output", 0), 0u) << a.status.ToString();
}

TEST_F(ExecProviderTest, TimeoutKillsTheProgram) {
  auto p = Script("slow.sh", "sleep 30 &\nwait\n");
  JobSpec spec = Spec();
  spec.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  Attempt a = Run(*p, spec);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  EXPECT_EQ(a.status.code(), Code::kDeadlineExceeded);
  EXPECT_LT(ms, 3000);
}

TEST_F(ExecProviderTest, CancelKillsTheProgram) {
  auto p = Script("wait.sh", "sleep 30\n");
  std::atomic<bool> cancel{false};
  std::thread t([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  Attempt a = p->Run(Spec(), nullptr, cancel);
  t.join();
  EXPECT_EQ(a.status.code(), Code::kAborted);
  EXPECT_EQ(a.status.message(), "cancelled");
}

TEST_F(ExecProviderTest, StreamedDeltas) {
  auto p = Script("stream.sh",
                  "cat > /dev/null\n"
                  "echo '{\"delta\":\"Hel\"}'\n"
                  "sleep 0.05\n"
                  "echo '{\"delta\":\"lo\"}'\n"
                  "echo '{\"finish_reason\":\"stop\",\"usage\":{\"input_tokens\":1,"
                  "\"output_tokens\":2}}'\n");
  std::vector<Delta> deltas;
  Attempt a = Run(*p, Spec(/*stream=*/true), &deltas);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_TRUE(a.streamed);
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0].text, "Hel");
  EXPECT_EQ(deltas[1].text, "lo");
  EXPECT_EQ(a.output.text, "Hello");  // no "text": the deltas joined
  EXPECT_EQ(a.output.output_tokens, 2);

  // Without stream, delta lines are skipped and nothing is delivered.
  deltas.clear();
  Attempt b = Run(*p, Spec(/*stream=*/false), &deltas);
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_TRUE(deltas.empty());
  EXPECT_FALSE(b.streamed);
  EXPECT_EQ(b.output.text, "Hello");
}

TEST_F(ExecProviderTest, ExitWithoutReadingLargeInput) {
  auto p = Script("noread.sh", "echo '{\"text\":\"ok\"}'\n");
  JobSpec spec = Spec();
  spec.input["messages"][0]["content"] = std::string(1 << 20, 'x');
  Attempt a = Run(*p, spec);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  EXPECT_EQ(a.output.text, "ok");
}

TEST_F(ExecProviderTest, HealthReasons) {
  ProviderConfig cfg;
  cfg.type = "exec";
  EXPECT_EQ(MakeExecProvider(cfg)->Health().message(), "not configured");
  cfg.command = {dir_ + "/missing"};
  EXPECT_EQ(MakeExecProvider(cfg)->Health().message(), "command not found: " + dir_ + "/missing");
  std::atomic<bool> cancel{false};
  Attempt a = MakeExecProvider(cfg)->Run(Spec(), nullptr, cancel);
  EXPECT_EQ(a.status.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace agent9::compute
