// Goal, pattern and conversation documents (tick/agent_docs.h): ValidateStoredDoc (names and
// content, as for an imported bundle) and AgentDocStore::CheckPrefix (the early check at
// every write()). Input: one byte picks the rules (goals, patterns, conversations), then
// the name up to the first newline, then the content.
// Invariants: an accepted name is a valid path segment with the rules' suffix; for a
// document ValidateStoredDoc accepts, CheckPrefix accepts every prefix of it (a shell
// writing it in chunks is never refused half-way).
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

  // CheckName and CheckPrefix never touch the database.
  AgentDocStore store(nullptr, nullptr, "fuzz", rules);
  Status name_st = store.CheckName(name);
  if (name_st.ok()) {
    Require(Path::ValidateName(name).ok(), "a document name that is not a path segment", name);
    Require(name.ends_with(rules.suffix) && name.size() > rules.suffix.size(), "suffix", name);
  }
  Status st = ValidateStoredDoc(rules, name, content);
  if (!name_st.ok()) Require(!st.ok(), "ValidateStoredDoc accepted a bad name", name);
  if (!st.ok()) return 0;
  // Every prefix would be quadratic; check the short ones, every line end and a spread.
  auto check = [&](size_t n) {
    Status p = store.CheckPrefix(content.substr(0, n));
    Require(p.ok(), "CheckPrefix refuses a prefix of a valid document", content.substr(0, n));
  };
  for (size_t n = 0; n <= content.size() && n < 64; ++n) check(n);
  for (size_t i = 0; i < 32; ++i) check(content.size() * i / 32);
  for (size_t n = content.find('\n'); n != std::string_view::npos; n = content.find('\n', n + 1)) {
    check(n + 1);
  }
  check(content.size());
  return 0;
}
