#include "tick/agent_docs.h"

#include "fs/base/path.h"

namespace agent9 {
namespace {

constexpr size_t kMaxDocBytes = 1 << 20;

Status ValidateJsonLines(std::string_view content) {
  size_t line_no = 0;
  while (!content.empty()) {
    ++line_no;
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (blank) continue;
    AGENT9_RETURN_IF_ERROR(ParseJson(line, "line " + std::to_string(line_no)).status());
  }
  return Status::OK();
}

}  // namespace

Status ValidateGoal(const Json& goal) {
  if (!goal.is_object()) return Status::InvalidArgument("a goal must be a JSON object");
  auto d = goal.find("description");
  if (d == goal.end() || !d->is_string() || d->get<std::string>().empty()) {
    return Status::InvalidArgument("goal: description (a non-empty string) is required");
  }
  auto p = goal.find("priority");
  if (p != goal.end() && !p->is_number_integer()) {
    return Status::InvalidArgument("goal: priority must be an integer");
  }
  auto s = goal.find("status");
  if (s != goal.end()) {
    std::string v = s->is_string() ? s->get<std::string>() : "";
    if (v != "active" && v != "done" && v != "dropped") {
      return Status::InvalidArgument("goal: status must be active, done or dropped");
    }
  }
  return Status::OK();
}

DocRules GoalRules() { return DocRules{"goals", ".json", false, ValidateGoal, "goals"}; }
DocRules PatternRules() {
  return DocRules{"patterns", ".json", false,
                  [](const Json& j) {
                    return j.is_object()
                               ? Status::OK()
                               : Status::InvalidArgument("a pattern must be a JSON object");
                  },
                  "memory/patterns"};
}
DocRules ConversationRules() {
  return DocRules{"conversations", ".jsonl", true, nullptr, "memory/conversations"};
}

namespace {

Status CheckDocName(const DocRules& rules, std::string_view name) {
  AGENT9_RETURN_IF_ERROR(Path::ValidateName(name));
  const std::string& sfx = rules.suffix;
  if (name.size() <= sfx.size() || name.substr(name.size() - sfx.size()) != sfx) {
    return Status::InvalidArgument("name must be <id>" + sfx);
  }
  std::string_view stem = name.substr(0, name.size() - sfx.size());
  if (stem.size() > 64) return Status::InvalidArgument("id longer than 64 bytes");
  for (char c : stem) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("id may hold only letters, digits, '.', '_', '-'");
  }
  return Status::OK();
}

Status CheckDocContent(const DocRules& rules, std::string_view content, size_t max_bytes) {
  if (content.size() > max_bytes) {
    return Status::TooLarge("document over " + std::to_string(max_bytes >> 20) + " MiB");
  }
  if (rules.jsonl) return ValidateJsonLines(content);
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJson(content, rules.ns + " document"));
  return rules.validate ? rules.validate(j) : Status::OK();
}

}  // namespace

Status ValidateStoredDoc(const DocRules& rules, std::string_view name, std::string_view content) {
  AGENT9_RETURN_IF_ERROR(CheckDocName(rules, name));
  return CheckDocContent(rules, content, rules.jsonl ? kMaxDocBytes * 16 : kMaxDocBytes);
}

Status AgentDocStore::CheckName(std::string_view name) { return CheckDocName(rules_, name); }

std::unique_ptr<PrefixCheck> AgentDocStore::NewPrefixCheck(std::string_view name) {
  JsonDocRules rules;
  rules.what = rules_.dir + "/" + std::string(name);
  rules.syntax.object = !rules_.jsonl;
  rules.syntax.lines = rules_.jsonl;
  rules.max_bytes = kMaxDocBytes;
  rules.validate = rules_.validate;
  return JsonDocCheck(std::make_shared<const JsonDocRules>(std::move(rules)));
}

Status AgentDocStore::CheckContent(std::string_view content) const {
  return CheckDocContent(rules_, content, kMaxDocBytes);
}

Result<std::vector<DirEntry>> AgentDocStore::List() {
  std::vector<DirEntry> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * a, c.Prepare("SELECT 1 FROM agents WHERE id=?"));
    a->Bind(1, agent_);
    AGENT9_ASSIGN_OR_RETURN(bool exists, a->Step());
    if (!exists) return Status::NotFound("no such agent", agent_);
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT name, length(body), updated_at FROM docs "
                                                "WHERE agent=? AND ns=? ORDER BY name"));
    s->Bind(1, agent_).Bind(2, rules_.ns);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(
          DirEntry{s->Text(0), NodeType::kFile, static_cast<uint64_t>(s->Int(1)), s->Int(2)});
    }
    return Status::OK();
  }));
  return out;
}

Result<DirEntry> AgentDocStore::StatDoc(std::string_view name) {
  DirEntry e;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT length(body), updated_at FROM docs WHERE agent=? AND ns=? AND name=?"));
    s->Bind(1, agent_).Bind(2, rules_.ns).Bind(3, name);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such file", name);
    e = DirEntry{std::string(name), NodeType::kFile, static_cast<uint64_t>(s->Int(0)), s->Int(1)};
    return Status::OK();
  }));
  return e;
}

Result<std::string> AgentDocStore::Get(std::string_view name) {
  std::string body;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("SELECT body FROM docs WHERE agent=? AND ns=? AND name=?"));
    s->Bind(1, agent_).Bind(2, rules_.ns).Bind(3, name);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such file", name);
    body = s->Text(0);
    return Status::OK();
  }));
  return body;
}

Status AgentDocStore::Put(std::string_view name, std::string content) {
  AGENT9_RETURN_IF_ERROR(CheckName(name));
  AGENT9_RETURN_IF_ERROR(CheckContent(content));
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("INSERT INTO docs(agent, ns, name, body, updated_at) VALUES(?,?,?,?,?) "
                            "ON CONFLICT(agent, ns, name) DO UPDATE SET body=excluded.body, "
                            "updated_at=excluded.updated_at"));
    s->Bind(1, agent_).Bind(2, rules_.ns).Bind(3, name).Bind(4, content).Bind(5, now);
    Status st = s->Run();
    // A missing agent shows up as a foreign-key failure.
    if (!st.ok() && st.code() == Code::kAlreadyExists)
      return Status::NotFound("no such agent", agent_);
    return st;
  });
}

Status AgentDocStore::Append(std::string_view name, std::string data) {
  if (!rules_.jsonl) return Status::Unimplemented(rules_.ns + " documents cannot be appended to");
  AGENT9_RETURN_IF_ERROR(CheckName(name));
  AGENT9_RETURN_IF_ERROR(ValidateJsonLines(data));
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("INSERT INTO docs(agent, ns, name, body, updated_at) VALUES(?,?,?,?,?) "
                  "ON CONFLICT(agent, ns, name) DO UPDATE SET body=body || excluded.body, "
                  "updated_at=excluded.updated_at RETURNING length(body)"));
    s->Bind(1, agent_).Bind(2, rules_.ns).Bind(3, name).Bind(4, data).Bind(5, now);
    auto row = s->Step();
    int64_t size = row.ok() && *row ? s->Int(0) : 0;
    s->Reset();
    if (!row.ok()) {
      if (row.status().code() == Code::kAlreadyExists)
        return Status::NotFound("no such agent", agent_);
      return row.status();
    }
    if (size > static_cast<int64_t>(kMaxDocBytes) * 16) {
      return Status::TooLarge("conversation over 16 MiB");
    }
    return Status::OK();
  });
}

Status AgentDocStore::Remove(std::string_view name) {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("DELETE FROM docs WHERE agent=? AND ns=? AND name=?"));
    s->Bind(1, agent_).Bind(2, rules_.ns).Bind(3, name);
    AGENT9_RETURN_IF_ERROR(s->Run());
    return c.Changes() ? Status::OK() : Status::NotFound("no such file", name);
  });
}

namespace {

// Splits "conversations/x.jsonl" into the doc rules and the name.
Result<std::pair<DocRules, std::string_view>> MemoryPath(std::string_view path) {
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) {
    return Status::InvalidArgument("not a memory file path", path);
  }
  std::string_view dir = path.substr(0, slash), name = path.substr(slash + 1);
  DocRules rules;
  if (dir == "conversations") {
    rules = ConversationRules();
  } else if (dir == "patterns") {
    rules = PatternRules();
  } else {
    return Status::InvalidArgument("not a memory file path", path);
  }
  AGENT9_RETURN_IF_ERROR(CheckDocName(rules, name));
  return std::make_pair(std::move(rules), name);
}

}  // namespace

Result<std::string> ReadMemoryDoc(Conn& c, std::string_view agent, std::string_view path) {
  AGENT9_ASSIGN_OR_RETURN(auto where, MemoryPath(path));
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("SELECT body FROM docs WHERE agent=? AND ns=? AND name=?"));
  s->Bind(1, agent).Bind(2, where.first.ns).Bind(3, where.second);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  std::string body = row ? s->Text(0) : "";
  s->Reset();
  if (!row) return Status::NotFound("no such file", path);
  return body;
}

Status CheckMemoryAppend(std::string_view path, std::string_view data) {
  AGENT9_ASSIGN_OR_RETURN(auto where, MemoryPath(path));
  if (!where.first.jsonl) return Status::InvalidArgument("only .jsonl files take appends", path);
  if (data.empty() || data.back() != '\n') {
    return Status::InvalidArgument("an append must be whole lines", path);
  }
  return ValidateJsonLines(data);
}

Status AppendMemoryDoc(Conn& c, std::string_view agent, std::string_view path,
                       std::string_view data, int64_t now_ms) {
  AGENT9_ASSIGN_OR_RETURN(auto where, MemoryPath(path));
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO docs(agent, ns, name, body, updated_at) VALUES(?,?,?,?,?) "
                          "ON CONFLICT(agent, ns, name) DO UPDATE SET body=body || excluded.body, "
                          "updated_at=excluded.updated_at RETURNING length(body)"));
  s->Bind(1, agent).Bind(2, where.first.ns).Bind(3, where.second).Bind(4, data).Bind(5, now_ms);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  int64_t size = row ? s->Int(0) : 0;
  s->Reset();
  if (size > static_cast<int64_t>(kMaxDocBytes) * 16) {
    return Status::TooLarge("conversation over 16 MiB", path);
  }
  return Status::OK();
}

}  // namespace agent9
