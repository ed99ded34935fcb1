// ImportAgent: checking a bundle as hostile input, then writing the agent in one transaction.
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/path.h"
#include "tick/agent_bundle.h"
#include "tick/agent_bundle_internal.h"
#include "tick/agent_docs.h"
#include "tick/deadletter.h"
#include "tick/envelope.h"
#include "tick/hud_settings.h"
#include "tick/tick_store.h"

namespace agent9 {
namespace {

constexpr int64_t kMaxCount = int64_t{1} << 53;  // seqs, ids, attempts, tick counts

// ---- reading and checking the bundle ------------------------------------------------------

// st with "<entry>: " in front of its message.
Status In(std::string_view entry, const Status& st) {
  if (st.ok()) return st;
  return Status(st.code(), std::string(entry) + ": " + st.message());
}

// Typed access to one object of the bundle; every failure names the entry and the field.
class Fields {
 public:
  Fields(const Json& obj, std::string where) : o_(obj), where_(std::move(where)) {}
  const std::string& where() const { return where_; }
  const Json& obj() const { return o_; }
  Status Bad(std::string_view key, std::string_view want) const {
    return Status::InvalidArgument(where_ + ": \"" + std::string(key) + "\" must be " +
                                   std::string(want));
  }
  const Json* Find(std::string_view key) const {
    auto it = o_.find(std::string(key));
    return it == o_.end() ? nullptr : &*it;
  }
  bool IsNull(std::string_view key) const {
    const Json* v = Find(key);
    return !v || v->is_null();
  }
  Result<int64_t> Int(std::string_view key, int64_t lo, int64_t hi) const {
    const Json* v = Find(key);
    std::string want = "an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!v || !v->is_number_integer()) return Bad(key, want);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(hi)) {
      return Bad(key, want);
    }
    int64_t n = v->get<int64_t>();
    if (n < lo || n > hi) return Bad(key, want);
    return n;
  }
  Result<int64_t> Time(std::string_view key) const {
    const Json* v = Find(key);
    std::optional<int64_t> ms;
    if (v && v->is_string()) ms = ParseRfc3339(v->get<std::string>());
    if (!ms) return Bad(key, "an RFC 3339 UTC time (2026-01-02T03:04:05.678Z)");
    return *ms;
  }
  Result<std::string> String(std::string_view key) const {
    const Json* v = Find(key);
    if (!v || !v->is_string()) return Bad(key, "a string");
    return v->get<std::string>();
  }
  Result<bool> Bool(std::string_view key) const {  // absent or null = false
    const Json* v = Find(key);
    if (!v || v->is_null()) return false;
    if (!v->is_boolean()) return Bad(key, "true or false");
    return v->get<bool>();
  }
  Result<Json> Any(std::string_view key) const {
    const Json* v = Find(key);
    if (!v) return Status::InvalidArgument(where_ + ": \"" + std::string(key) + "\" is missing");
    return *v;
  }

 private:
  const Json& o_;
  std::string where_;
};

// Calls fn for every non-blank line of a JSON lines entry; each line must be an object.
Status ForEachLine(std::string_view entry, std::string_view text,
                   const std::function<Status(const Fields&)>& fn) {
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string where = std::string(entry) + " line " + std::to_string(line_no);
    AGENT9_ASSIGN_OR_RETURN(Json j, ParseJson(line, where));  // refuses NUL, as stores do
    if (!j.is_object()) return Status::InvalidArgument(where + " is not a JSON object");
    AGENT9_RETURN_IF_ERROR(fn(Fields(j, where)));
  }
  return Status::OK();
}

struct QueueRow {
  int64_t seq = 0;
  std::string text;  // the envelope or event, canonical JSON
  int64_t attempts = 0;
  int64_t at = 0;
  std::string msg_id, sender, reason;
  bool idempotent = false;  // msg_id is the sender's: keep it as a duplicate check
};

struct AlarmRow {
  int64_t id = 0;
  int64_t due_at = 0;
  std::optional<int64_t> every_ms;
  std::string payload;
  int64_t attempts = 0;
};

struct DocRow {
  std::string ns, name, body;
  int64_t updated_at = 0;
};

struct Bundle {
  std::string agent;
  AgentConfig config;
  std::string state_text;
  std::string lifecycle = "active";
  int64_t created_at = 0;
  int64_t tick_count = 0;
  std::optional<int64_t> last_tick_at;
  std::string last_tick_cause;
  bool init_pending = false;
  std::optional<Json> hud;  // cleaned hud/settings, when the agent had them
  std::vector<DocRow> docs;
  std::vector<QueueRow> inbox, events, dead, outbox;
  std::vector<std::pair<Json, int64_t>> trajectory;  // record, started at
  std::vector<AlarmRow> alarms;
  Json manifest;                                    // for the modules
  std::map<std::string, std::string> module_files;  // entries the modules read
};

Status Ascending(const std::vector<QueueRow>& rows, int64_t seq, const Fields& f) {
  if (!rows.empty() && seq <= rows.back().seq) {
    return Status::InvalidArgument(f.where() + ": seq " + std::to_string(seq) +
                                   " is out of order or repeated");
  }
  return Status::OK();
}

// A message envelope: an object with a body; id and from, when present, are strings.
Status CheckEnvelope(const Json& env, const std::string& where, QueueRow* row) {
  if (!env.is_object() || !env.contains("body")) {
    return Status::InvalidArgument(where + ": the envelope must be a JSON object with a body");
  }
  Fields f(env, where + ": envelope");
  if (!f.IsNull("id")) {
    AGENT9_ASSIGN_OR_RETURN(row->msg_id, f.String("id"));
    if (row->msg_id.empty() || row->msg_id.size() > kMaxMessageIdBytes) {
      return f.Bad("id", "1 to " + std::to_string(kMaxMessageIdBytes) + " bytes");
    }
  }
  if (!f.IsNull("from")) {
    AGENT9_ASSIGN_OR_RETURN(row->sender, f.String("from"));
  }
  row->text = DumpJson(env);
  return Status::OK();
}

// Reads manifest.json; b->config must be parsed already (the manifest's kind must match).
Status ParseManifest(const std::string& text, Bundle* b) {
  AGENT9_ASSIGN_OR_RETURN(Json m, ParseJsonObject(text, "manifest.json"));
  Fields f(m, "manifest.json");
  const Json* format = f.Find("format");
  if (!format || !format->is_number_integer() || format->get<int64_t>() != kBundleFormat) {
    return Status::InvalidArgument("manifest.json: unsupported bundle format " +
                                   (format ? DumpJson(*format) : std::string("(none)")) +
                                   "; this runtime reads format " + std::to_string(kBundleFormat));
  }
  AGENT9_ASSIGN_OR_RETURN(b->agent, f.String("agent"));
  AGENT9_RETURN_IF_ERROR(In("manifest.json: agent", ValidateAgentId(b->agent)));
  AGENT9_ASSIGN_OR_RETURN(b->created_at, f.Time("created_at"));
  if (!f.IsNull("state")) {
    AGENT9_ASSIGN_OR_RETURN(b->lifecycle, f.String("state"));
    if (b->lifecycle != "active" && b->lifecycle != "hibernated" && b->lifecycle != "failed") {
      return f.Bad("state", "active, hibernated or failed");
    }
  }
  if (!f.IsNull("tick_count")) {
    AGENT9_ASSIGN_OR_RETURN(b->tick_count, f.Int("tick_count", 0, kMaxCount));
  }
  if (!f.IsNull("last_tick_at")) {
    AGENT9_ASSIGN_OR_RETURN(b->last_tick_at, f.Time("last_tick_at"));
  }
  if (!f.IsNull("last_tick_cause")) {
    AGENT9_ASSIGN_OR_RETURN(b->last_tick_cause, f.String("last_tick_cause"));
  }
  AGENT9_ASSIGN_OR_RETURN(b->init_pending, f.Bool("init_pending"));
  if (!f.IsNull("hud_settings")) {
    AGENT9_ASSIGN_OR_RETURN(Json hud, f.Any("hud_settings"));
    auto clean = CleanHudSettings(hud);
    if (!clean.ok()) return In("manifest.json: hud_settings", clean.status());
    b->hud = *clean;
  }
  if (!f.IsNull("kind")) {
    AGENT9_ASSIGN_OR_RETURN(std::string kind, f.String("kind"));
    if (kind != b->config.kind) {
      return Status::InvalidArgument("manifest.json: kind '" + kind +
                                     "' differs from config.json's '" + b->config.kind + "'");
    }
  }
  return Status::OK();
}

Status ParseQueues(const std::map<std::string, TarFile>& files, Bundle* b) {
  auto text = [&](std::string_view name) -> std::string_view {
    auto it = files.find(std::string(name));
    return it == files.end() ? std::string_view() : std::string_view(it->second.data);
  };
  AGENT9_RETURN_IF_ERROR(
      ForEachLine("inbox.jsonl", text("inbox.jsonl"), [&](const Fields& f) -> Status {
        QueueRow r;
        AGENT9_ASSIGN_OR_RETURN(r.seq, f.Int("seq", 1, kMaxCount));
        AGENT9_RETURN_IF_ERROR(Ascending(b->inbox, r.seq, f));
        AGENT9_ASSIGN_OR_RETURN(r.attempts, f.Int("attempts", 0, kMaxCount));
        AGENT9_ASSIGN_OR_RETURN(r.at, f.Time("ts"));
        AGENT9_ASSIGN_OR_RETURN(r.idempotent, f.Bool("idempotent"));
        AGENT9_ASSIGN_OR_RETURN(Json env, f.Any("envelope"));
        AGENT9_RETURN_IF_ERROR(CheckEnvelope(env, f.where(), &r));
        b->inbox.push_back(std::move(r));
        return Status::OK();
      }));
  AGENT9_RETURN_IF_ERROR(
      ForEachLine("events.jsonl", text("events.jsonl"), [&](const Fields& f) -> Status {
        QueueRow r;
        AGENT9_ASSIGN_OR_RETURN(r.seq, f.Int("seq", 1, kMaxCount));
        AGENT9_RETURN_IF_ERROR(Ascending(b->events, r.seq, f));
        AGENT9_ASSIGN_OR_RETURN(r.attempts, f.Int("attempts", 0, kMaxCount));
        AGENT9_ASSIGN_OR_RETURN(r.at, f.Time("at"));
        AGENT9_ASSIGN_OR_RETURN(Json ev, f.Any("event"));
        if (!ev.is_object()) return f.Bad("event", "a JSON object");
        r.text = DumpJson(ev);
        b->events.push_back(std::move(r));
        return Status::OK();
      }));
  AGENT9_RETURN_IF_ERROR(
      ForEachLine("deadletter.jsonl", text("deadletter.jsonl"), [&](const Fields& f) -> Status {
        QueueRow r;
        AGENT9_ASSIGN_OR_RETURN(r.seq, f.Int("seq", 1, kMaxCount));
        AGENT9_RETURN_IF_ERROR(Ascending(b->dead, r.seq, f));
        AGENT9_ASSIGN_OR_RETURN(r.attempts, f.Int("attempts", 0, kMaxCount));
        AGENT9_ASSIGN_OR_RETURN(r.at, f.Time("at"));
        AGENT9_ASSIGN_OR_RETURN(r.reason, f.String("reason"));
        AGENT9_ASSIGN_OR_RETURN(r.idempotent, f.Bool("idempotent"));
        AGENT9_ASSIGN_OR_RETURN(Json env, f.Any("envelope"));
        AGENT9_RETURN_IF_ERROR(CheckEnvelope(env, f.where(), &r));
        b->dead.push_back(std::move(r));
        return Status::OK();
      }));
  AGENT9_RETURN_IF_ERROR(
      ForEachLine("outbox.jsonl", text("outbox.jsonl"), [&](const Fields& f) -> Status {
        QueueRow r;
        AGENT9_ASSIGN_OR_RETURN(r.seq, f.Int("seq", 1, kMaxCount));
        AGENT9_RETURN_IF_ERROR(Ascending(b->outbox, r.seq, f));
        AGENT9_ASSIGN_OR_RETURN(r.at, f.Time("at"));
        AGENT9_ASSIGN_OR_RETURN(Json ev, f.Any("event"));
        r.text = DumpJson(ev);
        b->outbox.push_back(std::move(r));
        return Status::OK();
      }));
  return ForEachLine("trajectory.jsonl", text("trajectory.jsonl"), [&](const Fields& f) -> Status {
    int64_t at = 0;  // when the tick started (metrics); 0 for a record without started_at
    if (!f.IsNull("started_at")) {
      AGENT9_ASSIGN_OR_RETURN(at, f.Time("started_at"));
    }
    b->trajectory.emplace_back(f.obj(), at);
    return Status::OK();
  });
}

Status ParseAlarms(std::string_view text, Bundle* b) {
  if (text.empty()) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(Json list, ParseJson(text, "alarms.json"));
  if (!list.is_array()) return Status::InvalidArgument("alarms.json must be a JSON array");
  std::set<int64_t> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = "alarms.json item " + std::to_string(i + 1);
    if (!list[i].is_object()) return Status::InvalidArgument(where + " is not a JSON object");
    Fields f(list[i], where);
    AlarmRow a;
    AGENT9_ASSIGN_OR_RETURN(a.id, f.Int("id", 1, kMaxCount));
    if (!ids.insert(a.id).second) {
      return Status::InvalidArgument(where + ": alarm id " + std::to_string(a.id) + " repeats");
    }
    AGENT9_ASSIGN_OR_RETURN(a.due_at, f.Time("due_at"));
    if (!f.IsNull("every_ms")) {
      AGENT9_ASSIGN_OR_RETURN(a.every_ms, f.Int("every_ms", 10, kMaxCount));
    }
    a.payload = f.Find("payload") ? DumpJson(*f.Find("payload")) : "null";
    if (!f.IsNull("attempts")) {
      AGENT9_ASSIGN_OR_RETURN(a.attempts, f.Int("attempts", 0, kMaxCount));
    }
    b->alarms.push_back(std::move(a));
  }
  return Status::OK();
}

// Checks every entry of the bundle; nothing is written until all of it passed.
Result<Bundle> ParseBundle(const AgentService& agents, const std::map<std::string, TarFile>& files,
                           int64_t now) {
  auto get = [&](std::string_view name) -> const TarFile* {
    auto it = files.find(std::string(name));
    return it == files.end() ? nullptr : &it->second;
  };
  for (std::string_view need : {"manifest.json", "config.json", "state.json"}) {
    if (!get(need)) return Status::InvalidArgument("bundle has no " + std::string(need));
  }
  Bundle b;
  for (const auto& [name, f] : files) {
    bool is_doc = false;
    for (const auto& p : kBundleDocPlaces) is_doc = is_doc || name.starts_with(p.prefix);
    if (!is_doc && JsonDepth(f.data) > kMaxJsonDepth) {
      return Status::InvalidArgument(name + ": JSON nested deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels");
    }
  }
  auto cfg = AgentConfig::Parse(get("config.json")->data);
  if (!cfg.ok()) return In("config.json", cfg.status());
  b.config = *cfg;
  AGENT9_RETURN_IF_ERROR(In("config.json", agents.CheckConfig(b.config)));
  AGENT9_RETURN_IF_ERROR(ParseManifest(get("manifest.json")->data, &b));
  AGENT9_ASSIGN_OR_RETURN(b.manifest, ParseJsonObject(get("manifest.json")->data, "manifest.json"));
  for (const auto& [name, f] : files) {
    if (agents.modules().OwnsBundleFile(name)) b.module_files[name] = f.data;
  }
  AGENT9_ASSIGN_OR_RETURN(Json state, ParseJson(get("state.json")->data, "state.json"));
  b.state_text = DumpJson(state);
  for (const auto& [name, f] : files) {
    for (const auto& p : kBundleDocPlaces) {
      if (!name.starts_with(p.prefix)) continue;
      DocRules rules = p.rules();
      std::string doc = name.substr(p.prefix.size());
      AGENT9_RETURN_IF_ERROR(In(name, ValidateStoredDoc(rules, doc, f.data)));
      b.docs.push_back(
          DocRow{rules.ns, doc, f.data, std::max<int64_t>(0, f.mtime_ms.value_or(now))});
    }
  }
  AGENT9_RETURN_IF_ERROR(ParseQueues(files, &b));
  const TarFile* alarms = get("alarms.json");
  AGENT9_RETURN_IF_ERROR(ParseAlarms(alarms ? std::string_view(alarms->data) : "", &b));
  return b;
}

// ---- writing ------------------------------------------------------------------------------

// The id the imported agent gets (inside the write transaction, so the check holds).
Result<std::string> PickId(Conn& c, const Bundle& b, ImportMode mode,
                           const std::optional<std::string>& new_id) {
  if (mode == ImportMode::kRestore || new_id) {
    std::string id = new_id ? *new_id : b.agent;
    AGENT9_ASSIGN_OR_RETURN(bool taken, AgentExists(c, id));
    if (taken) return Status::AlreadyExists("agent exists", id);
    return id;
  }
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string id = b.agent.substr(0, 56) + "-" + RandomHexId(3);
    AGENT9_ASSIGN_OR_RETURN(bool taken, AgentExists(c, id));
    if (!taken) return id;
  }
  return Status::Aborted("could not pick a free id for the clone; pass one");
}

Status WriteBundle(Conn& c, const std::string& id, const Bundle& b, int64_t created_at,
                   int64_t now) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * a,
      c.Prepare("INSERT INTO agents(id, kind, state, config, max_depth, overflow, state_json, "
                "created_at, updated_at, last_tick_at, last_tick_cause, tick_count, is_public, "
                "init_pending) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  a->Bind(1, id).Bind(2, b.config.kind).Bind(3, b.lifecycle).Bind(4, DumpJson(b.config.ToJson()));
  a->Bind(5, b.config.max_depth).Bind(6, OverflowName(b.config.overflow)).Bind(7, b.state_text);
  a->Bind(8, created_at).Bind(9, now);
  if (b.last_tick_at) {
    a->Bind(10, *b.last_tick_at);
  } else {
    a->BindNull(10);
  }
  if (b.last_tick_cause.empty()) {
    a->BindNull(11);
  } else {
    a->Bind(11, b.last_tick_cause);
  }
  a->Bind(12, b.tick_count).Bind(13, int64_t{b.hud && (*b.hud)["public"].get<bool>() ? 1 : 0});
  a->Bind(14, int64_t{b.init_pending ? 1 : 0});
  AGENT9_RETURN_IF_ERROR(a->Run());

  auto put_doc = [&](const std::string& ns, const std::string& name, const std::string& body,
                     int64_t at) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO docs(agent, ns, name, body, "
                                                "updated_at) VALUES(?,?,?,?,?)"));
    s->Bind(1, id).Bind(2, ns).Bind(3, name).Bind(4, body).Bind(5, at);
    return s->Run();
  };
  if (b.hud) AGENT9_RETURN_IF_ERROR(put_doc("hud", "settings", DumpJson(*b.hud), now));
  for (const auto& d : b.docs) AGENT9_RETURN_IF_ERROR(put_doc(d.ns, d.name, d.body, d.updated_at));

  // A message id the sender gave still makes a resend of it a duplicate.
  auto keep_id = [&](const QueueRow& m) -> Status {
    if (!m.idempotent || m.msg_id.empty()) return Status::OK();
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT OR IGNORE INTO message_ids(agent, msg_id, "
                                                "seq, at) VALUES(?,?,?,?)"));
    s->Bind(1, id).Bind(2, m.msg_id).Bind(3, m.seq).Bind(4, m.at);
    return s->Run();
  };
  int64_t next_seq = 1;
  for (const auto& m : b.inbox) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("INSERT INTO inbox(agent, seq, msg_id, sender, ts, envelope, attempts) "
                            "VALUES(?,?,?,?,?,?,?)"));
    s->Bind(1, id).Bind(2, m.seq).Bind(3, m.msg_id).Bind(4, m.sender).Bind(5, m.at);
    s->Bind(6, m.text).Bind(7, m.attempts);
    AGENT9_RETURN_IF_ERROR(s->Run());
    AGENT9_RETURN_IF_ERROR(keep_id(m));
    next_seq = std::max(next_seq, m.seq + 1);
  }
  for (const auto& e : b.events) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("INSERT INTO events_in(agent, seq, event, at, attempts) VALUES(?,?,?,?,?)"));
    s->Bind(1, id).Bind(2, e.seq).Bind(3, e.text).Bind(4, e.at).Bind(5, e.attempts);
    AGENT9_RETURN_IF_ERROR(s->Run());
    next_seq = std::max(next_seq, e.seq + 1);
  }
  for (const auto& d : b.dead) {
    AGENT9_RETURN_IF_ERROR(InsertDeadletterInTransaction(
        c, id, DeadLetter{d.seq, d.text, d.reason, d.attempts, d.at}));
    AGENT9_RETURN_IF_ERROR(keep_id(d));
    next_seq = std::max(next_seq, d.seq + 1);
  }
  int64_t next_event = 1;
  for (const auto& o : b.outbox) {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("INSERT INTO outbox(agent, seq, event, at) VALUES(?,?,?,?)"));
    s->Bind(1, id).Bind(2, o.seq).Bind(3, o.text).Bind(4, o.at);
    AGENT9_RETURN_IF_ERROR(s->Run());
    next_event = std::max(next_event, o.seq + 1);
  }
  // The tick engine's own writer, so the record's derived columns are filled the same way.
  for (const auto& [record, at] : b.trajectory) {
    AGENT9_RETURN_IF_ERROR(AppendTrajectory(c, id, record, at, b.config.retain_trajectory));
  }
  int64_t next_alarm = 1;
  for (const auto& al : b.alarms) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("INSERT INTO alarms(agent, id, due_at, every_ms, payload, attempts) "
                            "VALUES(?,?,?,?,?,?)"));
    s->Bind(1, id).Bind(2, al.id).Bind(3, al.due_at);
    if (al.every_ms) {
      s->Bind(4, *al.every_ms);
    } else {
      s->BindNull(4);
    }
    s->Bind(5, al.payload).Bind(6, al.attempts);
    AGENT9_RETURN_IF_ERROR(s->Run());
    next_alarm = std::max(next_alarm, al.id + 1);
  }
  // Counters past every imported row (the trigger-kept counts followed the inserts).
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * u, c.Prepare("UPDATE agents SET next_seq=?, next_event=?, next_alarm=? WHERE id=?"));
  u->Bind(1, next_seq).Bind(2, next_event).Bind(3, next_alarm).Bind(4, id);
  return u->Run();
}

}  // namespace

Result<std::string> ImportAgent(AgentService& agents, std::string_view tar, ImportMode mode,
                                std::optional<std::string> new_id,
                                const std::string& key_passphrase) {
  if (new_id && mode == ImportMode::kRestore) {
    return Status::InvalidArgument("a new id is only for clone: restore keeps the bundle's id");
  }
  if (new_id) AGENT9_RETURN_IF_ERROR(ValidateAgentId(*new_id));
  int64_t now = agents.clock()->NowMs();
  const Modules& modules = agents.modules();
  AGENT9_ASSIGN_OR_RETURN(auto files, ReadBundleTar(tar, [&modules](std::string_view name) {
                            return modules.OwnsBundleFile(name);
                          }));
  AGENT9_ASSIGN_OR_RETURN(Bundle b, ParseBundle(agents, files, now));
  files.clear();
  // The modules check their parts (a key and its passphrase) before anything is written.
  ImportRequest req;
  req.clone = mode == ImportMode::kClone;
  req.manifest = &b.manifest;
  req.files = &b.module_files;
  req.key_passphrase = key_passphrase;
  AGENT9_ASSIGN_OR_RETURN(std::vector<ImportApply> applies, modules.PrepareImport(req));
  std::string id;
  // One write transaction: a failure anywhere leaves no trace of the agent.
  AGENT9_RETURN_IF_ERROR(agents.db()->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(id, PickId(c, b, mode, new_id));
    // A clone is a new agent: it is created now; a restore keeps its history.
    AGENT9_RETURN_IF_ERROR(
        WriteBundle(c, id, b, mode == ImportMode::kClone ? now : b.created_at, now));
    for (const auto& apply : applies) AGENT9_RETURN_IF_ERROR(apply(c, id));
    return Status::OK();
  }));
  modules.AgentCreated(id);
  agents.NotifyEnqueued(id);
  return id;
}

}  // namespace agent9
