// The identity module over a real SQLite file: the key vault (master key sources, sealing,
// the canary), the Identity service (sign, verify, encrypt, decrypt, wrap, unwrap, rotate, export),
// and the module's hooks as the runtime calls them (create, status, export, import).
#include "identity/identity_module.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "identity/identity.h"
#include "identity/identity_files.h"
#include "identity/nip19.h"
#include "identity/nip49.h"
#include "identity/secp256k1.h"
#include "tick/agents.h"

namespace agent9::identity {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("identity-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = Database::Open((dir_ / "agent9.db").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(AgentService::Migrate(*db_).ok());
    agents_ = std::make_unique<AgentService>(db_.get(), &clock_);
  }
  void TearDown() override {
    agents_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Opens the module over this data dir, as the runtime does.
  std::unique_ptr<IdentityModule> OpenModule(const std::string& toml = "") {
    auto module = std::make_unique<IdentityModule>();
    auto config = RuntimeConfig::Parse(toml, "test.toml");
    EXPECT_TRUE(config.ok());
    EXPECT_TRUE(module->Configure(*config).ok());
    ModuleContext ctx;
    ctx.db = db_.get();
    ctx.clock = &clock_;
    ctx.data_dir = dir_.string();
    ctx.calls = std::make_shared<CallCache>();
    Status st = module->Open(ctx);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return module;
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<AgentService> agents_;
};

TEST_F(IdentityTest, MasterKeyFileIsCreatedPrivateAndReused) {
  auto m1 = OpenModule();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  Modules mods;
  IdentityModule* m = mods.Add(std::move(m1));
  agents_->SetModules(&mods);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}, false).ok());
  auto pub = m->identity()->Pubkey("alice");
  ASSERT_TRUE(pub.ok());
  // A second open over the same data dir reads the same master key: the key still opens.
  auto m2 = OpenModule();
  auto sig = m2->identity()->Sign("alice", "x");
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_TRUE(m2->identity()->Verify(*pub, *sig, "x"));
}

TEST_F(IdentityTest, ReadableMasterKeyFileIsRefused) {
  std::string path = (dir_ / "other.key").string();
  {
    std::ofstream f(path);
    f << std::string(64, 'a') << "\n";
  }
  ::chmod(path.c_str(), 0644);
  MasterKeySource src{"", path, dir_.string()};
  auto v = KeyVault::Open(src);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("chmod 600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(KeyVault::Open(src).ok());
}

TEST_F(IdentityTest, EnvironmentMasterKeyIsWipedOnceRead) {
  ::setenv("AGENT9_TEST_MASTER", std::string(64, 'b').c_str(), 1);
  MasterKeySource src{"AGENT9_TEST_MASTER", "", dir_.string()};
  ASSERT_TRUE(KeyVault::Open(src).ok());
  EXPECT_EQ(std::getenv("AGENT9_TEST_MASTER"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "master.key"));  // the env key was used
  ::setenv("AGENT9_TEST_MASTER", "not hex at all", 1);
  auto bad = KeyVault::Open(src);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("not hex"), std::string::npos);  // no echo of the value
}

TEST_F(IdentityTest, AnotherMasterKeyRefusesToStart) {
  KeyVault a(SecretBytes::Random(32));
  ASSERT_TRUE(a.Migrate(*db_).ok());
  KeyVault b(SecretBytes::Random(32));
  Status st = b.Migrate(*db_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("master key does not open"), std::string::npos) << st.message();
  EXPECT_TRUE(a.Migrate(*db_).ok());
}

TEST_F(IdentityTest, SealedKeyIsBoundToItsAgent) {
  KeyVault v(SecretBytes::Random(32));
  ASSERT_TRUE(v.Migrate(*db_).ok());
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}, false).ok());
  ASSERT_TRUE(agents_->Create("bob", AgentConfig{}, false).ok());
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_RETURN_IF_ERROR(v.Create(c, "alice", 1).status());
                   AGENT9_RETURN_IF_ERROR(v.Create(c, "bob", 1).status());
                   // Bob's row gets Alice's sealed key: it must not open as Bob's.
                   return c.Exec(
                       "UPDATE identity_keys SET sealed=(SELECT sealed FROM identity_keys WHERE "
                       "agent='alice') WHERE agent='bob'");
                 })
                  .ok());
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   EXPECT_TRUE(v.Open(c, "alice").ok());
                   auto bob = v.Open(c, "bob");
                   EXPECT_FALSE(bob.ok());
                   EXPECT_EQ(bob.status().code(), Code::kInternal);
                   return Status::OK();
                 })
                  .ok());
}

TEST_F(IdentityTest, SignVerifyEncryptDecryptAndRotate) {
  Modules mods;
  IdentityModule* m = mods.Add(OpenModule());
  agents_->SetModules(&mods);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}, false).ok());
  ASSERT_TRUE(agents_->Create("bob", AgentConfig{}, false).ok());
  Identity* id = m->identity();
  Bytes32 alice = *id->Pubkey("alice"), bob = *id->Pubkey("bob");
  EXPECT_NE(alice, bob);
  EXPECT_EQ(*id->AgentFor(bob), std::optional<std::string>("bob"));

  auto sig = id->Sign("alice", "message");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(id->Verify(alice, *sig, "message"));
  EXPECT_FALSE(id->Verify(alice, *sig, "messagE"));
  EXPECT_FALSE(id->Verify(bob, *sig, "message"));

  auto payload = id->Encrypt("alice", bob, "hi bob");
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(*id->Decrypt("bob", alice, *payload), "hi bob");
  EXPECT_FALSE(id->Decrypt("bob", bob, *payload).ok());  // the wrong peer
  EXPECT_FALSE(id->Sign("nobody", "x").ok());

  auto status = agents_->StatusJson("alice");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["pubkey"], HexEncode(alice));
  EXPECT_EQ((*status)["npub"], EncodeNpub(alice));

  auto rotated = id->Rotate("alice");
  ASSERT_TRUE(rotated.ok());
  EXPECT_NE(*rotated, alice);
  EXPECT_EQ(*id->Pubkey("alice"), *rotated);
  EXPECT_FALSE(id->Rotate("nobody").ok());
  Identity::Counts n = id->counts();
  EXPECT_EQ(n.calls[static_cast<int>(Op::kSign)], 2);
  EXPECT_EQ(n.errors[static_cast<int>(Op::kSign)], 1);
}

TEST_F(IdentityTest, WrapAndUnwrapDmWithAgentKeys) {
  Modules mods;
  IdentityModule* m = mods.Add(OpenModule());
  agents_->SetModules(&mods);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}, false).ok());
  ASSERT_TRUE(agents_->Create("bob", AgentConfig{}, false).ok());
  Identity* id = m->identity();
  Bytes32 alice = *id->Pubkey("alice"), bob = *id->Pubkey("bob");
  int64_t now_s = clock_.NowMs() / 1000;

  Rumor dm = MakeDmRumor(alice, bob, "hi bob", now_s);
  auto wrap = id->WrapDm("alice", bob, dm);
  ASSERT_TRUE(wrap.ok()) << wrap.status().ToString();
  EXPECT_LE(wrap->created_at, now_s);
  EXPECT_GE(wrap->created_at, now_s - kWrapTimeJitterS);
  auto u = id->UnwrapDm("bob", *wrap);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->rumor.content, "hi bob");
  EXPECT_EQ(u->seal.pubkey, HexEncode(alice));

  EXPECT_FALSE(id->UnwrapDm("alice", *wrap).ok());  // not addressed to alice
  EXPECT_FALSE(id->WrapDm("bob", alice, dm).ok());  // alice's rumor, bob's key
  EXPECT_EQ(id->WrapDm("nobody", bob, dm).status().code(), Code::kNotFound);
  Identity::Counts n = id->counts();
  EXPECT_EQ(n.calls[static_cast<int>(Op::kWrap)], 3);
  EXPECT_EQ(n.errors[static_cast<int>(Op::kWrap)], 2);
  EXPECT_EQ(n.calls[static_cast<int>(Op::kUnwrap)], 2);
  EXPECT_EQ(n.errors[static_cast<int>(Op::kUnwrap)], 1);
  EXPECT_STREQ(OpName(Op::kWrap), "wrap");
  EXPECT_STREQ(OpName(Op::kUnwrap), "unwrap");
}

TEST_F(IdentityTest, BackfillGivesOldAgentsKeys) {
  ASSERT_TRUE(agents_->Create("old1", AgentConfig{}, false).ok());
  ASSERT_TRUE(agents_->Create("old2", AgentConfig{}, false).ok());
  auto m = OpenModule();
  EXPECT_TRUE(m->identity()->Pubkey("old1").ok());
  EXPECT_TRUE(m->identity()->Pubkey("old2").ok());
}

TEST_F(IdentityTest, ExportAndImportHooks) {
  Modules mods;
  IdentityModule* m = mods.Add(OpenModule("[identity]\nexport_log_n = 10\n"));
  agents_->SetModules(&mods);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}, false).ok());
  Bytes32 alice = *m->identity()->Pubkey("alice");
  Json manifest = Json::object();
  std::vector<BundleFile> files;
  ASSERT_TRUE(db_->Read([&](Conn& c) {
                   return mods.Export(c, "alice", ExportRequest{"pass phrase"}, &manifest, &files);
                 })
                  .ok());
  EXPECT_EQ(manifest["pubkey"], HexEncode(alice));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "key.ncryptsec");
  EXPECT_EQ(files[0].data.rfind("ncryptsec1", 0), 0u);

  std::map<std::string, std::string> bundle{{files[0].name, files[0].data}};
  ImportRequest req;
  req.manifest = &manifest;
  req.files = &bundle;
  req.key_passphrase = "wrong";
  auto wrong = mods.PrepareImport(req);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("wrong passphrase"), std::string::npos)
      << wrong.status().message();
  req.key_passphrase = "";
  EXPECT_FALSE(mods.PrepareImport(req).ok());
  Json other = manifest;
  other["pubkey"] = std::string(64, '0');
  req.manifest = &other;
  req.key_passphrase = "pass phrase";
  EXPECT_FALSE(mods.PrepareImport(req).ok());  // not the manifest's key
  req.manifest = &manifest;
  auto applies = mods.PrepareImport(req);
  ASSERT_TRUE(applies.ok()) << applies.status().ToString();
  ASSERT_TRUE(agents_->Delete("alice").ok());
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_RETURN_IF_ERROR(c.Exec(
                       "INSERT INTO agents(id, kind, config, max_depth, overflow, created_at, "
                       "updated_at) VALUES('alice','none','{}',1000,'reject',1,1)"));
                   for (const auto& apply : *applies) AGENT9_RETURN_IF_ERROR(apply(c, "alice"));
                   return Status::OK();
                 })
                  .ok());
  EXPECT_EQ(*m->identity()->Pubkey("alice"), alice);
  // A clone gets a fresh key whatever the bundle holds.
  req.clone = true;
  auto clone = mods.PrepareImport(req);
  ASSERT_TRUE(clone.ok());
}

TEST(IdentityRequests, HostileRequestsAreInvalidArgument) {
  const char* verify[] = {"",
                          "null",
                          "[]",
                          "{",
                          "{\"pubkey\":1,\"sig\":\"\",\"message\":\"\"}",
                          "{\"pubkey\":\"\",\"sig\":\"\",\"message\":\"\"}",
                          "{\"pubkey\":\"npub1\",\"sig\":\"00\",\"message\":\"m\"}",
                          "{\"sig\":\"00\",\"message\":\"m\"}",
                          "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}"};
  for (const char* r : verify) {
    auto v = ParseVerifyRequest(r);
    ASSERT_FALSE(v.ok()) << r;
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument) << r;
  }
  std::string pub(64, 'f');  // not a point on the curve
  EXPECT_FALSE(ParseCryptRequest("{\"to\":\"" + pub + "\",\"plaintext\":\"x\"}", true).ok());
  EXPECT_FALSE(ParseCryptRequest("{\"from\":\"x\",\"plaintext\":\"x\"}", false).ok());
  std::string g = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
  EXPECT_TRUE(ParseCryptRequest("{\"to\":\"" + g + "\",\"plaintext\":\"x\"}", true).ok());
  EXPECT_FALSE(ParseCryptRequest("{\"to\":\"" + g + "\",\"plaintext\":\"x\",\"y\":1}", true).ok());
}

}  // namespace
}  // namespace agent9::identity
