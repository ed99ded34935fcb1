// Jobs: the request an agent submits (compute/new, a tick's compute action) and the documents
// a job shows (DESIGN 4.2). Parsing is strict and bounded: this is outside input.
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9::compute {

// Job states; the last three are final.
inline constexpr const char* kPending = "pending";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kStreaming = "streaming";
inline constexpr const char* kComplete = "complete";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kCancelled = "cancelled";
bool IsFinal(std::string_view state);

struct JobRequest {
  std::string kind = "chat";  // chat | embeddings
  std::string model;
  std::string provider;  // empty: the provider that lists the model
  // chat: {"messages":[...], "tools"?, "tool_choice"?, ...}; embeddings: ["text", ...].
  Json input;
  std::optional<int64_t> max_cost_usd;  // micro-USD to reserve
  std::string idempotency_key;
  bool stream = false;
  int64_t timeout_ms = 0;         // 0: the provider's timeout
  int64_t max_output_tokens = 0;  // "max_tokens"; 0: none asked
  bool notify = true;             // queue an `event` trigger for the agent when the job ends
  Json tag;                       // anything; handed back in that event (a tick action's tag)

  // The normalized request (what jobs/<id>/request shows).
  Json ToJson() const;
  // Accepts the DESIGN 4.2 shape, plus two shorthands: a chat "input" that is a string (one
  // user message) or a bare array of messages, and an embeddings "input" that is one string.
  // kInvalidArgument naming the field.
  static Result<JobRequest> FromJson(const Json& j);
  // text: the bytes written to compute/new. kTooLarge over max_bytes.
  static Result<JobRequest> Parse(std::string_view text, size_t max_bytes);
};

// A conservative token estimate of a request's input (bytes / 3, at least 1), used to keep a
// job's output within its reservation before the server reports the real count.
int64_t EstimateInputTokens(const JobRequest& r);

}  // namespace agent9::compute
