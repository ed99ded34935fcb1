// ParseEnvelope (tick/envelope.h): the bytes any sender writes into an inbox (FUSE create,
// HTTP send, CLI send). Invariants: an accepted envelope has a valid id (the sender's or the
// generated one); its ToJson, written again as a message, parses to the same id, body and
// reply_to.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/json.h"
#include "fuzz/fuzz_util.h"
#include "tick/envelope.h"

namespace {
constexpr int64_t kNow = 1'800'000'000'000;
constexpr std::string_view kNewId = "generated-id";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  std::string_view bytes = AsText(data, size);
  auto e = ParseEnvelope(bytes, "fuzzer", kNow, kNewId);
  if (!e.ok()) return 0;
  Require(e->from == "fuzzer" && e->ts_ms == kNow, "from/ts are the runtime's");
  Require(!e->id.empty() && e->id.size() <= kMaxMessageIdBytes, "id length", e->id);
  for (unsigned char c : e->id) Require(c > 0x20 && c < 0x7f, "id is printable ASCII", e->id);
  Require(e->client_id || e->id == kNewId, "no client id but not the generated one", e->id);
  Require(e->reply_to.size() <= 256, "reply_to length");
  Require(!e->body.is_discarded(), "discarded body");

  std::string wire = DumpJson(e->ToJson());
  if (wire.size() > kMaxMessageBytes) return 0;  // escaping can grow a message past the limit
  auto again = ParseEnvelope(wire, "other", kNow + 1, "other-id");
  Require(again.ok(), "a serialised envelope is rejected", wire);
  Require(again->client_id && again->id == e->id, "id changed on the round trip", wire);
  Require(DumpJson(again->body) == DumpJson(e->body), "body changed on the round trip", wire);
  Require(again->reply_to == e->reply_to, "reply_to changed on the round trip", wire);
  return 0;
}
