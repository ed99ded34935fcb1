#include "nostr/nostr_store.h"

#include "fs/base/numbers.h"

namespace agent9::nostr {
namespace {

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE nostr_relays(
  agent TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  urls TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE nostr_meta(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE nostr_lists_due(
  agent TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE nostr_seen(
  event_id TEXT PRIMARY KEY,
  at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX nostr_seen_at ON nostr_seen(at);
CREATE TABLE nostr_outgoing(
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  recipient TEXT NOT NULL,
  envelope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX nostr_outgoing_next ON nostr_outgoing(next_at);
)sql",
};

Result<std::optional<std::string>> Meta(Conn& c, std::string_view name) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT value FROM nostr_meta WHERE name=?"));
  s->Bind(1, name);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  std::optional<std::string> out;
  if (row) out = s->Text(0);
  s->Reset();
  return out;
}

}  // namespace

std::string JoinLines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += '\n';
    out += s;
  }
  return out;
}

std::vector<std::string> SplitLines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Status NostrStore::Migrate() const { return db_->Migrate("nostr", kSchema); }

Status NostrStore::SetMeta(Conn& c, std::string_view name, std::string_view value) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO nostr_meta(name, value) VALUES(?,?) "
                                    "ON CONFLICT(name) DO UPDATE SET value=excluded.value"));
  s->Bind(1, name).Bind(2, value);
  return s->Run();
}

Result<std::optional<std::vector<std::string>>> NostrStore::AgentRelays(
    std::string_view agent) const {
  std::optional<std::vector<std::string>> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT urls FROM nostr_relays WHERE agent=?"));
    s->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) out = SplitLines(s->Text(0));
    s->Reset();
    return Status::OK();
  }));
  return out;
}

Status NostrStore::SetAgentRelays(std::string_view agent,
                                  const std::vector<std::string>& urls) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * a, c.Prepare("SELECT count(*) FROM agents WHERE id=?"));
    a->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool row, a->Step());
    bool exists = row && a->Int(0) > 0;
    a->Reset();
    if (!exists) return Status::NotFound("no such agent", agent);
    if (urls.empty()) {
      AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM nostr_relays WHERE agent=?"));
      d->Bind(1, agent);
      AGENT9_RETURN_IF_ERROR(d->Run());
    } else {
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * s, c.Prepare("INSERT INTO nostr_relays(agent, urls, updated_at) VALUES(?,?,0) "
                              "ON CONFLICT(agent) DO UPDATE SET urls=excluded.urls"));
      s->Bind(1, agent).Bind(2, JoinLines(urls));
      AGENT9_RETURN_IF_ERROR(s->Run());
    }
    return MarkListsDue(c, agent);
  });
}

Result<std::vector<std::string>> NostrStore::DefaultRelays() const {
  std::vector<std::string> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(auto v, Meta(c, "default_relays"));
    if (v) out = SplitLines(*v);
    return Status::OK();
  }));
  return out;
}

Status NostrStore::SetDefaultRelays(const std::vector<std::string>& urls) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(SetMeta(c, "default_relays", JoinLines(urls)));
    return c.Exec(
        "INSERT INTO nostr_lists_due(agent) SELECT id FROM agents a WHERE NOT EXISTS (SELECT 1 "
        "FROM nostr_relays r WHERE r.agent = a.id) ON CONFLICT(agent) DO NOTHING");
  });
}

Status NostrStore::SeedDefaultRelays(const std::vector<std::string>& urls) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(auto v, Meta(c, "default_relays"));
    if (v) return Status::OK();
    return SetMeta(c, "default_relays", JoinLines(urls));
  });
}

Result<std::map<std::string, std::vector<std::string>>> NostrStore::AgentsWithRelays() const {
  std::map<std::string, std::vector<std::string>> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT agent, urls FROM nostr_relays"));
    while (true) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out[s->Text(0)] = SplitLines(s->Text(1));
    }
    return Status::OK();
  }));
  return out;
}

Status NostrStore::MarkListsDue(Conn& c, std::string_view agent) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO nostr_lists_due(agent) VALUES(?) "
                                              "ON CONFLICT(agent) DO NOTHING"));
  s->Bind(1, agent);
  return s->Run();
}

Result<std::vector<std::string>> NostrStore::ListsDue(size_t limit) const {
  std::vector<std::string> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("SELECT agent FROM nostr_lists_due ORDER BY agent LIMIT ?"));
    s->Bind(1, static_cast<int64_t>(limit));
    while (true) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(s->Text(0));
    }
    return Status::OK();
  }));
  return out;
}

Status NostrStore::ClearListsDue(std::string_view agent) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM nostr_lists_due WHERE agent=?"));
    s->Bind(1, agent);
    return s->Run();
  });
}

Result<bool> NostrStore::MarkSeen(std::string_view event_id, int64_t now_ms) const {
  bool fresh = false;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO nostr_seen(event_id, at) VALUES(?,?) "
                                                "ON CONFLICT(event_id) DO NOTHING"));
    s->Bind(1, event_id).Bind(2, now_ms);
    AGENT9_RETURN_IF_ERROR(s->Run());
    fresh = c.Changes() > 0;
    return Status::OK();
  }));
  return fresh;
}

Result<bool> NostrStore::Seen(std::string_view event_id) const {
  bool seen = false;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT 1 FROM nostr_seen WHERE event_id=?"));
    s->Bind(1, event_id);
    AGENT9_ASSIGN_OR_RETURN(seen, s->Step());
    s->Reset();
    return Status::OK();
  }));
  return seen;
}

Result<int64_t> NostrStore::Cursor() const {
  int64_t out = 0;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(auto v, Meta(c, "cursor"));
    if (v) out = ParseDecimal(*v, 0, INT64_MAX).value_or(0);
    return Status::OK();
  }));
  return out;
}

Status NostrStore::Accepted(std::string_view event_id, int64_t created_at_s, int64_t now_ms) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO nostr_seen(event_id, at) VALUES(?,?) "
                                                "ON CONFLICT(event_id) DO NOTHING"));
    s->Bind(1, event_id).Bind(2, now_ms);
    AGENT9_RETURN_IF_ERROR(s->Run());
    AGENT9_ASSIGN_OR_RETURN(auto v, Meta(c, "cursor"));
    if (v && ParseDecimal(*v, 0, INT64_MAX).value_or(0) >= created_at_s) return Status::OK();
    return SetMeta(c, "cursor", std::to_string(created_at_s));
  });
}

Status NostrStore::PruneSeen(int64_t before_ms) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM nostr_seen WHERE at < ?"));
    s->Bind(1, before_ms);
    return s->Run();
  });
}

Status NostrStore::AddOutgoing(Conn& c, const OutgoingDm& dm, int64_t now_ms) const {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO nostr_outgoing(id, agent, recipient, envelope, created_at, "
                          "next_at) VALUES(?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING"));
  s->Bind(1, dm.id).Bind(2, dm.agent).Bind(3, dm.recipient).Bind(4, DumpJson(dm.envelope));
  s->Bind(5, now_ms).Bind(6, now_ms);
  return s->Run();
}

Result<std::vector<OutgoingDm>> NostrStore::DueOutgoing(int64_t now_ms, size_t limit) const {
  std::vector<OutgoingDm> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("SELECT id, agent, recipient, envelope, attempts FROM nostr_outgoing "
                            "WHERE next_at <= ? ORDER BY next_at, created_at LIMIT ?"));
    s->Bind(1, now_ms).Bind(2, static_cast<int64_t>(limit));
    while (true) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      auto env = ParseJson(s->Text(3), "outgoing envelope");
      out.push_back(OutgoingDm{s->Text(0), s->Text(1), s->Text(2), env.ok() ? *env : Json::object(),
                               s->Int(4)});
    }
    return Status::OK();
  }));
  return out;
}

Status NostrStore::RetryOutgoing(std::string_view id, int64_t next_at_ms) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("UPDATE nostr_outgoing SET attempts=attempts+1, next_at=? WHERE id=?"));
    s->Bind(1, next_at_ms).Bind(2, id);
    return s->Run();
  });
}

Status NostrStore::DropOutgoing(std::string_view id) const {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM nostr_outgoing WHERE id=?"));
    s->Bind(1, id);
    return s->Run();
  });
}

Result<std::optional<int64_t>> NostrStore::NextOutgoingAt() const {
  std::optional<int64_t> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT min(next_at) FROM nostr_outgoing"));
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row && !s->IsNull(0)) out = s->Int(0);
    s->Reset();
    return Status::OK();
  }));
  return out;
}

}  // namespace agent9::nostr
