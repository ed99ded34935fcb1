// ParseJson, EventFromJson, VerifyEvent, EventSerialization (identity/event.h): signed events
// arrive from relays and other agents as JSON. Invariants: nothing throws; an accepted event
// serializes (its fields were validated), prints with EventToJson to JSON that is accepted
// again as the same event, and verifies the same way twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fs/base/json.h"
#include "fuzz/fuzz_util.h"
#include "identity/event.h"
#include "identity/sodium.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (!agent9::identity::InitSodium().ok()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::identity;
  using agent9::fuzz::Require;
  auto j = ParseJson(agent9::fuzz::AsText(data, size), "event", kMaxInputJsonDepth);
  if (!j.ok()) return 0;
  auto e = EventFromJson(*j);
  if (!e.ok()) return 0;
  auto ser = EventSerialization(e->pubkey, e->created_at, e->kind, e->tags, e->content);
  Require(ser.ok(), "accepted event does not serialize", ser.status().message());
  Status v1 = VerifyEvent(*e);
  auto reparsed = ParseJson(DumpJson(EventToJson(*e)));
  Require(reparsed.ok(), "EventToJson output is not JSON");
  auto again = EventFromJson(*reparsed);
  Require(again.ok(), "EventToJson output is refused", again.status().message());
  Require(EventToJson(*again) == EventToJson(*e), "event round trip differs");
  Require(VerifyEvent(*again).ok() == v1.ok(), "verification differs after a round trip");
  return 0;
}
