// The Anthropic Messages API provider (POST {base}/v1/messages, plain and streamed), and the
// pure mappings it is made of, exposed so they can be tested without a server. A job's input
// is OpenAI-shaped (provider.h, JobSpec); these functions translate it to Anthropic's shape
// and the answers back, so the job service sees one format whatever the provider.
// Thread-safety: pure functions; an AnthropicStream is used by one thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compute/provider.h"
#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9::compute {

// The /v1/messages request body for a chat spec: system-role messages become "system",
// assistant tool_calls become tool_use blocks, tool-role messages become tool_result blocks
// of one user message, OpenAI function tools become {name,description,input_schema}.
// kInvalidArgument when the input has no "messages" array or a message cannot be mapped.
Result<Json> AnthropicRequestBody(const JobSpec& spec);

// Reads a non-streamed reply (a "message" document): text blocks concatenated into text,
// tool_use blocks into OpenAI-shaped tool_calls, stop_reason kept as finish_reason.
// kInternal "malformed reply" when the document is not a message.
Result<JobOutput> ParseAnthropicMessage(const Json& reply);

// Folds the events of a streamed reply (message_start ... message_stop) into a JobOutput,
// handing each text or tool-call fragment to the sink as an OpenAI-shaped Delta.
class AnthropicStream {
 public:
  explicit AnthropicStream(const DeltaSink& sink) : sink_(sink) {}

  // One SSE event (its "event:" name and its data). Errors: kInternal "malformed event" for
  // data that is not a JSON object; the server's error event as kUnavailable (overloaded or
  // api error) or kInternal, with its message. Unknown events are ignored.
  Status OnEvent(std::string_view event, std::string_view data);

  bool done() const { return done_; }                        // message_stop seen
  bool delivered() const { return delivered_; }              // a delta reached the sink
  bool saw_event() const { return saw_event_; }              // any event at all
  bool retryable_error() const { return retryable_error_; }  // the error event was transient
  // The answer so far; raw is the message rebuilt from the events (as the plain reply holds).
  JobOutput TakeOutput();

 private:
  struct Block {
    std::string type;  // text | tool_use | other
    std::string text;
    std::string id, name, arguments;
    int tool_index = -1;  // the OpenAI delta index of a tool_use block
  };
  Block& BlockAt(const Json& data);
  void Deliver(Delta d);

  const DeltaSink& sink_;
  Json message_ = Json::object();
  std::vector<Block> blocks_;
  int tools_ = 0;
  std::string stop_reason_;
  int64_t input_tokens_ = 0;
  int64_t output_tokens_ = 0;
  bool done_ = false;
  bool delivered_ = false;
  bool saw_event_ = false;
  bool retryable_error_ = false;
};

}  // namespace agent9::compute
