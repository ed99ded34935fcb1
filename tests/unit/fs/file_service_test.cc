#include "fs/file_service.h"

#include <gtest/gtest.h>

#include "fs/files/files.h"
#include "tests/unit/fs/mem_doc_store.h"

namespace agent9 {
namespace {

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// A tree: /agents/alice/{status (public), secret (owner), policy (admin write), docs/}
// and /admin-only.
class FileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    docs_ = std::make_shared<testing::MemDocStore>();
    auto agent_table =
        std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
            {"status", NodeType::kFile,
             [](NodeId id, const std::string& o) -> std::shared_ptr<Node> {
               return std::make_shared<SnapshotFile>(
                   id, o, Access{Who::kPublic}, [] { return Result<std::string>("STATUS\n"); });
             }},
            {"secret", NodeType::kFile,
             [](NodeId id, const std::string& o) -> std::shared_ptr<Node> {
               return std::make_shared<SnapshotFile>(
                   id, o, Access{Who::kOwner}, [] { return Result<std::string>("SECRET\n"); });
             }},
            {"policy", NodeType::kFile,
             [this](NodeId id, const std::string& o) -> std::shared_ptr<Node> {
               DocOps ops;
               ops.load = [this] { return Result<std::string>(policy_); };
               ops.commit = [this](std::string c) {
                 policy_ = c;
                 return Status::OK();
               };
               return std::make_shared<DocFile>(id, o, Access{Who::kOwner, Who::kAdmin}, ops);
             }},
            {"docs", NodeType::kDir,
             [this](NodeId id, const std::string& o) -> std::shared_ptr<Node> {
               return std::make_shared<DocDir>(
                   id, o, Access{Who::kOwner, Who::kNobody, Who::kOwner, Who::kOwner},
                   Access{Who::kOwner, Who::kOwner}, docs_);
             }},
        });
    auto agents = std::make_shared<std::vector<TableEntry>>();
    for (std::string name : {"alice", "bob"}) {
      agents->push_back({name, NodeType::kDir, [agent_table, name](NodeId id, const std::string&) {
                           return std::make_shared<TableDir>(id, name, Access{Who::kOwner},
                                                             agent_table);
                         }});
    }
    auto root = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
        {"agents", NodeType::kDir,
         [agents](NodeId id, const std::string& o) {
           return std::make_shared<TableDir>(id, o, Access{Who::kAdmin}, agents);
         }},
    });
    fs_ = std::make_unique<FileService>(
        std::make_shared<TableDir>(kRootNodeId, "", Access{Who::kAdmin}, root),
        [this](std::string_view a) { return a == public_agent_; },
        [this](const Caller&, const Node& n, const Status& st) {
          errors_.push_back(n.owner() + ":" + st.ToString());
        });
  }

  Path P(std::string_view s) { return *Path::Parse(s); }

  std::shared_ptr<testing::MemDocStore> docs_;
  std::string policy_ = "{}";
  std::string public_agent_;
  std::vector<std::string> errors_;
  std::unique_ptr<FileService> fs_;
};

TEST_F(FileServiceTest, AdminReadsEverything) {
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/status"), Caller::Admin()), "STATUS\n");
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/secret"), Caller::Admin()), "SECRET\n");
  EXPECT_EQ(fs_->ReadAll(P("/agents/carol/status"), Caller::Admin()).status().code(),
            Code::kNotFound);
}

TEST_F(FileServiceTest, AgentReachesOnlyItsOwnTree) {
  Caller alice = Caller::Agent("alice");
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/secret"), alice), "SECRET\n");
  EXPECT_EQ(fs_->ReadAll(P("/agents/bob/secret"), alice).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(fs_->ReadAll(P("/agents/bob/status"), alice).status().code(), Code::kPermissionDenied);
  auto agents = fs_->Walk(P("/agents"), alice);
  ASSERT_TRUE(agents.ok());
  EXPECT_EQ(fs_->List(**agents, alice).status().code(), Code::kPermissionDenied);
}

TEST_F(FileServiceTest, AgentsReadButNeverWritePolicies) {
  Caller alice = Caller::Agent("alice");
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/policy"), alice), "{}");
  EXPECT_EQ(fs_->WriteAll(P("/agents/alice/policy"), "{\"x\":1}", alice).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(policy_, "{}");
  EXPECT_TRUE(fs_->WriteAll(P("/agents/alice/policy"), "{\"x\":1}", Caller::Admin()).ok());
  EXPECT_EQ(policy_, "{\"x\":1}");
}

TEST_F(FileServiceTest, PublicSeesOnlyPublicFilesOfPublicAgents) {
  Caller pub = Caller::Public();
  EXPECT_EQ(fs_->ReadAll(P("/agents/alice/status"), pub).status().code(), Code::kUnauthenticated);
  public_agent_ = "alice";
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/status"), pub), "STATUS\n");
  EXPECT_EQ(fs_->ReadAll(P("/agents/alice/secret"), pub).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(fs_->ReadAll(P("/agents/bob/status"), pub).status().code(), Code::kUnauthenticated);
}

TEST_F(FileServiceTest, ModesReflectTheCaller) {
  auto policy = fs_->Walk(P("/agents/alice/policy"), Caller::Admin());
  ASSERT_TRUE(policy.ok());
  uint32_t mode = 0;
  (void)fs_->GetStat(**policy, Caller::Admin(), &mode);
  EXPECT_EQ(mode, 0644u);
  (void)fs_->GetStat(**policy, Caller::Agent("alice"), &mode);
  EXPECT_EQ(mode, 0444u);
}

TEST_F(FileServiceTest, DocDirCrudAndValidation) {
  Caller alice = Caller::Agent("alice");
  EXPECT_TRUE(fs_->WriteAll(P("/agents/alice/docs/g.json"), "{\"a\":1}", alice).ok());
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/docs/g.json"), alice), "{\"a\":1}");
  // A write that cannot begin a document fails at write(); the old content stays.
  auto node = fs_->Walk(P("/agents/alice/docs/g.json"), alice);
  ASSERT_TRUE(node.ok());
  auto h = fs_->Open(**node, OpenFlags{false, true, true, false}, alice);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ((*h)->Write(0, Bytes("nope")).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE((*h)->Flush().ok());
  // The failed handle keeps the message for the next read (errno cannot carry it).
  char buf[256];
  auto n = (*h)->Read(0, std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n).rfind("error invalid_argument: ", 0), 0u);
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/docs/g.json"), alice), "{\"a\":1}");
  // A document incomplete at close fails the flush.
  auto h2 = fs_->Open(**node, OpenFlags{false, true, true, false}, alice);
  ASSERT_TRUE(h2.ok());
  EXPECT_TRUE((*h2)->Write(0, Bytes("{\"b\":")).ok());
  EXPECT_EQ((*h2)->Flush().code(), Code::kInvalidArgument);
  EXPECT_EQ(*fs_->ReadAll(P("/agents/alice/docs/g.json"), alice), "{\"a\":1}");
  EXPECT_FALSE(errors_.empty());
  EXPECT_EQ(errors_.back().rfind("alice:invalid_argument", 0), 0u);
  // Remove.
  auto dir = fs_->Walk(P("/agents/alice/docs"), alice);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(fs_->List(**dir, alice)->size(), 1u);
  EXPECT_TRUE(fs_->Remove(**dir, "g.json", alice).ok());
  EXPECT_EQ(fs_->Remove(**dir, "g.json", alice).code(), Code::kNotFound);
  EXPECT_EQ(fs_->Remove(**dir, "..", alice).code(), Code::kInvalidArgument);
  // Bob cannot create in alice's tree.
  EXPECT_EQ(fs_->WriteAll(P("/agents/alice/docs/x.json"), "{}", Caller::Agent("bob")).code(),
            Code::kPermissionDenied);
}

TEST_F(FileServiceTest, DirectoriesAreNotFiles) {
  EXPECT_EQ(fs_->ReadAll(P("/agents"), Caller::Admin()).status().code(), Code::kIsDirectory);
  EXPECT_EQ(fs_->ReadAll(P("/agents/alice/status/x"), Caller::Admin()).status().code(),
            Code::kNotDirectory);
  EXPECT_EQ(fs_->WriteAll(P("/agents/alice/docs"), "{}", Caller::Admin()).code(),
            Code::kIsDirectory);
}

TEST(ChildId, StableAndNeverReserved) {
  EXPECT_EQ(ChildId(1, "agents"), ChildId(1, "agents"));
  EXPECT_NE(ChildId(1, "agents"), ChildId(1, "agent"));
  EXPECT_NE(ChildId(1, "ab"), ChildId(2, "ab"));
  for (int i = 0; i < 10000; ++i) EXPECT_GT(ChildId(i, std::to_string(i)), 1u);
}

}  // namespace
}  // namespace agent9
