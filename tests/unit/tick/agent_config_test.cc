#include "fs/agent_config.h"

#include <gtest/gtest.h>

#include "fs/agent_kind.h"

namespace agent9 {
namespace {

TEST(AgentConfig, DefaultsRoundTrip) {
  AgentConfig c;
  Json j = c.ToJson();
  EXPECT_EQ(j["inbox"]["max_depth"], 1000);
  EXPECT_EQ(j["inbox"]["overflow"], "reject");
  EXPECT_EQ(j["max_attempts"], 3);
  auto back = AgentConfig::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), j);
}

TEST(AgentConfig, AcceptsAFullDocument) {
  auto c = AgentConfig::Parse(R"({"kind":"exec","program":"/bin/cat","args":["-u"],
      "env":{"A":"1"},"timeout_ms":500,"inbox":{"max_depth":5,"overflow":"drop_oldest"},
      "max_attempts":7,"retention":{"events":10,"trajectory":20}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->kind, "exec");
  EXPECT_EQ(c->overflow, Overflow::kDropOldest);
  EXPECT_EQ(c->env.at("A"), "1");
  EXPECT_EQ(c->retain_trajectory, 20);
}

TEST(AgentConfig, RejectsBadValuesNamingTheField) {
  struct Case {
    const char* doc;
    const char* needle;
  } cases[] = {
      {R"({"kind":"Robot!"})", "config: kind"},
      {R"({"kind":""})", "config: kind"},
      {R"({"kind":".x"})", "config: kind"},
      {R"({"kind":"exec"})", "config: program"},
      {R"({"timeout_ms":0})", "config: timeout_ms"},
      {R"({"timeout_ms":"5"})", "config: timeout_ms"},
      {R"({"timeout_ms":1e99})", "config: timeout_ms"},
      {R"({"timeout_ms":18446744073709551615})", "config: timeout_ms"},
      {R"({"inbox":{"max_depth":-1}})", "inbox.max_depth"},
      {R"({"inbox":{"overflow":"explode"}})", "inbox.overflow"},
      {R"({"inbox":{"sizes":1}})", "inbox.sizes"},
      {R"({"max_attempts":0})", "max_attempts"},
      {R"({"args":[1]})", "config: args"},
      {R"({"env":{"A=B":"x"}})", "env.A=B"},
      {R"({"env":{"AGENT9_TOKEN":"x"}})", "env.AGENT9_TOKEN"},
      {R"([1,2])", "JSON object"},
      {R"({"kind":)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto r = AgentConfig::Parse(c.doc);
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.doc;
    EXPECT_NE(r.status().message().find(c.needle), std::string::npos)
        << c.doc << " -> " << r.status().message();
  }
}

// Keys the core does not know are the kind's (an llm agent's model): kept in extra, refused
// by a kind that does not take them.
TEST(AgentConfig, KeepsUnknownKeysForTheKindToJudge) {
  auto r = AgentConfig::Parse(R"({"kind":"echo","colour":"red"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->extra, Json({{"colour", "red"}}));
  EXPECT_EQ(r->ToJson()["colour"], "red");
  Status st = RejectUnknownConfig(r->extra);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("config: colour"), std::string::npos) << st.ToString();
  EXPECT_TRUE(RejectUnknownConfig(Json::object()).ok());
}

}  // namespace
}  // namespace agent9
