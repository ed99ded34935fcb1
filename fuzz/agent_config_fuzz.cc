// AgentConfig::Parse (fs/agent_config.h): the `config` file, POST /v1/agents bodies and
// imported bundles. Invariants: an accepted config's ToJson is accepted again and prints the
// same (the full document with defaults is a fixed point), and every value is in range.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fs/agent_config.h"
#include "fs/base/json.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  auto c = AgentConfig::Parse(AsText(data, size));
  if (!c.ok()) return 0;
  Require(ValidateKindName(c->kind).ok(), "kind name", c->kind);
  Require(c->kind != "exec" || !c->program.empty(), "exec without a program");
  Require(c->timeout_ms >= 1 && c->timeout_ms <= 3'600'000, "timeout_ms range");
  Require(c->max_depth >= 1 && c->max_depth <= 1'000'000, "max_depth range");
  Require(c->max_attempts >= 1 && c->max_attempts <= 100, "max_attempts range");
  Require(c->retain_events >= 0 && c->retain_trajectory >= 0, "retention range");
  Require(c->args.size() <= 256, "args count");
  for (const auto& [k, v] : c->env) {
    Require(!k.empty() && k.find('=') == std::string::npos && !k.starts_with("AGENT9_"), "env name",
            k);
  }
  std::string printed = DumpJson(c->ToJson());
  auto again = AgentConfig::Parse(printed);
  Require(again.ok(), "ToJson of an accepted config is rejected", printed);
  Require(DumpJson(again->ToJson()) == printed, "ToJson is not a fixed point", printed);
  auto from = AgentConfig::FromJson(c->ToJson());
  Require(from.ok() && DumpJson(from->ToJson()) == printed, "FromJson(ToJson) differs", printed);
  return 0;
}
