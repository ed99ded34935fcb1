// SseParser (compute/sse.h): a provider's streamed answer, split into chunks anywhere.
// Invariants: the events do not depend on where the bytes were split, no event is larger
// than the limit, and a failed parser stays failed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "compute/sse.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  constexpr size_t kLimit = 4096;
  std::string_view text = AsText(data, size);

  compute::SseParser whole(kLimit);
  std::vector<compute::SseEvent> a;
  Status sa = whole.Feed(text, &a);

  // The same bytes in chunks whose sizes come from the input itself.
  compute::SseParser split(kLimit);
  std::vector<compute::SseEvent> b;
  Status sb;
  size_t at = 0;
  while (at < text.size() && sb.ok()) {
    size_t n = 1 + static_cast<uint8_t>(text[at]) % 7;
    sb = split.Feed(text.substr(at, n), &b);
    at += n;
  }
  Require(sa.ok() == sb.ok(), "split changed the outcome");
  if (sa.ok()) {
    Require(a.size() == b.size(), "split changed the event count");
    for (size_t i = 0; i < a.size(); ++i) {
      Require(a[i].data == b[i].data && a[i].event == b[i].event && a[i].id == b[i].id,
              "split changed an event");
    }
  } else {
    Require(!whole.Feed("\n\n", &a).ok(), "a failed parser recovered");
  }
  for (const auto& e : a) {
    Require(e.data.size() + e.event.size() + e.id.size() <= kLimit, "event over the limit");
  }
  return 0;
}
