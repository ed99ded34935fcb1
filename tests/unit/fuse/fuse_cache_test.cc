// The kernel's name cache on a real mount: names under directories that announce their
// removals (Stat::names_announced) are cached, so a path walk skips their lookups; a removal
// announced on the ChangeFeed (from a thread outside FUSE, from a request of the same mount,
// from another mount) is seen at once. Skips when /dev/fuse is missing.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <set>
#include <string>

#include "fs/change_feed.h"
#include "fs/files/files.h"
#include "fs/fuse/fuse_mount.h"
#include "tests/unit/fuse/fuse_testing.h"
#include "tests/unit/testing/temp_dir.h"

namespace agent9 {
namespace {

using testing::HaveFuse;
using testing::StatErrno;

// A directory of generated files whose names come and go; it counts its lookups. With
// `announced`, it says its removals are announced (and FileService::Remove announces them).
class CountingDir final : public Node {
 public:
  CountingDir(NodeId id, bool announced)
      : Node(id, "", Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kOwner}),
        announced_(announced) {}
  Stat GetStat() const override {
    Stat s = DirStat();
    s.names_announced = announced_;
    return s;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    ++lookups;
    MutexLock l(&mu_);
    if (!names_.count(std::string(name))) return Status::NotFound("no such file", name);
    std::string content = "content of " + std::string(name) + "\n";
    return std::shared_ptr<Node>(std::make_shared<SnapshotFile>(
        ChildId(id(), name), "", Access{}, [content]() -> Result<std::string> { return content; }));
  }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    MutexLock l(&mu_);
    std::vector<DirEntry> out;
    for (const auto& n : names_) out.push_back({n, NodeType::kFile, 0, 0});
    return out;
  }
  Status Remove(std::string_view name, const Caller&) override {
    MutexLock l(&mu_);
    if (names_.erase(std::string(name)) == 0) return Status::NotFound("no such file", name);
    return Status::OK();
  }
  void Add(const std::string& name) {
    MutexLock l(&mu_);
    names_.insert(name);
  }
  // A removal made behind the tree's back (as the domain does it), not announced.
  void Drop(const std::string& name) {
    MutexLock l(&mu_);
    names_.erase(name);
  }

  std::atomic<int> lookups{0};

 private:
  const bool announced_;
  Mutex mu_;
  std::set<std::string> names_ GUARDED_BY(mu_);
};

class FuseCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveFuse()) GTEST_SKIP() << "/dev/fuse is missing";
    cached_ = std::make_shared<CountingDir>(ChildId(kRootNodeId, "cached"), true);
    plain_ = std::make_shared<CountingDir>(ChildId(kRootNodeId, "plain"), false);
    auto c = cached_;
    auto p = plain_;
    auto entries = std::make_shared<const std::vector<TableEntry>>(std::vector<TableEntry>{
        {"cached", NodeType::kDir,
         [c](NodeId, const std::string&) -> std::shared_ptr<Node> { return c; }},
        {"plain", NodeType::kDir,
         [p](NodeId, const std::string&) -> std::shared_ptr<Node> { return p; }},
    });
    auto root = std::make_shared<TableDir>(kRootNodeId, "", Access{}, entries);
    fs_ = std::make_shared<FileService>(
        root, [](std::string_view) { return false; }, nullptr, &feed_);
    a_ = Mount("a");
    b_ = Mount("b");
  }
  void TearDown() override {
    for (auto* m : {&a_, &b_}) {
      if (*m) (*m)->Stop();
    }
  }
  std::unique_ptr<FuseMount> Mount(const std::string& name) {
    auto m = FuseMount::Start(fs_, Caller::Admin(), {tmp_.path() + "/" + name, false, 4});
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? std::move(m).value() : nullptr;
  }
  std::string A(const std::string& rel) const { return tmp_.path() + "/a/" + rel; }
  std::string B(const std::string& rel) const { return tmp_.path() + "/b/" + rel; }

  testing::TempDir tmp_;
  ChangeFeed feed_;
  std::shared_ptr<CountingDir> cached_;
  std::shared_ptr<CountingDir> plain_;
  std::shared_ptr<FileService> fs_;
  std::unique_ptr<FuseMount> a_;
  std::unique_ptr<FuseMount> b_;
};

TEST_F(FuseCacheTest, AnnouncedNamesAreLookedUpOnceOthersEveryTime) {
  cached_->Add("x");
  plain_->Add("x");
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(StatErrno(A("cached/x")), 0);
    ASSERT_EQ(StatErrno(A("plain/x")), 0);
  }
  EXPECT_EQ(cached_->lookups.load(), 1);
  EXPECT_EQ(plain_->lookups.load(), 5);
  // Names that do not exist are never cached: a new one is there at once.
  EXPECT_EQ(StatErrno(A("cached/y")), ENOENT);
  cached_->Add("y");
  EXPECT_EQ(StatErrno(A("cached/y")), 0);
}

TEST_F(FuseCacheTest, AnUnannouncedRemovalIsStillCachedWhichIsWhyRemovalsAreAnnounced) {
  cached_->Add("x");
  ASSERT_EQ(StatErrno(A("cached/x")), 0);
  cached_->Drop("x");
  EXPECT_EQ(StatErrno(A("cached/x")), 0);  // the kernel answered from its cache
  feed_.EntryRemoved(cached_->id(), "x");
  EXPECT_EQ(StatErrno(A("cached/x")), ENOENT);
}

TEST_F(FuseCacheTest, ARemovalAnnouncedOutsideFuseIsSeenAtOnceOnEveryMount) {
  cached_->Add("x");
  ASSERT_EQ(StatErrno(A("cached/x")), 0);
  ASSERT_EQ(StatErrno(B("cached/x")), 0);
  // As the HTTP adapter removes a file: through FileService, on a thread of its own.
  auto dir = fs_->Walk(*Path::Parse("/cached"), Caller::Admin());
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(fs_->Remove(**dir, "x", Caller::Admin()).ok());
  EXPECT_EQ(StatErrno(A("cached/x")), ENOENT);
  EXPECT_EQ(StatErrno(B("cached/x")), ENOENT);
}

TEST_F(FuseCacheTest, ARemovalOverOneMountIsSeenAtOnceOnTheOther) {
  cached_->Add("x");
  cached_->Add("y");
  ASSERT_EQ(StatErrno(A("cached/x")), 0);
  ASSERT_EQ(StatErrno(B("cached/x")), 0);
  // unlink on mount a: its own invalidation is handed to a's thread (the kernel holds the
  // directory's lock during the unlink); b's runs before the unlink returns.
  ASSERT_EQ(unlink(A("cached/x").c_str()), 0);
  EXPECT_EQ(StatErrno(A("cached/x")), ENOENT);
  EXPECT_EQ(StatErrno(B("cached/x")), ENOENT);
  EXPECT_EQ(StatErrno(B("cached/y")), 0);
  // Many in a row, both ways, while the other mount keeps walking: no deadlock.
  for (int i = 0; i < 50; ++i) {
    std::string n = "n" + std::to_string(i);
    cached_->Add(n);
    ASSERT_EQ(StatErrno(A("cached/" + n)), 0);
    ASSERT_EQ(StatErrno(B("cached/" + n)), 0);
    ASSERT_EQ(unlink((i % 2 ? A("cached/" + n) : B("cached/" + n)).c_str()), 0);
    EXPECT_EQ(StatErrno(A("cached/" + n)), ENOENT) << n;
    EXPECT_EQ(StatErrno(B("cached/" + n)), ENOENT) << n;
  }
}

}  // namespace
}  // namespace agent9
