// Credentials over a real SQLite file and a KeyVault: set, get, replace, remove, nothing in
// the clear, and a provider reading its key from the store.
#include "containers/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "containers/daytona_provider.h"
#include "identity/sodium.h"
#include "tests/fakes/fake_daytona.h"

namespace agent9::containers {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(identity::InitSodium().ok());
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("creds-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = Database::Open((dir_ / "agent9.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    vault_ = std::make_unique<identity::KeyVault>(identity::SecretBytes::Random(32));
    ASSERT_TRUE(vault_->Migrate(*db_).ok());
    creds_ = std::make_unique<Credentials>(db_.get(), vault_.get(), &clock_);
  }
  void TearDown() override {
    creds_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<identity::KeyVault> vault_;
  std::unique_ptr<Credentials> creds_;
};

TEST_F(CredentialsTest, SetGetReplaceRemove) {
  auto none = creds_->Get("daytona");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(creds_->Set("daytona", "dtn_first").ok());
  EXPECT_EQ(**creds_->Get("daytona"), "dtn_first");
  ASSERT_TRUE(creds_->Set("daytona", "dtn_second").ok());
  EXPECT_EQ(**creds_->Get("daytona"), "dtn_second");
  EXPECT_FALSE(creds_->Get("other")->has_value());
  ASSERT_TRUE(creds_->Remove("daytona").ok());
  EXPECT_FALSE(creds_->Get("daytona")->has_value());
  EXPECT_TRUE(creds_->Remove("daytona").ok());
  EXPECT_EQ(creds_->Set("", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(creds_->Set("daytona", "").code(), Code::kInvalidArgument);
  EXPECT_EQ(Credentials::SecretName("daytona"), "containers:daytona");
}

TEST_F(CredentialsTest, NeverStoredInTheClear) {
  ASSERT_TRUE(creds_->Set("daytona", "dtn_marker_secret").ok());
  db_.reset();  // flush to the file
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("dtn_marker_secret"), std::string::npos) << e.path();
  }
}

TEST_F(CredentialsTest, ProviderReadsItsKeyFromTheStore) {
  agent9::testing::FakeDaytonaOptions opts;
  opts.api_key = "dtn_stored_key";
  agent9::testing::FakeDaytona fake(opts);
  RemoteConfig c;
  c.id = "daytona";
  c.base_url = fake.url();
  Credentials* creds = creds_.get();
  DaytonaProvider p(c, [creds]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(std::optional<std::string> key, creds->Get("daytona"));
    if (!key) return Status::NotFound("no stored key");
    return *key;
  });
  auto h = p.Health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message().rfind("not configured", 0), 0u);
  ASSERT_TRUE(creds_->Set("daytona", "dtn_stored_key").ok());
  h = p.Health();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, "ok");
}

TEST_F(CredentialsTest, KeySourcePrefersTheStoreThenTheEnvironment) {
  const char* env = "AGENT9_TEST_DAYTONA_KEY_SOURCE";
  ::unsetenv(env);
  auto key = KeySource(creds_.get(), "daytona", env);
  EXPECT_EQ(key().status().code(), Code::kNotFound);
  ::setenv(env, "from-env", 1);
  EXPECT_EQ(*key(), "from-env");
  ASSERT_TRUE(creds_->Set("daytona", "from-store").ok());
  EXPECT_EQ(*key(), "from-store");
  EXPECT_EQ(*KeySource(nullptr, "daytona", env)(), "from-env");
  ::unsetenv(env);
}

}  // namespace
}  // namespace agent9::containers
