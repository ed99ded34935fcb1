// Mounts small FileService trees for real (a mkdtemp mountpoint per test) and drives them
// with syscalls and shell tools. Skips when /dev/fuse is missing.
#include "fs/fuse/fuse_mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fs/files/files.h"
#include "fs/fuse/errno_map.h"
#include "tests/unit/fuse/fuse_testing.h"

namespace agent9 {
namespace {

using testing::HaveFuse;
using testing::StatErrno;

using namespace std::chrono_literals;

// ---- Test doubles -----------------------------------------------------------------------

// Documents must be JSON objects: a write that cannot begin one fails at write(); a
// document that does not end as one fails at close. Appends are taken as they are.
class MemDocStore final : public DocStore {
 public:
  Result<std::vector<DirEntry>> List() override {
    MutexLock l(&mu_);
    std::vector<DirEntry> out;
    for (const auto& [name, doc] : docs_) out.push_back({name, NodeType::kFile, doc.size(), 0});
    return out;
  }
  Result<DirEntry> StatDoc(std::string_view name) override {
    MutexLock l(&mu_);
    auto it = docs_.find(std::string(name));
    if (it == docs_.end()) return Status::NotFound("no such document", name);
    return DirEntry{it->first, NodeType::kFile, it->second.size(), 0};
  }
  Result<std::string> Get(std::string_view name) override {
    MutexLock l(&mu_);
    auto it = docs_.find(std::string(name));
    if (it == docs_.end()) return Status::NotFound("no such document", name);
    return it->second;
  }
  Status Put(std::string_view name, std::string content) override {
    std::string t = content;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t.empty() || t.front() != '{' || t.back() != '}') {
      return Status::InvalidArgument("document must be a JSON object");
    }
    MutexLock l(&mu_);
    docs_[std::string(name)] = std::move(content);
    return Status::OK();
  }
  bool CanAppend() const override { return true; }
  Status Append(std::string_view name, std::string data) override {
    MutexLock l(&mu_);
    docs_[std::string(name)] += data;
    return Status::OK();
  }
  Status Remove(std::string_view name) override {
    MutexLock l(&mu_);
    if (docs_.erase(std::string(name)) == 0) return Status::NotFound("no such document", name);
    return Status::OK();
  }
  Status CheckPrefix(std::string_view prefix) override {
    size_t i = prefix.find_first_not_of(" \n");
    if (i != std::string_view::npos && prefix[i] != '{') {
      return Status::InvalidArgument("document must start with '{'");
    }
    return Status::OK();
  }
  std::string Doc(const std::string& name) {
    MutexLock l(&mu_);
    return docs_.count(name) ? docs_[name] : "<absent>";
  }

 private:
  Mutex mu_;
  std::map<std::string, std::string> docs_ GUARDED_BY(mu_);
};

// A directory that supports mkdir and rmdir of empty subdirectories.
class MemDir final : public Node {
 public:
  MemDir(NodeId id, std::string owner, Access access) : Node(id, std::move(owner), access) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    MutexLock l(&mu_);
    if (!names_.count(std::string(name))) return Status::NotFound("no such dir", name);
    auto none = std::make_shared<const std::vector<TableEntry>>();
    return std::shared_ptr<Node>(
        std::make_shared<TableDir>(ChildId(id(), name), owner(), Access{}, none));
  }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    MutexLock l(&mu_);
    std::vector<DirEntry> out;
    for (const auto& n : names_) out.push_back({n, NodeType::kDir, 0, 0});
    return out;
  }
  Status Mkdir(std::string_view name, const Caller&) override {
    MutexLock l(&mu_);
    if (!names_.insert(std::string(name)).second) return Status::AlreadyExists("dir", name);
    return Status::OK();
  }
  Status Remove(std::string_view name, const Caller&) override {
    MutexLock l(&mu_);
    if (names_.erase(std::string(name)) == 0) return Status::NotFound("no such dir", name);
    return Status::OK();
  }

 private:
  Mutex mu_;
  std::set<std::string> names_ GUARDED_BY(mu_);
};

// A single document held in memory (an agent's `config`).
struct MemDoc {
  Mutex mu;
  std::string content GUARDED_BY(mu) = "{\"v\":1}\n";
  DocOps Ops() {
    DocOps ops;
    ops.load = [this]() -> Result<std::string> {
      MutexLock l(&mu);
      return content;
    };
    ops.commit = [this](std::string c) {
      MutexLock l(&mu);
      content = std::move(c);
      return Status::OK();
    };
    return ops;
  }
  std::string Get() {
    MutexLock l(&mu);
    return content;
  }
};

// The content of snapshot generation g: a torn read would mix two generations.
std::string SnapshotContent(int g) {
  std::string s = "begin " + std::to_string(g) + "\n";
  for (int i = 0; i < 2000; ++i) s += "line " + std::to_string(g * 100000 + i) + "\n";
  return s + "end " + std::to_string(g) + "\n";
}

int GenerationOf(const std::string& content) {
  if (content.rfind("begin ", 0) != 0) return -1;
  return std::atoi(content.c_str() + 6);
}

// A table entry whose factory ignores the directory's owner (the tests pass owners).
TableEntry Entry(std::string name, NodeType type, std::function<std::shared_ptr<Node>(NodeId)> f) {
  return TableEntry{std::move(name), type,
                    [f = std::move(f)](NodeId id, const std::string&) { return f(id); }};
}

std::shared_ptr<const std::vector<TableEntry>> Entries(std::vector<TableEntry> v) {
  return std::make_shared<const std::vector<TableEntry>>(std::move(v));
}

// ---- Helpers ------------------------------------------------------------------------------

struct ShellResult {
  int exit_code = -1;
  std::string out;
};

// Runs cmd with /bin/sh; stdout is captured, stderr goes to the test log.
ShellResult Sh(const std::string& cmd) {
  ShellResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string Q(const std::string& s) { return "'" + s + "'"; }  // paths hold no quotes

// Reads fd to EOF in chunks of `chunk` bytes; sets *err to errno on failure.
std::string ReadAllFd(int fd, size_t chunk, int* err = nullptr) {
  std::string out;
  std::vector<char> buf(chunk);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (err) *err = errno;
      break;
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  return out;
}

// Opens and reads a whole file; returns errno in *err (0 on success).
std::string ReadPath(const std::string& path, int* err = nullptr, size_t chunk = 65536) {
  if (err) *err = 0;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    if (err) *err = errno;
    return {};
  }
  std::string s = ReadAllFd(fd, chunk, err);
  close(fd);
  return s;
}

int OpenErrno(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags, 0644);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno;
}

std::map<std::string, ino_t> ReadDir(const std::string& path, int* err = nullptr) {
  std::map<std::string, ino_t> out;
  if (err) *err = 0;
  DIR* d = opendir(path.c_str());
  if (!d) {
    if (err) *err = errno;
    return out;
  }
  while (dirent* e = readdir(d)) out[e->d_name] = e->d_ino;
  closedir(d);
  return out;
}

// The /proc/self/mountinfo line whose mount point is path, or "".
std::string MountInfo(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string found;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    size_t pos = 0;
    for (int i = 0; i < 5 && pos != std::string::npos; ++i) {
      size_t sp = line.find(' ', pos);
      f.push_back(line.substr(pos, sp - pos));
      pos = sp == std::string::npos ? sp : sp + 1;
    }
    if (f.size() == 5 && f[4] == path) found = line;  // the last one is on top
  }
  return found;
}

// True when a mount sits at or below path (then the directory must not be deleted).
bool HasMountUnder(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" " + path + "/") != std::string::npos) return true;
  }
  return false;
}

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string t = std::string(base && *base ? base : "/tmp") + "/agent9-fuse-XXXXXX";
    if (mkdtemp(t.data())) path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty() && !HasMountUnder(path_)) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- The admin tree --------------------------------------------------------------------

struct AdminTree {
  std::shared_ptr<std::atomic<int>> generation = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<MemDocStore> docs = std::make_shared<MemDocStore>();
  std::shared_ptr<Stream> stream = std::make_shared<Stream>();
  struct CtlLog {
    Mutex mu;
    std::vector<std::string> lines GUARDED_BY(mu);
    std::vector<std::string> Get() {
      MutexLock l(&mu);
      return lines;
    }
  };
  std::shared_ptr<CtlLog> ctl_log = std::make_shared<CtlLog>();
  std::shared_ptr<FileService> fs;

  AdminTree() {
    const Access rw{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};
    const Access ro{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};
    const Access dir{Who::kOwner, Who::kNobody, Who::kOwner, Who::kOwner};
    auto gen = generation;
    auto docstore = docs;
    auto st = stream;
    auto log = ctl_log;
    auto ctl_table =
        std::make_shared<const std::vector<CtlCommand>>(std::vector<CtlCommand>{
            {"ping", 0, 0, "ping",
             [](const Caller&, const std::vector<std::string>&) { return Status::OK(); }},
            {"set", 2, 2, "set <key> <value>",
             [log](const Caller&, const std::vector<std::string>& a) {
               MutexLock l(&log->mu);
               log->lines.push_back(a[0] + "=" + a[1]);
               return Status::OK();
             }},
        });
    auto cache = std::make_shared<CallCache>();
    // TableDir builds children per lookup; the MemDir's entries must outlive that.
    auto mem = std::make_shared<MemDir>(ChildId(kRootNodeId, "mem"), "", dir);
    auto root = std::make_shared<TableDir>(
        kRootNodeId, "", dir,
        Entries({
            Entry("snap", NodeType::kFile,
                  [=](NodeId id) {
                    return std::make_shared<SnapshotFile>(
                        id, "", ro,
                        [gen]() -> Result<std::string> { return SnapshotContent(++*gen); });
                  }),
            Entry("docs", NodeType::kDir,
                  [=](NodeId id) { return std::make_shared<DocDir>(id, "", dir, rw, docstore); }),
            Entry("ctl", NodeType::kFile,
                  [=](NodeId id) { return std::make_shared<CtlFile>(id, "", rw, ctl_table); }),
            Entry("call", NodeType::kFile,
                  [=](NodeId id) {
                    return std::make_shared<CallFile>(
                        id, "", rw,
                        [](const Caller& who, std::string req) -> Result<std::string> {
                          return "RESP(" + who.Name() + "):" + req;
                        },
                        cache);
                  }),
            Entry("stream", NodeType::kFile,
                  [=](NodeId id) { return std::make_shared<StreamFile>(id, "", ro, st); }),
            Entry("mem", NodeType::kDir, [mem](NodeId) { return mem; }),
        }));
    fs = std::make_shared<FileService>(root, [](std::string_view) { return false; });
  }
};

// ---- Agent trees ------------------------------------------------------------------------

// /a (owned by agent a: `cfg` readable by a, writable by the admin only; `notes/` a DocDir)
// and /b (owned by agent b: `secret`).
struct AgentTree {
  std::shared_ptr<MemDoc> cfg = std::make_shared<MemDoc>();
  std::shared_ptr<MemDocStore> notes = std::make_shared<MemDocStore>();
  std::shared_ptr<Node> a_dir;
  std::shared_ptr<FileService> global;
  std::shared_ptr<FileService> local;  // root = /a

  AgentTree() {
    const Access admin_write{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody};
    const Access rw{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};
    const Access dir{Who::kOwner, Who::kNobody, Who::kOwner, Who::kOwner};
    auto c = cfg;
    auto n = notes;
    auto a_entries = Entries({
        Entry("cfg", NodeType::kFile,
              [=](NodeId id) { return std::make_shared<DocFile>(id, "a", admin_write, c->Ops()); }),
        Entry("notes", NodeType::kDir,
              [=](NodeId id) { return std::make_shared<DocDir>(id, "a", dir, rw, n); }),
    });
    auto b_entries = Entries({
        Entry("secret", NodeType::kFile,
              [=](NodeId id) {
                return std::make_shared<SnapshotFile>(
                    id, "b", rw, []() -> Result<std::string> { return std::string("b only\n"); });
              }),
    });
    a_dir = std::make_shared<TableDir>(ChildId(kRootNodeId, "a"), "a", dir, a_entries);
    auto a = a_dir;
    auto root = std::make_shared<TableDir>(
        kRootNodeId, "", Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody},
        Entries({
            Entry("a", NodeType::kDir, [a](NodeId) { return a; }),
            Entry("b", NodeType::kDir,
                  [=](NodeId id) { return std::make_shared<TableDir>(id, "b", dir, b_entries); }),
        }));
    auto nobody_public = [](std::string_view) { return false; };
    global = std::make_shared<FileService>(root, nobody_public);
    local = std::make_shared<FileService>(a_dir, nobody_public);
  }
};

// ---- Fixtures -------------------------------------------------------------------------

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveFuse()) GTEST_SKIP() << "/dev/fuse is missing";
    ASSERT_FALSE(tmp_.path().empty());
    mnt_ = tmp_.path() + "/mnt";  // missing: Start creates it
  }
  void TearDown() override {
    if (mount_) mount_->Stop();
    // A failed test may leave a stale mount (the crash test's child); detach it.
    if (!mnt_.empty() && StatErrno(mnt_) == ENOTCONN) umount2(mnt_.c_str(), MNT_DETACH);
  }
  void Mount(std::shared_ptr<const FileService> fs, Caller who, bool allow_other = false) {
    auto m = FuseMount::Start(std::move(fs), std::move(who), {mnt_, allow_other, 8});
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    mount_ = std::move(m).value();
  }
  std::string P(const std::string& rel) const { return mnt_ + "/" + rel; }

  TempDir tmp_;
  std::string mnt_;
  std::unique_ptr<FuseMount> mount_;
};

class AdminMountTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped()) return;
    Mount(tree_.fs, Caller::Admin());
  }
  AdminTree tree_;
};

// ---- errno map --------------------------------------------------------------------------

TEST(ErrnoMapTest, EveryCodeHasItsErrno) {
  const std::map<Code, int> want = {
      {Code::kOk, 0},
      {Code::kNotFound, ENOENT},
      {Code::kAlreadyExists, EEXIST},
      {Code::kInvalidArgument, EINVAL},
      {Code::kPermissionDenied, EACCES},
      {Code::kUnauthenticated, EACCES},
      {Code::kBudgetExceeded, EDQUOT},
      {Code::kResourceExhausted, EAGAIN},
      {Code::kAborted, EBUSY},
      {Code::kTooLarge, EFBIG},
      {Code::kIsDirectory, EISDIR},
      {Code::kNotDirectory, ENOTDIR},
      {Code::kUnimplemented, EOPNOTSUPP},
      {Code::kUnavailable, EAGAIN},
      {Code::kDeadlineExceeded, ETIMEDOUT},
      {Code::kInternal, EIO},
  };
  for (int c = 0; c <= static_cast<int>(Code::kInternal); ++c) {
    Code code = static_cast<Code>(c);
    ASSERT_TRUE(want.count(code)) << "unmapped code " << c;
    EXPECT_EQ(ToErrno(Status(code, "x")), want.at(code)) << CodeName(code);
    EXPECT_NE(ToErrno(code), ENOSYS);
  }
}

// ---- Reads ------------------------------------------------------------------------------

TEST_F(AdminMountTest, SnapshotReadInSmallChunksNeverTears) {
  int fd = open(P("snap").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  int err = 0;
  std::string got = ReadAllFd(fd, 7, &err);
  close(fd);
  ASSERT_EQ(err, 0);
  int g = GenerationOf(got);
  ASSERT_GT(g, 0);
  EXPECT_EQ(got, SnapshotContent(g));  // one generation, whole, although built per open
  std::string again = ReadPath(P("snap"), &err, 13);
  EXPECT_EQ(GenerationOf(again), g + 1);
  EXPECT_EQ(again, SnapshotContent(g + 1));
}

TEST_F(AdminMountTest, ZeroSizeFileIsReadFullyByCat) {
  struct stat st {};
  ASSERT_EQ(StatErrno(P("snap"), &st), 0);
  EXPECT_EQ(st.st_size, 0);  // generated: size unknown, direct_io serves it all
  ShellResult r = Sh("cat " + Q(P("snap")));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, SnapshotContent(GenerationOf(r.out)));
  EXPECT_GT(r.out.size(), 20000u);
}

TEST_F(AdminMountTest, ConcurrentReadersEachSeeOneGeneration) {
  std::vector<std::future<std::string>> readers;
  for (int i = 0; i < 8; ++i) {
    readers.push_back(
        std::async(std::launch::async, [this] { return ReadPath(P("snap"), nullptr, 512); }));
  }
  std::set<int> gens;
  for (auto& f : readers) {
    std::string s = f.get();
    int g = GenerationOf(s);
    EXPECT_EQ(s, SnapshotContent(g));
    gens.insert(g);
  }
  EXPECT_EQ(gens.size(), 8u);  // one open, one generation
}

TEST_F(AdminMountTest, AttributesComeFromFileService) {
  struct stat st {};
  ASSERT_EQ(StatErrno(P("snap"), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_uid, getuid());
  EXPECT_EQ(st.st_gid, getgid());
  EXPECT_EQ(st.st_ino, ChildId(kRootNodeId, "snap"));
  EXPECT_GT(st.st_mtime, 0);

  ASSERT_EQ(StatErrno(P("ctl"), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  ASSERT_EQ(StatErrno(P("docs"), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_nlink, 2u);

  ASSERT_EQ(StatErrno(mnt_, &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_ino, 1u);

  ASSERT_EQ(tree_.docs->Put("d1", "{\"a\":1}\n").ok(), true);
  ShellResult r = Sh("stat -c '%s %a %F' " + Q(P("docs/d1")));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "8 644 regular file\n");  // documents report their exact size
}

TEST_F(AdminMountTest, MissingNamesAreEnoent) {
  EXPECT_EQ(StatErrno(P("nope")), ENOENT);
  EXPECT_EQ(OpenErrno(P("nope"), O_RDONLY), ENOENT);
  EXPECT_EQ(StatErrno(P("docs/nope")), ENOENT);
  EXPECT_EQ(StatErrno(P("snap/x")), ENOTDIR);
  EXPECT_NE(Sh("cat " + Q(P("nope")) + " 2>/dev/null").exit_code, 0);
}

TEST_F(AdminMountTest, ExtendedAttributesAreNotSupported) {
  char buf[64];
  // The first getxattr reaches the daemon (ENOSYS), and the kernel answers every later one
  // itself: the same EOPNOTSUPP a filesystem without xattrs gives. ls -l and cp -a treat it
  // as "no attributes".
  for (int i = 0; i < 2; ++i) {
    errno = 0;
    EXPECT_EQ(getxattr(P("snap").c_str(), "user.x", buf, sizeof buf), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    errno = 0;
    EXPECT_EQ(listxattr(P("snap").c_str(), buf, sizeof buf), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    errno = 0;
    EXPECT_EQ(setxattr(P("snap").c_str(), "user.x", "v", 1, 0), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    errno = 0;
    EXPECT_EQ(removexattr(P("snap").c_str(), "user.x"), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
  }
  // ls -l and cp -a work without complaint.
  auto ls = Sh("ls -l " + Q(P("snap")) + " 2>&1");
  EXPECT_EQ(ls.exit_code, 0) << ls.out;
  EXPECT_EQ(ls.out.find("Operation not supported"), std::string::npos) << ls.out;
  auto cp = Sh("d=$(mktemp -d) && cp -a " + Q(P("snap")) +
               " \"$d/snap\" 2>&1; rc=$?; rm -rf \"$d\"; exit $rc");
  EXPECT_EQ(cp.exit_code, 0) << cp.out;
  EXPECT_EQ(cp.out, "");
}

TEST_F(AdminMountTest, ReadOnlyFilesRefuseWrites) {
  EXPECT_EQ(OpenErrno(P("snap"), O_WRONLY), EACCES);
  EXPECT_EQ(OpenErrno(P("stream"), O_RDWR), EACCES);
  EXPECT_NE(Sh("{ echo x > " + Q(P("snap")) + "; } 2>/dev/null").exit_code, 0);
}

// ---- Documents ----------------------------------------------------------------------------

TEST_F(AdminMountTest, DocumentsWithShellTools) {
  EXPECT_EQ(Sh("echo '{\"a\":1}' > " + Q(P("docs/d1"))).exit_code, 0);
  EXPECT_EQ(tree_.docs->Doc("d1"), "{\"a\":1}\n");
  EXPECT_EQ(Sh("cat " + Q(P("docs/d1"))).out, "{\"a\":1}\n");

  EXPECT_EQ(Sh("echo '{\"b\":2}' >> " + Q(P("docs/d1"))).exit_code, 0);
  EXPECT_EQ(tree_.docs->Doc("d1"), "{\"a\":1}\n{\"b\":2}\n");

  EXPECT_EQ(Sh("echo '{\"c\":3}' > " + Q(P("docs/d1"))).exit_code, 0);  // O_TRUNC replaces
  EXPECT_EQ(tree_.docs->Doc("d1"), "{\"c\":3}\n");

  ShellResult ls = Sh("ls -l " + Q(P("docs")));
  EXPECT_EQ(ls.exit_code, 0);
  EXPECT_NE(ls.out.find("-rw-r--r--"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find(" d1\n"), std::string::npos) << ls.out;

  ShellResult find = Sh("find " + Q(mnt_) + " | sort");
  EXPECT_EQ(find.exit_code, 0);
  for (const char* p : {"/call", "/ctl", "/docs", "/docs/d1", "/mem", "/snap", "/stream"}) {
    EXPECT_NE(find.out.find(mnt_ + p + "\n"), std::string::npos) << p << " in " << find.out;
  }
  EXPECT_EQ(Sh("touch " + Q(P("docs/d1"))).exit_code, 0);
}

TEST_F(AdminMountTest, WriteThatCannotStartADocumentFailsInEcho) {
  ASSERT_TRUE(tree_.docs->Put("d1", "{\"keep\":1}").ok());
  // coreutils echo names the errno (dash's builtin says only "I/O error").
  ShellResult echo = Sh("{ /bin/echo hello > " + Q(P("docs/d1")) + "; } 2>&1");
  EXPECT_NE(echo.exit_code, 0);
  EXPECT_NE(echo.out.find("Invalid argument"), std::string::npos) << echo.out;
  EXPECT_EQ(tree_.docs->Doc("d1"), "{\"keep\":1}");

  int fd = open(P("docs/d1").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "hello", 5), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(close(fd), 0);  // a hopeless document is dropped, not committed
  EXPECT_EQ(tree_.docs->Doc("d1"), "{\"keep\":1}");

  // A new file too: nothing is stored.
  EXPECT_NE(Sh("{ echo hello > " + Q(P("docs/d2")) + "; } 2>/dev/null").exit_code, 0);
  EXPECT_EQ(tree_.docs->Doc("d2"), "<absent>");
}

TEST_F(AdminMountTest, InvalidDocumentFailsCloseAndKeepsOldOne) {
  ASSERT_TRUE(tree_.docs->Put("d1", "{\"keep\":1}").ok());
  int fd = open(P("docs/d1").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "{\"x\":", 5), 5);
  errno = 0;
  EXPECT_EQ(close(fd), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(tree_.docs->Doc("d1"), "{\"keep\":1}");
}

TEST_F(AdminMountTest, CreateNewDocumentThroughOpen) {
  int fd = open(P("docs/n1").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);  // the created-but-unstored file has attributes
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_ino, ChildId(ChildId(kRootNodeId, "docs"), "n1"));
  EXPECT_EQ(write(fd, "{\"n\":1}", 7), 7);
  EXPECT_EQ(close(fd), 0);
  EXPECT_EQ(tree_.docs->Doc("n1"), "{\"n\":1}");
  EXPECT_EQ(ReadPath(P("docs/n1")), "{\"n\":1}");
  EXPECT_EQ(OpenErrno(P("docs/n1"), O_CREAT | O_EXCL | O_WRONLY), EEXIST);
}

TEST_F(AdminMountTest, ReaddirOfDocDir) {
  ASSERT_TRUE(tree_.docs->Put("d1", "{}").ok());
  ASSERT_TRUE(tree_.docs->Put("d2", "{}").ok());
  int err = 0;
  auto entries = ReadDir(P("docs"), &err);
  ASSERT_EQ(err, 0);
  std::set<std::string> names;
  for (const auto& [name, ino] : entries) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{".", "..", "d1", "d2"}));
  NodeId docs_id = ChildId(kRootNodeId, "docs");
  EXPECT_EQ(entries["d1"], ChildId(docs_id, "d1"));
  struct stat st {};
  ASSERT_EQ(StatErrno(P("docs/d1"), &st), 0);
  EXPECT_EQ(st.st_ino, entries["d1"]);  // readdir and lookup agree

  auto root = ReadDir(mnt_, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(root.size(), 8u);  // . .. and six entries
  EXPECT_EQ(root["ctl"], ChildId(kRootNodeId, "ctl"));
  EXPECT_EQ(ReadDir(P("snap"), &err).size(), 0u);
  EXPECT_EQ(err, ENOTDIR);
}

TEST_F(AdminMountTest, MkdirRmdirUnlink) {
  EXPECT_EQ(mkdir(P("mem/x").c_str(), 0755), 0) << strerror(errno);
  struct stat st {};
  ASSERT_EQ(StatErrno(P("mem/x"), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(ReadDir(P("mem")).count("x"), 1u);
  EXPECT_EQ(mkdir(P("mem/x").c_str(), 0755), -1);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_EQ(rmdir(P("mem/x").c_str()), 0) << strerror(errno);
  EXPECT_EQ(StatErrno(P("mem/x")), ENOENT);
  EXPECT_EQ(rmdir(P("mem/x").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(Sh("mkdir " + Q(P("mem/y")) + " && rmdir " + Q(P("mem/y"))).exit_code, 0);

  EXPECT_EQ(mkdir(P("docs/sub").c_str(), 0755), -1);  // documents only here
  EXPECT_EQ(errno, EACCES);

  ASSERT_TRUE(tree_.docs->Put("d1", "{}").ok());
  EXPECT_EQ(unlink(P("docs/d1").c_str()), 0) << strerror(errno);
  EXPECT_EQ(tree_.docs->Doc("d1"), "<absent>");
  EXPECT_EQ(StatErrno(P("docs/d1")), ENOENT);
  EXPECT_EQ(unlink(P("docs/d1").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(unlink(P("snap").c_str()), -1);  // the root's table has no remove
  EXPECT_EQ(errno, EACCES);
}

TEST_F(AdminMountTest, UnsupportedOpsAreEopnotsupp) {
  ASSERT_TRUE(tree_.docs->Put("d1", "{}").ok());
  EXPECT_EQ(rename(P("docs/d1").c_str(), P("docs/d2").c_str()), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(symlink("x", P("docs/l").c_str()), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(link(P("docs/d1").c_str(), P("docs/h").c_str()), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(truncate(P("docs/d1").c_str(), 3), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
  EXPECT_EQ(truncate(P("docs/d1").c_str(), 0), 0);  // what O_TRUNC means: succeeds
  EXPECT_EQ(truncate(P("snap").c_str(), 0), -1);
  EXPECT_EQ(errno, EACCES);
}

// ---- ctl ------------------------------------------------------------------------------

TEST_F(AdminMountTest, CtlUnknownVerbIsEinvalAndTheMessageStaysReadable) {
  int fd = open(P("ctl").c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << strerror(errno);
  EXPECT_EQ(write(fd, "bogus 1\n", 8), -1);
  EXPECT_EQ(errno, EINVAL);
  char buf[256];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
            "error invalid_argument: unknown control message: bogus\n");
  EXPECT_EQ(write(fd, "set k v\n", 8), 8);
  close(fd);
  EXPECT_EQ(tree_.ctl_log->Get(), std::vector<std::string>{"k=v"});

  EXPECT_EQ(Sh("echo ping > " + Q(P("ctl"))).exit_code, 0);
  EXPECT_NE(Sh("{ echo nope > " + Q(P("ctl")) + "; } 2>/dev/null").exit_code, 0);
  EXPECT_NE(Sh("{ echo set onlyone > " + Q(P("ctl")) + "; } 2>/dev/null").exit_code, 0);
  EXPECT_EQ(Sh("cat " + Q(P("ctl"))).out, "ping\nset <key> <value>\n");
}

// ---- call -----------------------------------------------------------------------------

TEST_F(AdminMountTest, CallWriteThenReadOnOneFd) {
  ShellResult r = Sh("exec 3<>" + Q(P("call")) + "; echo REQ >&3; cat <&3");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "RESP(admin):REQ\n");

  int fd = open(P("call").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "ab", 2), 2);
  ASSERT_EQ(write(fd, "cd", 2), 2);  // the request is every byte written
  EXPECT_EQ(ReadAllFd(fd, 3), "RESP(admin):abcd");
  EXPECT_EQ(close(fd), 0);
}

TEST_F(AdminMountTest, CallEchoThenCat) {
  int err = 0;
  ReadPath(P("call"), &err);  // nothing written yet, nothing cached
  EXPECT_EQ(err, EINVAL);
  ShellResult r = Sh("echo REQ2 > " + Q(P("call")) + " && cat " + Q(P("call")));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "RESP(admin):REQ2\n");
  EXPECT_EQ(ReadPath(P("call")), "RESP(admin):REQ2\n");  // still there for a fresh open
}

// ---- streams --------------------------------------------------------------------------

TEST_F(AdminMountTest, StreamReadBlocksUntilDataArrives) {
  int fd = open(P("stream").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(errno);
  auto reader = std::async(std::launch::async, [fd] {
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    return n < 0 ? std::string("errno ") + strerror(errno) : std::string(buf, n);
  });
  EXPECT_EQ(reader.wait_for(200ms), std::future_status::timeout);  // nothing to read yet
  tree_.stream->Append("hello\n");
  ASSERT_EQ(reader.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(reader.get(), "hello\n");

  tree_.stream->Append("more\n");
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf);  // continues where this handle left off
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "more\n");
  close(fd);

  int nb = open(P("stream").c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(nb, 0);
  EXPECT_EQ(ReadAllFd(nb, 4), "hello\nmore\n");  // the backlog, then end: no blocking
  close(nb);
}

void NoopHandler(int) {}

TEST_F(AdminMountTest, BlockedStreamReadIsInterruptible) {
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = NoopHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the read returns EINTR
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);

  int fd = open(P("stream").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  std::atomic<bool> done{false};
  std::promise<pthread_t> tid;
  int read_errno = 0;
  ssize_t result = 0;
  std::thread t([&] {
    tid.set_value(pthread_self());
    char buf[16];
    result = read(fd, buf, sizeof buf);
    read_errno = errno;
    done = true;
  });
  pthread_t target = tid.get_future().get();
  // A signal sent before the read starts is simply handled; keep sending until one lands
  // while the read blocks.
  for (int i = 0; i < 1000 && !done; ++i) {
    pthread_kill(target, SIGUSR1);
    for (int j = 0; j < 10 && !done; ++j) std::this_thread::sleep_for(1ms);
  }
  t.join();
  EXPECT_EQ(result, -1);
  EXPECT_EQ(read_errno, EINTR);
  close(fd);
  sigaction(SIGUSR1, &old, nullptr);
}

TEST_F(AdminMountTest, StopReturnsWhileAReadIsBlocked) {
  int fd = open(P("stream").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto reader = std::async(std::launch::async, [fd] {
    char buf[16];
    return read(fd, buf, sizeof buf);
  });
  EXPECT_EQ(reader.wait_for(100ms), std::future_status::timeout);
  auto stopper = std::async(std::launch::async, [this] { mount_->Stop(); });
  ASSERT_EQ(stopper.wait_for(30s), std::future_status::ready);
  ASSERT_EQ(reader.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(reader.get(), -1);
  close(fd);
  EXPECT_EQ(MountInfo(mnt_), "");
}

// ---- permissions ------------------------------------------------------------------------

class AgentMountTest : public MountTest {
 protected:
  AgentTree tree_;
};

TEST_F(AgentMountTest, AgentCannotReachAnotherAgentsFiles) {
  Mount(tree_.global, Caller::Agent("a"));
  EXPECT_EQ(StatErrno(P("b")), EACCES);
  EXPECT_EQ(OpenErrno(P("b/secret"), O_RDONLY), EACCES);
  EXPECT_NE(Sh("cat " + Q(P("b/secret")) + " 2>/dev/null").exit_code, 0);
  EXPECT_EQ(ReadPath(P("a/cfg")), "{\"v\":1}\n");
  int err = 0;
  auto listing = ReadDir(P("a"), &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(listing.count("cfg"), 1u);
  ReadDir(mnt_, &err);  // the global root is the admin's to list
  EXPECT_EQ(err, EACCES);
}

TEST_F(AgentMountTest, AdminWriteFileRefusesTheAgent) {
  Mount(tree_.global, Caller::Agent("a"));
  struct stat st {};
  ASSERT_EQ(StatErrno(P("a/cfg"), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);  // the agent's view of the mode
  EXPECT_EQ(OpenErrno(P("a/cfg"), O_WRONLY), EACCES);
  EXPECT_EQ(OpenErrno(P("a/cfg"), O_WRONLY | O_TRUNC), EACCES);
  EXPECT_NE(Sh("{ echo '{\"v\":2}' > " + Q(P("a/cfg")) + "; } 2>/dev/null").exit_code, 0);
  EXPECT_EQ(tree_.cfg->Get(), "{\"v\":1}\n");
  EXPECT_EQ(access(P("a/cfg").c_str(), W_OK), -1);
  EXPECT_EQ(errno, EACCES);
  EXPECT_EQ(access(P("a/cfg").c_str(), R_OK), 0);
}

TEST_F(AgentMountTest, AdminMayWriteTheSameFile) {
  Mount(tree_.global, Caller::Admin());
  EXPECT_EQ(Sh("echo '{\"v\":2}' > " + Q(P("a/cfg"))).exit_code, 0);
  EXPECT_EQ(tree_.cfg->Get(), "{\"v\":2}\n");
  EXPECT_EQ(ReadPath(P("b/secret")), "b only\n");
}

TEST_F(AgentMountTest, AgentLocalViewRootIsTheAgentDir) {
  Mount(tree_.local, Caller::Agent("a"));
  EXPECT_EQ(ReadPath(P("cfg")), "{\"v\":1}\n");
  NodeId a_id = tree_.a_dir->id();
  struct stat st {};
  ASSERT_EQ(StatErrno(P("cfg"), &st), 0);
  EXPECT_EQ(st.st_ino, ChildId(a_id, "cfg"));
  ASSERT_EQ(StatErrno(mnt_, &st), 0);
  EXPECT_EQ(st.st_ino, 1u);
  int err = 0;
  auto entries = ReadDir(mnt_, &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(entries["cfg"], ChildId(a_id, "cfg"));
  EXPECT_EQ(entries["notes"], ChildId(a_id, "notes"));
  EXPECT_EQ(Sh("echo '{\"n\":1}' > " + Q(P("notes/n1"))).exit_code, 0);
  EXPECT_EQ(tree_.notes->Doc("n1"), "{\"n\":1}\n");
  EXPECT_EQ(Sh("ls " + Q(P("notes"))).out, "n1\n");
}

// ---- mount lifecycle ------------------------------------------------------------------

class LifecycleTest : public MountTest {
 protected:
  AdminTree tree_;
};

TEST_F(LifecycleTest, StopLeavesAPlainDirectoryAndIsIdempotent) {
  Mount(tree_.fs, Caller::Admin());
  EXPECT_NE(MountInfo(mnt_), "");
  EXPECT_EQ(GenerationOf(ReadPath(P("snap"))), 1);
  mount_->Stop();
  mount_->Stop();
  struct stat st {};
  struct stat parent {};
  ASSERT_EQ(StatErrno(mnt_, &st), 0);
  ASSERT_EQ(StatErrno(tmp_.path(), &parent), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_dev, parent.st_dev);
  EXPECT_EQ(MountInfo(mnt_), "");
  EXPECT_EQ(StatErrno(P("snap")), ENOENT);
  mount_.reset();  // the destructor after Stop is a no-op
}

TEST_F(LifecycleTest, StopWithAnOpenFileStillReturns) {
  Mount(tree_.fs, Caller::Admin());
  int fd = open(P("ctl").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  mount_->Stop();
  EXPECT_EQ(MountInfo(mnt_), "");
  close(fd);
}

TEST_F(LifecycleTest, MountOptions) {
  Mount(tree_.fs, Caller::Admin());
  std::string info = MountInfo(mnt_);
  EXPECT_NE(info.find(" - fuse.agent9 agent9 "), std::string::npos) << info;
  EXPECT_EQ(info.find("allow_other"), std::string::npos) << info;
  EXPECT_EQ(info.find("default_permissions"), std::string::npos) << info;
  mount_->Stop();

  if (geteuid() != 0) GTEST_SKIP() << "allow_other needs root or user_allow_other";
  Mount(tree_.fs, Caller::Admin(), /*allow_other=*/true);
  info = MountInfo(mnt_);
  EXPECT_NE(info.find("allow_other"), std::string::npos) << info;
  EXPECT_NE(info.find("default_permissions"), std::string::npos) << info;
  EXPECT_EQ(GenerationOf(ReadPath(P("snap"))), 1);
}

TEST_F(LifecycleTest, CreatesMissingMountpointAndRejectsAFile) {
  mnt_ = tmp_.path() + "/deep/er/mnt";
  Mount(tree_.fs, Caller::Admin());
  EXPECT_EQ(GenerationOf(ReadPath(P("snap"))), 1);
  mount_->Stop();

  std::string file = tmp_.path() + "/file";
  std::ofstream(file) << "x";
  auto m = FuseMount::Start(tree_.fs, Caller::Admin(), {file, false, 4});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  auto none = FuseMount::Start(tree_.fs, Caller::Admin(), {"", false, 4});
  EXPECT_EQ(none.status().code(), Code::kInvalidArgument);
}

TEST_F(LifecycleTest, StaleMountFromACrashIsRecovered) {
  std::filesystem::create_directories(mnt_);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The "crashed daemon": mounts, then dies without unmounting.
    auto m = FuseMount::Start(tree_.fs, Caller::Admin(), {mnt_, false, 2});
    _exit(m.ok() ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
  int err = 0;
  for (int i = 0; i < 1000 && (err = StatErrno(mnt_)) != ENOTCONN; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(err, ENOTCONN);  // the dead daemon's mount is stale

  Mount(tree_.fs, Caller::Admin());
  int gen = GenerationOf(ReadPath(P("snap")));
  EXPECT_GT(gen, 0);
  mount_->Stop();
  EXPECT_EQ(StatErrno(mnt_), 0);
  EXPECT_EQ(MountInfo(mnt_), "");
}

// ---- Paged directories (agents/ at scale) -------------------------------------------------

// A directory that pages itself (Stat::paged), like agents/: List honours ListRange. It
// records how it was asked, so a test can check the adapter never took the whole listing.
class PagedDir final : public Node {
 public:
  PagedDir(NodeId id, size_t n)
      : Node(id, "", Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody}) {
    for (size_t i = 0; i < n; ++i) names_.insert(Name(i));
  }
  // Long names, so one readdir buffer holds only a few dozen.
  static std::string Name(size_t i) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "an-agent-with-a-rather-long-name-%06zu", i);
    return buf;
  }
  Stat GetStat() const override {
    Stat s = DirStat();
    s.paged = true;
    return s;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    MutexLock l(&mu_);
    if (!names_.count(std::string(name))) return Status::NotFound("no such entry", name);
    auto none = std::make_shared<const std::vector<TableEntry>>();
    return std::shared_ptr<Node>(
        std::make_shared<TableDir>(ChildId(id(), name), "", access(), none));
  }
  Result<std::vector<DirEntry>> List(const ListRange& range) override {
    MutexLock l(&mu_);
    ++calls_;
    if (range.limit == 0) ++whole_;
    largest_ = std::max(largest_, range.limit);
    std::vector<DirEntry> out;
    for (auto it = names_.upper_bound(range.after);
         it != names_.end() && (range.limit == 0 || out.size() < range.limit); ++it) {
      out.push_back({*it, NodeType::kDir, 0, 0});
    }
    return out;
  }
  void Add(const std::string& name) {
    MutexLock l(&mu_);
    names_.insert(name);
  }
  void Erase(const std::string& name) {
    MutexLock l(&mu_);
    names_.erase(name);
  }
  int calls() {
    MutexLock l(&mu_);
    return calls_;
  }
  int whole() {
    MutexLock l(&mu_);
    return whole_;
  }
  size_t largest() {
    MutexLock l(&mu_);
    return largest_;
  }

 private:
  Mutex mu_;
  std::set<std::string> names_ GUARDED_BY(mu_);
  int calls_ GUARDED_BY(mu_) = 0;
  int whole_ GUARDED_BY(mu_) = 0;
  size_t largest_ GUARDED_BY(mu_) = 0;
};

class PagedDirMountTest : public MountTest {
 protected:
  static constexpr size_t kEntries = 2500;  // several pages of the adapter's 1000
  void SetUp() override {
    MountTest::SetUp();
    if (IsSkipped()) return;
    auto many = many_;
    auto root = std::make_shared<TableDir>(
        kRootNodeId, "", Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody},
        Entries({Entry("many", NodeType::kDir, [many](NodeId) { return many; })}));
    Mount(std::make_shared<FileService>(root, [](std::string_view) { return false; }),
          Caller::Admin());
  }
  // readdir(3) names in the order they come, without "." and "..".
  static std::vector<std::string> Names(DIR* d, size_t max = SIZE_MAX) {
    std::vector<std::string> out;
    while (out.size() < max) {
      dirent* e = readdir(d);
      if (!e) break;
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    return out;
  }
  std::shared_ptr<PagedDir> many_ =
      std::make_shared<PagedDir>(ChildId(kRootNodeId, "many"), kEntries);
};

TEST_F(PagedDirMountTest, EveryEntryExactlyOnceInOrderWithBoundedPages) {
  DIR* d = opendir(P("many").c_str());
  ASSERT_NE(d, nullptr) << strerror(errno);
  std::vector<std::string> names = Names(d);
  closedir(d);
  ASSERT_EQ(names.size(), kEntries);
  for (size_t i = 0; i < kEntries; ++i) ASSERT_EQ(names[i], PagedDir::Name(i)) << i;
  // Page by page: never the whole listing, never more than a page at once.
  EXPECT_EQ(many_->whole(), 0);
  EXPECT_GE(many_->calls(), 3);
  EXPECT_LE(many_->largest(), 1000u);
  // The shell sees the same.
  ShellResult r = Sh("ls -f " + Q(P("many")) + " | grep -c '^an-agent'");
  EXPECT_EQ(r.out, std::to_string(kEntries) + "\n");
  // readdir's inode numbers are the ones a lookup gives.
  struct stat st {};
  ASSERT_EQ(StatErrno(P("many/" + PagedDir::Name(1234)), &st), 0);
  EXPECT_EQ(st.st_ino, ChildId(ChildId(kRootNodeId, "many"), PagedDir::Name(1234)));
}

TEST_F(PagedDirMountTest, SeekdirAndRewinddirResumeAtTheRightEntry) {
  DIR* d = opendir(P("many").c_str());
  ASSERT_NE(d, nullptr) << strerror(errno);
  std::vector<std::string> head = Names(d, 10);
  ASSERT_EQ(head.size(), 10u);
  long pos = telldir(d);                           // just after entry 9
  std::vector<std::string> more = Names(d, 1500);  // well into the second page
  ASSERT_EQ(more.size(), 1500u);
  EXPECT_EQ(more.back(), PagedDir::Name(1509));
  seekdir(d, pos);  // backwards, across a page boundary
  std::vector<std::string> again = Names(d, 3);
  EXPECT_EQ(again,
            (std::vector<std::string>{PagedDir::Name(10), PagedDir::Name(11), PagedDir::Name(12)}));
  rewinddir(d);
  std::vector<std::string> all = Names(d);
  closedir(d);
  ASSERT_EQ(all.size(), kEntries);
  EXPECT_EQ(all.front(), PagedDir::Name(0));
  EXPECT_EQ(all.back(), PagedDir::Name(kEntries - 1));
}

TEST_F(PagedDirMountTest, ChangesDuringAWalkNeitherRepeatNorSkipOtherEntries) {
  DIR* d = opendir(P("many").c_str());
  ASSERT_NE(d, nullptr) << strerror(errno);
  std::vector<std::string> names = Names(d, 100);
  // Behind the cursor (already listed), ahead of it, and one removed before it is reached.
  many_->Add(PagedDir::Name(0) + "-new");
  many_->Add(PagedDir::Name(2000) + "-new");
  many_->Erase(PagedDir::Name(2100));
  std::vector<std::string> rest = Names(d);
  closedir(d);
  names.insert(names.end(), rest.begin(), rest.end());
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size()) << "an entry came twice";
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(unique.count(PagedDir::Name(2000) + "-new"), 1u);
  EXPECT_EQ(unique.count(PagedDir::Name(2100)), 0u);
  for (size_t i = 0; i < kEntries; ++i) {
    if (i != 2100) {
      EXPECT_EQ(unique.count(PagedDir::Name(i)), 1u) << i;
    }
  }
}

}  // namespace
}  // namespace agent9
