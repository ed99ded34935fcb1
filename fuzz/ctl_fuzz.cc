// ParseCtl (fs/files/files.h): one write to a ctl file is one "verb args..." command, split
// against a Cmdtab-like table; ParseDecimal (fs/base/numbers.h) then reads numeric arguments.
// The table is the agent ctl's (tick/agent_files.cc) plus a three-argument verb.
// Invariants: an accepted command names a verb of the table with an argument count in its
// range; arguments are non-empty, hold no newline or NUL, only the last may hold spaces, and
// "verb a b c" printed again parses to the same command.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/numbers.h"
#include "fs/files/files.h"
#include "fuzz/fuzz_util.h"

namespace agent9::fuzz {
namespace {

const std::vector<CtlCommand>& Table() {
  static const auto* table = new std::vector<CtlCommand>{
      {"tick", 0, 1, "tick [reason]", nullptr},
      {"hibernate", 0, 0, "hibernate", nullptr},
      {"wake", 0, 0, "wake", nullptr},
      {"alarm", 1, 2, "alarm <in_ms> [payload]", nullptr},
      {"cancel-alarm", 1, 1, "cancel-alarm <id>", nullptr},
      {"replay", 1, 1, "replay <seq>|all", nullptr},
      {"set", 2, 3, "set <a> <b> [rest]", nullptr},
  };
  return *table;
}

void CheckDecimal(std::string_view s, int64_t lo, int64_t hi) {
  auto v = ParseDecimal(s, lo, hi);
  if (!v) return;
  Require(*v >= lo && *v <= hi, "ParseDecimal out of range", s);
  size_t i = s[0] == '-' ? 1 : 0;
  Require(i < s.size(), "ParseDecimal accepted a lone '-'", s);
  for (; i < s.size(); ++i) Require(s[i] >= '0' && s[i] <= '9', "ParseDecimal non-digit", s);
  auto again = ParseDecimal(std::to_string(*v), lo, hi);
  Require(again && *again == *v, "ParseDecimal(to_string(v)) != v", s);
}

}  // namespace
}  // namespace agent9::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  std::string_view line = AsText(data, size);
  auto parsed = ParseCtl(Table(), line);
  if (!parsed.ok()) return 0;
  const CtlCommand* cmd = parsed->first;
  const auto& args = parsed->second;
  Require(cmd >= Table().data() && cmd < Table().data() + Table().size(), "verb not in table");
  Require(static_cast<int>(args.size()) >= cmd->min_args &&
              static_cast<int>(args.size()) <= cmd->max_args,
          "argument count out of range", line);
  std::string printed = cmd->verb;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    Require(!a.empty(), "empty argument", line);
    Require(a.find('\n') == std::string::npos && a.find('\0') == std::string::npos,
            "newline or NUL in an argument", line);
    Require(a.front() != ' ' && a.front() != '\t' && a.back() != ' ' && a.back() != '\t',
            "argument not trimmed", line);
    if (i + 1 < args.size()) {
      Require(a.find_first_of(" \t") == std::string::npos, "space inside a middle argument", line);
    }
    printed += " " + a;
    CheckDecimal(a, 0, 315'360'000'000);
    CheckDecimal(a, 1, INT64_MAX);
    CheckDecimal(a, INT64_MIN, INT64_MAX);
  }
  auto again = ParseCtl(Table(), printed + "\n");
  Require(again.ok() && again->first == cmd && again->second == args,
          "printed command parses differently", printed);
  return 0;
}
