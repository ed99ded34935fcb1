#include "containers/local_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "containers/local_limits.h"

namespace agent9::containers {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

bool HasWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

// The value after "key " in a flat keyed file (cpu.stat, memory.events, pids.events).
int64_t KeyedValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  int64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

int64_t Number(const std::string& path) {
  std::string t = ReadText(path);
  return t.empty() ? 0 : strtoll(t.c_str(), nullptr, 10);
}

// The cgroup2 mount point, from /proc/self/mountinfo ("" when none).
std::string Cgroup2Mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream f(line);
    std::string id, parent, devno, root, mount;
    f >> id >> parent >> devno >> root >> mount;
    return mount;
  }
  return "";
}

// The daemon's cgroup v2 path ("0::/path" in /proc/self/cgroup).
std::string OwnCgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("0::")) return line.substr(3);
  }
  return "";
}

bool Enable(const std::string& dir) {
  return WriteText(dir + "/cgroup.subtree_control", "+memory +pids");
}

bool Enabled(const std::string& dir) {
  std::string sub = ReadText(dir + "/cgroup.subtree_control");
  return HasWord(sub, "memory") && HasWord(sub, "pids");
}

}  // namespace

Result<std::unique_ptr<CgroupTree>> CgroupTree::Open() {
  std::string mount = Cgroup2Mount();
  if (mount.empty()) return Status::Unavailable("no cgroup2 hierarchy");
  std::string own = OwnCgroup();
  if (own.empty()) return Status::Unavailable("the daemon is in no cgroup2 cgroup");
  std::string dir = mount + (own == "/" ? "" : own);
  std::string controllers = ReadText(dir + "/cgroup.controllers");
  if (!HasWord(controllers, "memory") || !HasWord(controllers, "pids")) {
    return Status::Unavailable("cgroup2 lacks the memory or pids controller");
  }
  if (access((dir + "/cgroup.subtree_control").c_str(), W_OK) != 0) {
    return Status::Unavailable("cgroup not writable", dir);
  }
  if (!Enabled(dir)) {
    // No process may stay in a cgroup that hands controllers to its children: the daemon
    // moves to a leaf of its own first (the root cgroup is exempt).
    if (own != "/") {
      std::string leaf = dir + "/agent9-daemon";
      mkdir(leaf.c_str(), 0755);
      if (!WriteText(leaf + "/cgroup.procs", std::to_string(getpid()))) {
        return Status::Unavailable("cannot move the daemon into", leaf);
      }
    }
    if (!Enable(dir)) return Status::Unavailable("cannot enable memory and pids in", dir);
  }
  std::string base = dir + "/agent9-sandboxes";
  if (mkdir(base.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::Unavailable("mkdir " + base, strerror(errno));
  }
  if (!Enabled(base) && !Enable(base)) {
    return Status::Unavailable("cannot enable memory and pids in", base);
  }
  return std::unique_ptr<CgroupTree>(new CgroupTree(base));
}

Result<std::string> CgroupTree::Create(const std::string& id, int64_t memory_bytes,
                                       int64_t pids_max) {
  std::string dir = base_ + "/" + id;
  if (mkdir(dir.c_str(), 0755) != 0) {
    if (errno != EEXIST) return Status::Internal("mkdir " + dir, strerror(errno));
    Kill(dir);  // a leftover of the same id
    if (mkdir(dir.c_str(), 0755) != 0) return Status::Internal("mkdir " + dir, strerror(errno));
  }
  bool ok = WriteText(dir + "/memory.max", std::to_string(memory_bytes)) &&
            WriteText(dir + "/pids.max", std::to_string(pids_max));
  if (access((dir + "/memory.swap.max").c_str(), F_OK) == 0) {
    ok = ok && WriteText(dir + "/memory.swap.max", "0");
  }
  if (!ok) {
    rmdir(dir.c_str());
    return Status::Internal("cannot set the limits of", dir);
  }
  return dir;
}

CgroupStats CgroupTree::Read(const std::string& dir) {
  CgroupStats s;
  s.memory_bytes = Number(dir + "/memory.current");
  s.memory_peak = Number(dir + "/memory.peak");
  s.pids = Number(dir + "/pids.current");
  s.cpu_ms = KeyedValue(ReadText(dir + "/cpu.stat"), "usage_usec") / 1000;
  s.oom_kills = KeyedValue(ReadText(dir + "/memory.events"), "oom_kill");
  s.pids_refused = KeyedValue(ReadText(dir + "/pids.events"), "max");
  return s;
}

void CgroupTree::KillNow(const std::string& dir) { WriteText(dir + "/cgroup.kill", "1"); }

bool CgroupTree::Kill(const std::string& dir) {
  int64_t deadline = MonoMs() + 5000;
  for (;;) {
    WriteText(dir + "/cgroup.kill", "1");
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (MonoMs() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Status CgroupTree::Sweep() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base_, ec)) {
    if (!e.is_directory(ec)) continue;
    if (!Kill(e.path().string()))
      return Status::Internal("cannot remove cgroup", e.path().string());
  }
  return Status::OK();
}

}  // namespace agent9::containers
