#include "tick/agent_bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <time.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "fs/base/path.h"
#include "tick/agent_bundle_internal.h"

#ifndef AGENT9_VERSION
#define AGENT9_VERSION "dev"
#endif

namespace agent9 {

// ---- time ---------------------------------------------------------------------------------

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  auto digits = [&](size_t at, size_t n) -> std::optional<int> {
    if (at + n > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return std::nullopt;
  }
  auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
  auto h = digits(11, 2), mi = digits(14, 2), se = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 ||
      *mi > 59 || *se > 60) {
    return std::nullopt;
  }
  int ms = 0;
  if (s.size() != 20) {
    if (s.size() != 24 || s[19] != '.') return std::nullopt;
    auto f = digits(20, 3);
    if (!f) return std::nullopt;
    ms = *f;
  }
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = *se;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

namespace {

constexpr size_t kSmallEntryBytes = 64 * 1024;       // manifest.json, config.json
constexpr size_t kDocEntryBytes = size_t{16} << 20;  // state, alarms, documents

Json TimeJson(std::optional<int64_t> ms) { return ms ? Json(Rfc3339(*ms)) : Json(nullptr); }

// ---- tar ----------------------------------------------------------------------------------

struct WriteArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ReadArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string ArchiveMessage(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown libarchive error";
}

// Builds a tar (pax restricted: plain ustar unless a name needs more) in memory.
class TarWriter {
 public:
  explicit TarWriter(int64_t mtime_ms) : mtime_ms_(mtime_ms) {}

  Status Open() {
    a_.reset(archive_write_new());
    if (!a_) return Status::Internal("export: out of memory");
    if (archive_write_set_format_pax_restricted(a_.get()) != ARCHIVE_OK ||
        archive_write_open(a_.get(), this, nullptr, &TarWriter::WriteCb, nullptr) != ARCHIVE_OK) {
      return Status::Internal("export: tar", ArchiveMessage(a_.get()));
    }
    return Status::OK();
  }
  Status AddDir(const std::string& name) { return Add(name + "/", "", AE_IFDIR, mtime_ms_); }
  Status AddFile(const std::string& name, std::string_view data) {
    return Add(name, data, AE_IFREG, mtime_ms_);
  }
  Status AddFile(const std::string& name, std::string_view data, int64_t mtime_ms) {
    return Add(name, data, AE_IFREG, mtime_ms);
  }
  Result<std::string> Finish() {
    if (archive_write_close(a_.get()) != ARCHIVE_OK) {
      return Status::Internal("export: tar", ArchiveMessage(a_.get()));
    }
    if (out_.size() > kMaxBundleBytes) {
      return Status::TooLarge("bundle over " + std::to_string(kMaxBundleBytes >> 20) + " MiB");
    }
    return std::move(out_);
  }

 private:
  static la_ssize_t WriteCb(archive*, void* self, const void* buf, size_t n) {
    static_cast<TarWriter*>(self)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  Status Add(const std::string& name, std::string_view data, unsigned type, int64_t mtime_ms) {
    if (out_.size() + data.size() > kMaxBundleBytes) {
      return Status::TooLarge("bundle over " + std::to_string(kMaxBundleBytes >> 20) + " MiB");
    }
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    archive_entry_set_mtime(e.get(), mtime_ms / 1000, (mtime_ms % 1000) * 1'000'000);
    if (archive_write_header(a_.get(), e.get()) != ARCHIVE_OK) {
      return Status::Internal("export: tar entry " + name, ArchiveMessage(a_.get()));
    }
    if (!data.empty() && archive_write_data(a_.get(), data.data(), data.size()) !=
                             static_cast<la_ssize_t>(data.size())) {
      return Status::Internal("export: tar entry " + name, ArchiveMessage(a_.get()));
    }
    return Status::OK();
  }

  int64_t mtime_ms_;
  std::string out_;
  std::unique_ptr<archive, WriteArchiveFree> a_;
};

constexpr std::pair<std::string_view, size_t> kFiles[] = {
    {"manifest.json", kSmallEntryBytes},   {"config.json", kSmallEntryBytes},
    {"state.json", kDocEntryBytes},        {"alarms.json", kDocEntryBytes},
    {"inbox.jsonl", kMaxBundleBytes},      {"events.jsonl", kMaxBundleBytes},
    {"deadletter.jsonl", kMaxBundleBytes}, {"outbox.jsonl", kMaxBundleBytes},
    {"trajectory.jsonl", kMaxBundleBytes}};

Status BadEntry(std::string_view name, std::string_view why) {
  return Status::InvalidArgument("bundle entry '" + std::string(name.substr(0, 255)) + "'", why);
}

// An entry's name, checked: relative, no "." or ".." or empty segments (a leading "./" and a
// directory's trailing '/' are dropped). Returns the clean name ("" for the bundle root).
Result<std::string> CleanEntryName(std::string_view raw, bool is_dir) {
  if (raw.empty()) return BadEntry(raw, "empty name");
  if (raw.size() > Path::kMaxPath) return BadEntry(raw, "name too long");
  if (raw.front() == '/') return BadEntry(raw, "absolute paths are not allowed");
  std::string_view name = raw;
  if (name.starts_with("./")) name.remove_prefix(2);
  if (is_dir && !name.empty() && name.back() == '/') name.remove_suffix(1);
  if (is_dir && (name.empty() || name == ".")) return std::string();
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view seg = name.substr(start, end - start);
    if (seg == "..") return BadEntry(raw, "'..' is not allowed");
    if (seg.empty() || seg == ".") return BadEntry(raw, "empty or '.' path segment");
    start = end + 1;
  }
  return std::string(name);
}

// Where an entry may hold at most this many bytes; 0 = not a file a bundle may hold.
size_t FileLimit(std::string_view name) {
  for (const auto& [f, limit] : kFiles) {
    if (name == f) return limit;
  }
  for (const auto& p : kBundleDocPlaces) {
    if (name.starts_with(p.prefix) && name.size() > p.prefix.size()) return kDocEntryBytes;
  }
  return 0;
}

}  // namespace

// Reads every entry of a tar held in memory, refusing anything but known regular files and
// directories (no links, devices or FIFOs), duplicates, and entries over their limits.
Result<std::map<std::string, TarFile>> ReadBundleTar(
    std::string_view tar, const std::function<bool(std::string_view)>& module_file) {
  if (tar.empty()) return Status::InvalidArgument("bundle is empty (want a tar file)");
  if (tar.size() > kMaxBundleBytes) {
    return Status::TooLarge("bundle over " + std::to_string(kMaxBundleBytes >> 20) + " MiB");
  }
  std::unique_ptr<archive, ReadArchiveFree> a(archive_read_new());
  if (!a) return Status::Internal("import: out of memory");
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), tar.data(), tar.size()) != ARCHIVE_OK) {
    return Status::InvalidArgument("bundle is not a tar file", ArchiveMessage(a.get()));
  }
  std::map<std::string, TarFile> files;
  std::set<std::string> seen;
  size_t total = 0;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      return Status::InvalidArgument("bundle is not a valid tar file", ArchiveMessage(a.get()));
    }
    const char* raw_name = archive_entry_pathname(e);
    std::string raw = raw_name ? raw_name : "";
    if (archive_entry_hardlink(e)) return BadEntry(raw, "hard links are not allowed");
    auto type = archive_entry_filetype(e);
    if (type == AE_IFLNK || archive_entry_symlink(e)) {
      return BadEntry(raw, "symbolic links are not allowed");
    }
    if (type != AE_IFREG && type != AE_IFDIR) {
      return BadEntry(raw, "only regular files and directories are allowed");
    }
    bool is_dir = type == AE_IFDIR;
    AGENT9_ASSIGN_OR_RETURN(std::string name, CleanEntryName(raw, is_dir));
    if (!seen.insert(is_dir ? name + "/" : name).second) return BadEntry(raw, "duplicate entry");
    if (is_dir) {
      bool known = name.empty();
      for (auto d : kBundleDirs) known = known || name == d;
      if (!known) return BadEntry(raw, "unknown directory");
      continue;
    }
    size_t limit = FileLimit(name);
    if (limit == 0 && module_file && module_file(name)) limit = kSmallEntryBytes;
    if (limit == 0) return BadEntry(raw, "unknown entry");
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > static_cast<la_int64_t>(limit)) {
      return Status::TooLarge("bundle entry '" + name + "' over " + std::to_string(limit) +
                              " bytes");
    }
    TarFile f;
    if (archive_entry_mtime_is_set(e)) {
      f.mtime_ms = static_cast<int64_t>(archive_entry_mtime(e)) * 1000 +
                   archive_entry_mtime_nsec(e) / 1'000'000;
    }
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) {
        return Status::InvalidArgument("bundle entry '" + name + "' cannot be read",
                                       ArchiveMessage(a.get()));
      }
      if (n == 0) break;
      total += static_cast<size_t>(n);
      if (f.data.size() + static_cast<size_t>(n) > limit) {
        return Status::TooLarge("bundle entry '" + name + "' over " + std::to_string(limit) +
                                " bytes");
      }
      if (total > kMaxBundleBytes) {
        return Status::TooLarge("bundle over " + std::to_string(kMaxBundleBytes >> 20) + " MiB");
      }
      f.data.append(buf.data(), static_cast<size_t>(n));
    }
    files.emplace(std::move(name), std::move(f));
  }
  return files;
}

namespace {

// ---- export -------------------------------------------------------------------------------

struct Doc {
  std::string path;  // in the bundle
  std::string body;
  int64_t updated_at = 0;
};

std::string DocPath(const std::string& ns, const std::string& name) {
  if (ns == "goals") return "goals/" + name;
  if (ns == "conversations" || ns == "patterns") return "memory/" + ns + "/" + name;
  return "";  // hud/settings goes into the manifest; other namespaces are not exported
}

Result<Json> StoredJson(const std::string& text, std::string_view what) {
  auto j = ParseJson(text, what);
  if (!j.ok()) return Status::Internal("export: stored " + std::string(what) + " is damaged");
  return j;
}

}  // namespace

Result<ImportMode> ParseImportMode(std::string_view mode) {
  if (mode == "restore") return ImportMode::kRestore;
  if (mode == "clone") return ImportMode::kClone;
  return Status::InvalidArgument("import mode must be restore or clone", mode);
}

std::string_view ImportModeName(ImportMode mode) {
  switch (mode) {
    case ImportMode::kRestore:
      return "restore";
    case ImportMode::kClone:
      return "clone";
  }
  return "restore";
}

Result<std::string> ExportAgent(const AgentService& agents, std::string_view id,
                                const ExportRequest& req) {
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  int64_t now = agents.clock()->NowMs();
  Json manifest;
  std::string config, state, inbox, events, dead, outbox, trajectory;
  Json alarms = Json::array();
  std::vector<Doc> docs;
  std::vector<BundleFile> module_files;
  // One read transaction: the bundle is one consistent snapshot of the agent.
  AGENT9_RETURN_IF_ERROR(agents.db()->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * a, c.Prepare("SELECT kind, state, config, state_json, created_at, last_tick_at, "
                            "last_tick_cause, tick_count, init_pending FROM agents WHERE id=?"));
    a->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, a->Step());
    if (!row) return Status::NotFound("no such agent", id);
    auto cfg = AgentConfig::Parse(a->Text(2));
    if (!cfg.ok()) return Status::Internal("export: the stored config is damaged");
    config = PrettyJson(cfg->ToJson());
    AGENT9_ASSIGN_OR_RETURN(Json st, StoredJson(a->Text(3), "state"));
    state = PrettyJson(st);
    std::string cause = a->Text(6);
    // The modules fill pubkey and npub (identity) below.
    manifest = Json{
        {"format", kBundleFormat},
        {"agent", std::string(id)},
        {"pubkey", nullptr},
        {"npub", nullptr},
        {"exported_at", Rfc3339(now)},
        {"runtime", AGENT9_VERSION},
        {"kind", a->Text(0)},
        {"state", a->Text(1)},
        {"created_at", Rfc3339(a->Int(4))},
        {"tick_count", a->Int(7)},
        {"last_tick_at", TimeJson(a->IsNull(5) ? std::nullopt : std::optional<int64_t>(a->Int(5)))},
        {"last_tick_cause", cause.empty() ? Json(nullptr) : Json(cause)},
        {"init_pending", a->Int(8) != 0},
        {"hud_settings", nullptr}};
    a->Reset();

    AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("SELECT ns, name, body, updated_at FROM docs "
                                                "WHERE agent=? ORDER BY ns, name"));
    d->Bind(1, id);
    while (true) {
      AGENT9_ASSIGN_OR_RETURN(bool more, d->Step());
      if (!more) break;
      std::string ns = d->Text(0), name = d->Text(1);
      if (ns == "hud" && name == "settings") {
        AGENT9_ASSIGN_OR_RETURN(manifest["hud_settings"], StoredJson(d->Text(2), "hud/settings"));
      } else if (std::string path = DocPath(ns, name); !path.empty()) {
        docs.push_back(Doc{std::move(path), d->Text(2), d->Int(3)});
      }
    }
    auto each = [&](std::string_view sql, const std::function<Status(Stmt&)>& fn) -> Status {
      AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(sql));
      s->Bind(1, id);
      while (true) {
        AGENT9_ASSIGN_OR_RETURN(bool more, s->Step());
        if (!more) return Status::OK();
        AGENT9_RETURN_IF_ERROR(fn(*s));
      }
    };
    // "idempotent": the sender gave the message id, so a resend of it is a duplicate.
    AGENT9_RETURN_IF_ERROR(
        each("SELECT seq, envelope, attempts, ts, EXISTS(SELECT 1 FROM message_ids m WHERE "
             "m.agent=i.agent AND m.msg_id=i.msg_id AND m.seq=i.seq) FROM inbox i WHERE agent=? "
             "ORDER BY seq",
             [&](Stmt& s) -> Status {
               AGENT9_ASSIGN_OR_RETURN(Json env, StoredJson(s.Text(1), "envelope"));
               inbox += DumpJson(Json{{"seq", s.Int(0)},
                                      {"envelope", env},
                                      {"attempts", s.Int(2)},
                                      {"ts", Rfc3339(s.Int(3))},
                                      {"idempotent", s.Int(4) != 0}}) +
                        "\n";
               return Status::OK();
             }));
    AGENT9_RETURN_IF_ERROR(
        each("SELECT seq, event, attempts, at FROM events_in WHERE agent=? ORDER BY seq",
             [&](Stmt& s) -> Status {
               AGENT9_ASSIGN_OR_RETURN(Json ev, StoredJson(s.Text(1), "event"));
               events += DumpJson(Json{{"seq", s.Int(0)},
                                       {"event", ev},
                                       {"attempts", s.Int(2)},
                                       {"at", Rfc3339(s.Int(3))}}) +
                         "\n";
               return Status::OK();
             }));
    AGENT9_RETURN_IF_ERROR(
        each("SELECT seq, envelope, reason, attempts, at, EXISTS(SELECT 1 FROM message_ids m WHERE "
             "m.agent=d.agent AND m.seq=d.seq AND m.msg_id=json_extract(d.envelope, '$.id')) FROM "
             "deadletter d WHERE agent=? ORDER BY seq",
             [&](Stmt& s) -> Status {
               AGENT9_ASSIGN_OR_RETURN(Json env, StoredJson(s.Text(1), "dead letter"));
               dead += DumpJson(Json{{"seq", s.Int(0)},
                                     {"envelope", env},
                                     {"reason", s.Text(2)},
                                     {"attempts", s.Int(3)},
                                     {"at", Rfc3339(s.Int(4))},
                                     {"idempotent", s.Int(5) != 0}}) +
                       "\n";
               return Status::OK();
             }));
    AGENT9_RETURN_IF_ERROR(each(
        "SELECT seq, event, at FROM outbox WHERE agent=? ORDER BY seq", [&](Stmt& s) -> Status {
          AGENT9_ASSIGN_OR_RETURN(Json ev, StoredJson(s.Text(1), "outbox event"));
          outbox +=
              DumpJson(Json{{"seq", s.Int(0)}, {"event", ev}, {"at", Rfc3339(s.Int(2))}}) + "\n";
          return Status::OK();
        }));
    AGENT9_RETURN_IF_ERROR(
        each("SELECT record FROM trajectory WHERE agent=? ORDER BY n", [&](Stmt& s) -> Status {
          trajectory += s.Text(0) + "\n";
          return Status::OK();
        }));
    AGENT9_RETURN_IF_ERROR(
        each("SELECT id, due_at, every_ms, payload, attempts FROM alarms WHERE agent=? ORDER BY id",
             [&](Stmt& s) -> Status {
               AGENT9_ASSIGN_OR_RETURN(Json payload, StoredJson(s.Text(3), "alarm payload"));
               alarms.push_back(Json{{"id", s.Int(0)},
                                     {"due_at", Rfc3339(s.Int(1))},
                                     {"every_ms", s.IsNull(2) ? Json(nullptr) : Json(s.Int(2))},
                                     {"payload", payload},
                                     {"attempts", s.Int(4)}});
               return Status::OK();
             }));
    return agents.modules().Export(c, id, req, &manifest, &module_files);
  }));

  TarWriter w(now);
  AGENT9_RETURN_IF_ERROR(w.Open());
  AGENT9_RETURN_IF_ERROR(w.AddFile("manifest.json", PrettyJson(manifest)));
  AGENT9_RETURN_IF_ERROR(w.AddFile("config.json", config));
  AGENT9_RETURN_IF_ERROR(w.AddFile("state.json", state));
  // Each directory, then its documents (docs are sorted by path, so each place's are together).
  std::sort(docs.begin(), docs.end(), [](const Doc& a, const Doc& b) { return a.path < b.path; });
  for (auto dir : kBundleDirs) {
    AGENT9_RETURN_IF_ERROR(w.AddDir(std::string(dir)));
    std::string prefix = std::string(dir) + "/";
    for (const auto& d : docs) {
      if (d.path.starts_with(prefix) && d.path.find('/', prefix.size()) == std::string::npos) {
        AGENT9_RETURN_IF_ERROR(w.AddFile(d.path, d.body, d.updated_at));
      }
    }
  }
  AGENT9_RETURN_IF_ERROR(w.AddFile("inbox.jsonl", inbox));
  AGENT9_RETURN_IF_ERROR(w.AddFile("events.jsonl", events));
  AGENT9_RETURN_IF_ERROR(w.AddFile("deadletter.jsonl", dead));
  AGENT9_RETURN_IF_ERROR(w.AddFile("outbox.jsonl", outbox));
  AGENT9_RETURN_IF_ERROR(w.AddFile("trajectory.jsonl", trajectory));
  AGENT9_RETURN_IF_ERROR(w.AddFile("alarms.json", PrettyJson(alarms)));
  for (const auto& f : module_files) AGENT9_RETURN_IF_ERROR(w.AddFile(f.name, f.data));
  return w.Finish();
}
}  // namespace agent9
