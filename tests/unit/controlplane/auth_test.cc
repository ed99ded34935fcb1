#include "controlplane/auth.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/unit/testing/agent_store.h"

namespace agent9 {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AuthTest : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    AgentStoreFixture::SetUp();
    ASSERT_TRUE(TokenAuth::Migrate(*db_).ok());
  }
};

TEST_F(AuthTest, AdminTokenFileIsCreatedPrivateAndReused) {
  std::string path = dir_.File("admin.token");
  auto a = TokenAuth::Open(db_.get(), agents_.get(), &clock_, path);
  ASSERT_TRUE(a.ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string token = Slurp(path);
  ASSERT_EQ(token.back(), '\n');
  token.pop_back();
  EXPECT_EQ(token.rfind("a9_", 0), 0u);
  EXPECT_EQ((*a)->Authenticate(token)->principal, Principal::kAdmin);
  auto again = TokenAuth::Open(db_.get(), agents_.get(), &clock_, path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Authenticate(token)->principal, Principal::kAdmin);
  EXPECT_EQ((*again)->Authenticate("")->principal, Principal::kPublic);
  EXPECT_EQ((*again)->Authenticate(token + "x").status().code(), Code::kUnauthenticated);
  EXPECT_EQ((*again)->Authenticate(token.substr(0, token.size() - 1)).status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ((*again)->Authenticate(std::string(10000, 'a')).status().code(),
            Code::kUnauthenticated);
}

TEST_F(AuthTest, ATooShortAdminTokenFileIsRefused) {
  std::ofstream(dir_.File("admin.token")) << "short\n";
  EXPECT_EQ(
      TokenAuth::Open(db_.get(), agents_.get(), &clock_, dir_.File("admin.token")).status().code(),
      Code::kInternal);
}

TEST_F(AuthTest, AgentTokensAreScopedStoredHashedAndDieWithTheAgent) {
  auto auth = TokenAuth::Open(db_.get(), agents_.get(), &clock_, dir_.File("admin.token"));
  ASSERT_TRUE(auth.ok());
  (*auth)->WatchRemovals(&changes_);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}).ok());
  auto token = (*auth)->MintAgentToken("alice");
  ASSERT_TRUE(token.ok());
  auto who = (*auth)->Authenticate(*token);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->principal, Principal::kAgent);
  EXPECT_EQ(who->agent_id, "alice");
  EXPECT_EQ((*auth)->MintAgentToken("nobody").status().code(), Code::kNotFound);
  // The database never holds the token itself.
  auth->reset();
  agents_.reset();
  db_.reset();
  std::string bytes = Slurp(dir_.File("agent9.db")) + Slurp(dir_.File("agent9.db-wal"));
  EXPECT_EQ(bytes.find(*token), std::string::npos);
  EXPECT_EQ(bytes.find(token->substr(3)), std::string::npos);
  OpenStore();
  auth = TokenAuth::Open(db_.get(), agents_.get(), &clock_, dir_.File("admin.token"));
  (*auth)->WatchRemovals(&changes_);
  // Checked twice: the second answer comes from memory, and the delete still ends it at once.
  ASSERT_TRUE((*auth)->Authenticate(*token).ok());
  ASSERT_TRUE((*auth)->Authenticate(*token).ok());
  ASSERT_TRUE(agents_->Delete("alice").ok());
  EXPECT_EQ((*auth)->Authenticate(*token).status().code(), Code::kUnauthenticated);
}

TEST_F(AuthTest, ProgramTokensAreScopedPerRunAndDieWithTheAgent) {
  auto a = TokenAuth::Open(db_.get(), agents_.get(), &clock_, dir_.File("admin.token"));
  ASSERT_TRUE(a.ok());
  (*a)->WatchRemovals(&changes_);
  ASSERT_TRUE(agents_->Create("my_bot", AgentConfig{}).ok());  // '_' in the id on purpose
  ASSERT_TRUE(agents_->Create("other", AgentConfig{}).ok());
  EXPECT_EQ((*a)->ProgramToken("ghost").status().code(), Code::kNotFound);
  auto t = (*a)->ProgramToken("my_bot");
  ASSERT_TRUE(t.ok());
  auto who = (*a)->Authenticate(*t);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->principal, Principal::kAgent);
  EXPECT_EQ(who->agent_id, "my_bot");
  EXPECT_EQ(*(*a)->ProgramToken("my_bot"), *t);  // stable within a run
  // Not stored anywhere.
  EXPECT_EQ(Slurp(dir_.File("agent9.db")).find(*t), std::string::npos);
  // Hostile variants: another agent's name on this MAC, a flipped MAC digit, truncation,
  // no separator, a bad agent name.
  std::string mac = t->substr(t->rfind('_') + 1);
  std::string flipped = *t;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  for (const std::string& bad :
       {"a9p_other_" + mac, flipped, t->substr(0, t->size() - 1), std::string("a9p_") + mac,
        "a9p_Bad!_" + mac, std::string("a9p_"), "a9p_my_bot_" + std::string(64, 'g')}) {
    EXPECT_EQ((*a)->Authenticate(bad).status().code(), Code::kUnauthenticated) << bad;
  }
  // Another run (a restart) has another key.
  auto b = TokenAuth::Open(db_.get(), agents_.get(), &clock_, dir_.File("admin.token"));
  EXPECT_EQ((*b)->Authenticate(*t).status().code(), Code::kUnauthenticated);
  // Deleting the agent and making a new one with the same id invalidates it.
  ASSERT_TRUE(agents_->Delete("my_bot").ok());
  EXPECT_EQ((*a)->Authenticate(*t).status().code(), Code::kUnauthenticated);
  clock_.AdvanceMs(1);
  ASSERT_TRUE(agents_->Create("my_bot", AgentConfig{}).ok());
  EXPECT_EQ((*a)->Authenticate(*t).status().code(), Code::kUnauthenticated);
}

}  // namespace
}  // namespace agent9
