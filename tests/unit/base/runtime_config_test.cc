#include "fs/base/runtime_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace agent9 {
namespace {

RuntimeConfig MustParse(std::string_view text) {
  auto c = RuntimeConfig::Parse(text, "agent9.toml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : RuntimeConfig();
}

TEST(RuntimeConfig, TypedGettersAndDefaults) {
  RuntimeConfig c = MustParse(R"(
[identity]
master_key_file = "/etc/agent9/master.key"
export_log_n = 18
[nostr]
relays = ["ws://127.0.0.1:7000", "wss://relay.example"]
strict = true
ratio = 0.5
)");
  ConfigSection id = c.Section("identity");
  EXPECT_EQ(*id.String("master_key_file"), "/etc/agent9/master.key");
  EXPECT_EQ(*id.String("master_key_env", "AGENT9_MASTER_KEY"), "AGENT9_MASTER_KEY");
  EXPECT_EQ(*id.Int("export_log_n", 16, 10, 22), 18);
  ConfigSection n = c.Section("nostr");
  EXPECT_EQ(n.Strings("relays")->size(), 2u);
  EXPECT_TRUE(*n.Bool("strict", false));
  EXPECT_DOUBLE_EQ(*n.Number("ratio", 1, 0, 1), 0.5);
  EXPECT_TRUE(c.CheckAllRead().ok()) << c.CheckAllRead().ToString();
}

TEST(RuntimeConfig, AbsentSectionGivesDefaults) {
  RuntimeConfig c;
  ConfigSection s = c.Section("identity");
  EXPECT_EQ(*s.Int("export_log_n", 16, 10, 22), 16);
  EXPECT_TRUE(s.Strings("relays")->empty());
  EXPECT_TRUE(s.Tables("providers")->empty());
  EXPECT_TRUE(c.CheckAllRead().ok());
}

TEST(RuntimeConfig, UnknownKeyNamesFileLineAndKey) {
  RuntimeConfig c = MustParse("[identity]\nexport_log_n = 16\n\n# a comment\nexprot_log_n = 17\n");
  (void)c.Section("identity").Int("export_log_n", 16, 10, 22);
  Status st = c.CheckAllRead();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("agent9.toml:5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("identity.exprot_log_n"), std::string::npos) << st.message();
}

TEST(RuntimeConfig, UnknownSectionIsRefused) {
  RuntimeConfig c = MustParse("[identity]\n[walet]\nlimit = 3\n");
  (void)c.Section("identity");
  Status st = c.CheckAllRead();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("agent9.toml:2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("'walet'"), std::string::npos) << st.message();
}

TEST(RuntimeConfig, BadValuesNameFileLineAndKey) {
  RuntimeConfig c = MustParse("[identity]\nexport_log_n = 40\nmaster_key_file = 3\n");
  ConfigSection s = c.Section("identity");
  auto n = s.Int("export_log_n", 16, 10, 22);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("agent9.toml:2: identity.export_log_n: want 10..22"),
            std::string::npos)
      << n.status().message();
  auto f = s.String("master_key_file");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("agent9.toml:3: identity.master_key_file: want a string"),
            std::string::npos)
      << f.status().message();
  RuntimeConfig d = MustParse("[nostr]\nrelays = [\"a\", 2]\n");
  EXPECT_FALSE(d.Section("nostr").Strings("relays").ok());
}

TEST(RuntimeConfig, ArraysOfTablesAreCheckedPerEntry) {
  RuntimeConfig c = MustParse(R"(
[[compute.providers]]
id = "a"
[[compute.providers]]
id = "b"
base_ulr = "http://x"
)");
  auto compute = c.Section("compute");
  auto providers = compute.Tables("providers");
  ASSERT_TRUE(providers.ok());
  ASSERT_EQ(providers->size(), 2u);
  for (const auto& p : *providers) (void)p.String("id");
  EXPECT_EQ((*providers)[1].name(), "compute.providers[1]");
  Status st = c.CheckAllRead();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("agent9.toml:6: unknown key 'compute.providers[1].base_ulr'"),
            std::string::npos)
      << st.message();
}

TEST(RuntimeConfig, SyntaxErrorsNameLineAndColumn) {
  auto c = RuntimeConfig::Parse("[identity]\nexport_log_n = = 3\n", "bad.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c.status().message().rfind("bad.toml:2:", 0), 0u) << c.status().message();
}

TEST(RuntimeConfig, HostileInputNeverThrows) {
  const char* cases[] = {"[",
                         "a = \"\\u0000\"",
                         "[[a]]\n[a]",
                         "a = [[[[[[[[[[[[1]]]]]]]]]]]]",
                         "\xff\xfe",
                         "a.b.c.d = 1\n[a]\nb = 2",
                         "x = 1979-05-27T07:32:00Z"};
  for (const char* text : cases) {
    auto c = RuntimeConfig::Parse(text, "h.toml");
    if (c.ok()) {
      (void)c->Section("a").Int("b", 0, 0, 10);
      EXPECT_FALSE(c->CheckAllRead().ok()) << text;  // nothing here is a known key
    }
  }
}

TEST(RuntimeConfig, LoadMissingFile) {
  std::string path = ::testing::TempDir() + "/no-such-agent9.toml";
  std::remove(path.c_str());
  EXPECT_TRUE(RuntimeConfig::Load(path, false).ok());
  auto c = RuntimeConfig::Load(path, true);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(path), std::string::npos);
  {
    std::ofstream f(path);
    f << "[identity]\nexport_log_n = 12\n";
  }
  auto d = RuntimeConfig::Load(path, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d->Section("identity").Int("export_log_n", 16, 10, 22), 12);
  EXPECT_EQ(d->path(), path);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace agent9
