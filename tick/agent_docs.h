// AgentDocStore: one agent's directory of stored documents (goals/, memory/patterns/,
// memory/conversations/) over the `docs` table, with per-directory rules for names and
// content. Thread-safety: thread-safe (stateless over the Database).
#pragma once

#include <functional>
#include <string>

#include "fs/base/clock.h"
#include "fs/base/json.h"
#include "fs/base/sqlite.h"
#include "fs/files/files.h"

namespace agent9 {

struct DocRules {
  std::string ns;                               // "goals", "patterns", "conversations"
  std::string suffix;                           // ".json" or ".jsonl"
  bool jsonl = false;                           // content is JSON lines and may be appended to
  std::function<Status(const Json&)> validate;  // for .json documents (may be null)
  std::string dir;  // the directory in the agent's tree, for messages: "memory/patterns"
};

// Goals: {"description" (required, non-empty string), "priority" (int), "status"
// (active|done|dropped)}; other fields are kept.
Status ValidateGoal(const Json& goal);
DocRules GoalRules();
DocRules PatternRules();
DocRules ConversationRules();

// The checks a document of `rules` passes to be stored under `name` (the name rules, then the
// content rules), with the size limit of what the directory can hold: 1 MiB, or 16 MiB for
// appendable JSON lines (conversations grow by appends). For documents that arrive whole
// from elsewhere (an imported bundle). kInvalidArgument, kTooLarge.
Status ValidateStoredDoc(const DocRules& rules, std::string_view name, std::string_view content);

// A memory file by its path under memory/ ("conversations/bob.jsonl", "patterns/p.json"), for
// the tick engine (TickInput::read_memory, TickOutput::memory_append), inside its transaction.
// kInvalidArgument for a path that is not one; kNotFound when the file does not exist.
Result<std::string> ReadMemoryDoc(Conn& c, std::string_view agent, std::string_view path);
// Checks an append before the tick's transaction: a conversations/<id>.jsonl path and whole
// JSON lines.
Status CheckMemoryAppend(std::string_view path, std::string_view data);
Status AppendMemoryDoc(Conn& c, std::string_view agent, std::string_view path,
                       std::string_view data, int64_t now_ms);

class AgentDocStore final : public DocStore {
 public:
  AgentDocStore(Database* db, const Clock* clock, std::string agent, DocRules rules)
      : db_(db), clock_(clock), agent_(std::move(agent)), rules_(std::move(rules)) {}

  Result<std::vector<DirEntry>> List() override;
  Result<DirEntry> StatDoc(std::string_view name) override;
  Result<std::string> Get(std::string_view name) override;
  Status Put(std::string_view name, std::string content) override;
  bool CanAppend() const override { return rules_.jsonl; }
  Status Append(std::string_view name, std::string data) override;
  Status Remove(std::string_view name) override;
  Status CheckName(std::string_view name) override;
  // The exact JSON check (JsonDocCheck) of <dir>/<name>: a JSON object for .json documents,
  // checked against the directory's rules as soon as it is whole; JSON Lines for .jsonl.
  std::unique_ptr<PrefixCheck> NewPrefixCheck(std::string_view name) override;

 private:
  Status CheckContent(std::string_view content) const;
  Database* db_;
  const Clock* clock_;
  std::string agent_;
  DocRules rules_;
};

}  // namespace agent9
