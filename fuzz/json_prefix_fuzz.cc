// JsonPrefix (fs/base/json_prefix.h): the early check of a validated file at every write().
// Input: 1 byte picks the options (bit 0: must be an object, bit 1: JSON Lines, bit 2: a
// nesting limit of 3, bits 3-7: the size of the writes), then the text.
// Invariants: exactness against ParseJson, the parser the close uses. A text it never
// refuses parses once its Completion() is added (so no accepted prefix is hopeless); a text
// it refuses does not parse (so, every valid document being among the inputs, no prefix of
// a valid document is ever refused); complete() holds exactly when the text parses; where
// the writes split the text does not matter; a refusal has a message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/json_prefix.h"
#include "fuzz/fuzz_util.h"

namespace {

// What the close accepts: ParseJson (an object when asked), or ValidateJsonLines's rules
// (tick/agent_docs.cc): every line one document, or blank.
bool Parses(std::string_view text, const agent9::JsonPrefix::Options& opts) {
  using agent9::ParseJson;
  if (!opts.lines) {
    auto j = ParseJson(text, "JSON", opts.max_depth);
    return j.ok() && (!opts.object || j->is_object());
  }
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto j = ParseJson(line, "line", opts.max_depth);
    if (!j.ok() || (opts.object && !j->is_object())) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  if (size == 0) return 0;
  JsonPrefix::Options opts;
  opts.object = data[0] & 1;
  opts.lines = data[0] & 2;
  if (data[0] & 4) opts.max_depth = 3;
  size_t chunk = 1 + (data[0] >> 3);
  std::string_view text = AsText(data + 1, size - 1);

  JsonPrefix whole(opts);
  bool accepted = whole.Feed(text);
  JsonPrefix pieces(opts);
  bool accepted_in_pieces = true;
  for (size_t at = 0; at < text.size() && accepted_in_pieces; at += chunk) {
    accepted_in_pieces = pieces.Feed(text.substr(at, chunk));
  }
  Require(accepted == accepted_in_pieces, "the outcome depends on the write sizes");
  bool parses = Parses(text, opts);
  if (accepted) {
    Require(pieces.complete() == whole.complete(), "complete() depends on the write sizes");
    Require(whole.complete() == parses, "complete() is not whether the text parses");
    std::string completed = std::string(text) + whole.Completion();
    Require(Parses(completed, opts), "an accepted prefix that no completion fixes", completed);
    if (!whole.complete()) Require(!whole.IncompleteMessage(text).empty(), "no message");
  } else {
    Require(whole.error_offset() == pieces.error_offset(), "the refused byte moved");
    Require(whole.error_offset() < text.size(), "refused past the end");
    Require(!parses, "refused a document that parses");
    // The bytes before the refused one were a fine beginning.
    JsonPrefix before(opts);
    Require(before.Feed(text.substr(0, whole.error_offset())), "refused earlier the second time");
    Require(Parses(std::string(text.substr(0, whole.error_offset())) + before.Completion(), opts),
            "the prefix before the refused byte has no completion");
    Require(!whole.ErrorMessage(text).empty(), "a refusal without a message");
    Require(!whole.ErrorMessage(text, false).empty(), "a refusal without a message");
  }
  return 0;
}
