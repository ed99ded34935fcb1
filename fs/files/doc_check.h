// Checks of a validated document while it is being written (DESIGN 4, "Validated files"): the
// write() that makes the document impossible fails with EINVAL, and a document still
// incomplete at close fails the close, before anything is stored. One PrefixCheck per open
// handle, so it may keep what earlier writes taught it. Thread-safety: a check is used by
// its handle's thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fs/base/json_prefix.h"
#include "fs/base/status.h"

namespace agent9 {

class PrefixCheck {
 public:
  virtual ~PrefixCheck() = default;
  // doc: the bytes written so far on the handle, from offset 0 to the furthest byte written;
  // its first `kept` bytes are as they were at the last call. kInvalidArgument when no
  // continuation can make doc valid (or doc is whole and invalid); kTooLarge past the limit.
  virtual Status Check(std::string_view doc, size_t kept) = 0;
  // At close, before the commit: doc is the whole document. Also fails when doc is
  // incomplete, saying why. Default: Check.
  virtual Status Finish(std::string_view doc, size_t kept) { return Check(doc, kept); }
};

using PrefixCheckFn = std::function<std::unique_ptr<PrefixCheck>()>;

// A check that judges the whole document at every write with fn: for small documents.
std::unique_ptr<PrefixCheck> WholeDocCheck(std::function<Status(std::string_view)> fn);

// A JSON document's rules for JsonDocCheck.
struct JsonDocRules {
  std::string what;  // names the file in messages: "goals/x.json", "config"
  JsonPrefix::Options syntax;
  size_t max_bytes = 1 << 20;
  // Whether messages may quote the document (the parser's "last read: '...'"): not for files
  // that may hold secrets (config's env).
  bool excerpt = true;
  // Judges a whole document's content, as soon as the document is whole (may be null; not
  // used for JSON Lines).
  std::function<Status(const Json&)> validate;
};

// The exact check of a JSON document (JsonPrefix): O(n) for a document written in order,
// whatever the size of its writes. Messages are "<what>: <why>" ("goals/x.json: syntax error
// while parsing object key - invalid literal; last read: '{n'; expected string literal");
// validate's own messages are kept as they are.
std::unique_ptr<PrefixCheck> JsonDocCheck(std::shared_ptr<const JsonDocRules> rules);
PrefixCheckFn JsonDocChecks(JsonDocRules rules);

}  // namespace agent9
