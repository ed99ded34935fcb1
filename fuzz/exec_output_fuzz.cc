// ExecAgent::ParseOutput (tick/exec_agent.h): what an exec agent's program prints on stdout,
// turned into the effects of a tick. Invariants: accepted effects are in the ranges the
// engine relies on, and scheduling them as the engine does (engine_tick.cc: due = now +
// in_ms; tick_store.cc: next = now + every_ms) cannot overflow (UBSan aborts if it does).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "tick/exec_agent.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  auto out = ExecAgent::ParseOutput(AsText(data, size));
  if (!out.ok()) return 0;
  for (const auto& s : out->send) Require(!s.body.is_discarded(), "send without a body", s.to);
  for (const auto& a : out->alarms) {
    Require(a.in_ms >= 0, "negative in_ms");
    Require(!a.every_ms || *a.every_ms >= 10, "every_ms below 10");
    // Any time this century.
    for (int64_t now : {int64_t{0}, int64_t{4'102'444'800'000}}) {
      volatile int64_t due = now + a.in_ms;
      (void)due;
      if (a.every_ms) {
        volatile int64_t next = now + *a.every_ms;
        (void)next;
      }
    }
  }
  for (const auto& l : out->log) (void)l.size();
  return 0;
}
