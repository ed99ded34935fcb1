// Goal, pattern and conversation documents (tick/agent_docs.h): ValidateStoredDoc (names and
// content, as for an imported bundle) and AgentDocStore::NewPrefixCheck (the early check at
// every write(), and at close). Input: one byte picks the rules (goals, patterns,
// conversations), then the name up to the first newline, then the content.
// Invariants: an accepted name is a valid path segment with the rules' suffix; for a
// document ValidateStoredDoc accepts, the check accepts every prefix of it, written a byte
// at a time (a shell writing it in chunks is never refused half-way), and the close; a
// document the check passes whole, under a good name, is one ValidateStoredDoc accepts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/path.h"
#include "fuzz/fuzz_util.h"
#include "tick/agent_docs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  if (size == 0) return 0;
  DocRules rules = data[0] % 3 == 0   ? GoalRules()
                   : data[0] % 3 == 1 ? PatternRules()
                                      : ConversationRules();
  std::string_view rest = AsText(data + 1, size - 1);
  size_t nl = rest.find('\n');
  std::string_view name = rest.substr(0, nl);
  std::string_view content =
      nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

  // CheckName and NewPrefixCheck never touch the database.
  AgentDocStore store(nullptr, nullptr, "fuzz", rules);
  Status name_st = store.CheckName(name);
  if (name_st.ok()) {
    Require(Path::ValidateName(name).ok(), "a document name that is not a path segment", name);
    Require(name.ends_with(rules.suffix) && name.size() > rules.suffix.size(), "suffix", name);
  }
  Status st = ValidateStoredDoc(rules, name, content);
  if (!name_st.ok()) Require(!st.ok(), "ValidateStoredDoc accepted a bad name", name);
  // Every prefix, a byte at a time: linear, the check keeps its state between writes.
  auto check = store.NewPrefixCheck(name);
  Status early;
  for (size_t n = 1; n <= content.size() && early.ok(); ++n) {
    early = check->Check(content.substr(0, n), n - 1);
  }
  Status at_close = early.ok() ? check->Finish(content, content.size()) : early;
  if (st.ok()) {
    Require(early.ok(), "the check refuses a prefix of a valid document", early.message());
    Require(at_close.ok(), "the check refuses a valid document at close", at_close.message());
  }
  if (name_st.ok() && at_close.ok()) {
    Require(st.ok(), "the check passes a document ValidateStoredDoc refuses", st.message());
  }
  return 0;
}
