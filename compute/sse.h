// SseParser: an incremental parser of Server-Sent Events (the WHATWG "text/event-stream"
// format) as OpenAI and Anthropic stream their answers. Bytes go in as they arrive, split
// anywhere (even between the \r and \n of a CRLF); complete events come out.
// Lines end in \n, \r\n or \r; a leading UTF-8 BOM is skipped; ":" lines are comments; an
// empty line dispatches the event. An event with no data: line is not dispatched (the spec's
// rule), so comments and keep-alive blank lines produce nothing.
// Thread-safety: none; one parser per stream, used by one thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/status.h"

namespace agent9::compute {

struct SseEvent {
  std::string event;  // the "event:" field; empty when absent (the spec's "message")
  std::string data;   // the "data:" lines joined with "\n" (no trailing "\n")
  std::string id;     // the "id:" field; empty when absent
};

class SseParser {
 public:
  // max_event_bytes bounds one event (its fields plus the pending line): beyond it Feed fails.
  static constexpr size_t kDefaultMaxEventBytes = 1 << 20;  // 1 MiB

  explicit SseParser(size_t max_event_bytes = kDefaultMaxEventBytes);

  // Parses bytes and appends each event completed by them to *out (out is not cleared).
  // Errors: kTooLarge when one event (or one line) grows beyond max_event_bytes; the parser
  // is then failed, and every later Feed returns the same error.
  Status Feed(std::string_view bytes, std::vector<SseEvent>* out);

  // Convenience: the same, calling on_event for each event completed by bytes; on_event
  // returning false drops the remaining events of this call, and Feed returns OK.
  Status Feed(std::string_view bytes, const std::function<bool(const SseEvent&)>& on_event);

  // True while an event or a line is partly received (a stream ending here was cut).
  bool HasPartial() const;

 private:
  void FeedLines(std::string_view bytes, std::vector<SseEvent>* out);
  void ProcessLine(std::vector<SseEvent>* out);
  size_t PendingBytes() const;

  size_t max_event_bytes_;
  std::string line_;       // the current line, without its end
  bool after_cr_ = false;  // the last byte was \r: a following \n belongs to it
  bool bom_checked_ = false;
  std::string head_;  // the first bytes, until a BOM can be told apart
  bool has_data_ = false;
  SseEvent cur_;
  Status failed_;
};

}  // namespace agent9::compute
