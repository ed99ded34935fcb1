// SessionRequest::Parse, ExecRequest::Parse and ContainerPolicy::Parse
// (containers/session_request.h): what an agent writes to containers/new and exec/new and an
// admin to containers/policy. Invariants: an accepted session has a known kind, an ephemeral
// one a command; every file path is relative with no "." or ".." component; the normalized
// form round-trips; resolved limits are positive and within the policy; costs never overflow.
#include <cstddef>
#include <cstdint>

#include "containers/session_request.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::containers;
  using namespace agent9::fuzz;
  std::string_view text = AsText(data, size);
  auto r = SessionRequest::Parse(text);
  if (r.ok()) {
    Require(r->kind == "ephemeral" || r->kind == "interactive", "accepted an unknown kind",
            r->kind);
    Require(r->kind == "interactive" || !r->commands.empty(), "ephemeral without a command");
    for (const auto& [path, content] : r->files) {
      Require(!path.empty() && path.front() != '/', "accepted an absolute file path", path);
      size_t start = 0;
      for (;;) {
        size_t end = path.find('/', start);
        std::string_view part = std::string_view(path).substr(
            start, end == std::string::npos ? std::string::npos : end - start);
        Require(!part.empty() && part != "." && part != "..", "accepted a bad component", path);
        if (end == std::string::npos) break;
        start = end + 1;
      }
    }
    Require(r->SandboxWorkdir().starts_with("/work"), "workdir outside /work", r->SandboxWorkdir());
    auto again = SessionRequest::FromJson(r->ToJson());
    Require(again.ok() && again->ToJson() == r->ToJson(), "normalized form does not round-trip");
    ContainerPolicy p;
    p.usd_per_wall_second = int64_t{1} << 50;
    p.usd_per_cpu_second = int64_t{1} << 50;
    auto l = ResolveLimits(r->limits, p);
    if (l.ok()) {
      Require(l->wall_ms > 0 && l->cpu_ms > 0 && l->memory_bytes > 0 && l->pids > 0 &&
                  l->output_bytes > 0,
              "a resolved limit is not positive");
      Require(l->wall_ms <= p.MaxWallMs() && l->memory_bytes <= p.MaxMemory(),
              "a resolved limit is past the policy");
      Require(MaxCost(*l, p) >= 0, "cost overflowed");
    }
  }
  auto e = ExecRequest::Parse(text);
  if (e.ok()) Require(!e->command.empty(), "accepted an exec without a command");
  auto pol = ContainerPolicy::Parse(text);
  if (pol.ok()) {
    auto again = ContainerPolicy::FromJson(pol->ToJson());
    Require(again.ok() && again->ToJson() == pol->ToJson(), "policy does not round-trip");
    Require(pol->MaxConcurrent() >= 0 && pol->MaxQueued() >= 0, "negative concurrency");
  }
  return 0;
}
