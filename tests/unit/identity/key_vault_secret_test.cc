// KeyVault's named secrets over a real SQLite file: sealing round trip, the name bound as
// associated data, absent names, replace and remove.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "identity/key_vault.h"

namespace agent9::identity {
namespace {

SecretBytes Secret(std::string_view s) {
  return SecretBytes::Copy(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

std::string Str(const SecretBytes& s) {
  return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

class KeyVaultSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("vault-secret-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = Database::Open((dir_ / "agent9.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    vault_ = std::make_unique<KeyVault>(SecretBytes::Random(32));
    ASSERT_TRUE(vault_->Migrate(*db_).ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  Status Store(std::string_view name, std::string_view value) {
    return db_->Write([&](Conn& c) { return vault_->StoreSecret(c, name, Secret(value), 1); });
  }
  Result<std::string> Open(std::string_view name) {
    std::string out;
    Status st = db_->Read([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(SecretBytes s, vault_->OpenSecret(c, name));
      out = Str(s);
      return Status::OK();
    });
    if (!st.ok()) return st;
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<KeyVault> vault_;
};

TEST_F(KeyVaultSecretTest, RoundTripAndReplace) {
  ASSERT_TRUE(Store("containers:daytona", "dtn_secret_1").ok());
  auto got = Open("containers:daytona");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "dtn_secret_1");
  ASSERT_TRUE(Store("containers:daytona", "dtn_secret_2").ok());
  EXPECT_EQ(*Open("containers:daytona"), "dtn_secret_2");
}

TEST_F(KeyVaultSecretTest, StoredSealedNotInTheClear) {
  ASSERT_TRUE(Store("containers:x", "plain-text-marker").ok());
  std::string sealed;
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * s, c.Prepare("SELECT sealed FROM identity_secrets WHERE name=?"));
                   s->Bind(1, std::string_view("containers:x"));
                   AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                   if (row) sealed = s->Text(0);
                   s->Reset();
                   return Status::OK();
                 })
                  .ok());
  ASSERT_FALSE(sealed.empty());
  EXPECT_EQ(sealed.find("plain-text-marker"), std::string::npos);
}

TEST_F(KeyVaultSecretTest, WrongNameAsAssociatedDataDoesNotOpen) {
  ASSERT_TRUE(Store("containers:a", "value-a").ok());
  // Copy the sealed value under another name: the name is the associated data.
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * s, c.Prepare("INSERT INTO identity_secrets(name, sealed, updated_at) "
                                           "SELECT 'containers:b', sealed, 2 FROM "
                                           "identity_secrets WHERE name='containers:a'"));
                   return s->Run();
                 })
                  .ok());
  auto got = Open("containers:b");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kInternal);
  EXPECT_EQ(got.status().message().find("value-a"), std::string::npos);
  EXPECT_EQ(*Open("containers:a"), "value-a");
}

TEST_F(KeyVaultSecretTest, AbsentIsNotFoundAndRemove) {
  auto got = Open("containers:none");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  ASSERT_TRUE(Store("containers:r", "v").ok());
  ASSERT_TRUE(db_->Write([&](Conn& c) { return vault_->RemoveSecret(c, "containers:r"); }).ok());
  EXPECT_EQ(Open("containers:r").status().code(), Code::kNotFound);
  // Removing what is absent is fine.
  EXPECT_TRUE(db_->Write([&](Conn& c) { return vault_->RemoveSecret(c, "containers:r"); }).ok());
}

TEST_F(KeyVaultSecretTest, EmptyNameOrSecretRefused) {
  EXPECT_EQ(Store("", "v").code(), Code::kInvalidArgument);
  EXPECT_EQ(Store("n", "").code(), Code::kInvalidArgument);
}

TEST_F(KeyVaultSecretTest, AnotherMasterKeyDoesNotOpen) {
  ASSERT_TRUE(Store("containers:m", "v").ok());
  KeyVault other(SecretBytes::Random(32));
  Status st = db_->Read([&](Conn& c) { return other.OpenSecret(c, "containers:m").status(); });
  EXPECT_EQ(st.code(), Code::kInternal);
}

}  // namespace
}  // namespace agent9::identity
