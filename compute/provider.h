// Provider: one configured compute backend (DESIGN 4.2): an OpenAI-compatible Chat Completions
// server (OpenAI, Ollama, vLLM, llama.cpp), the Anthropic Messages API, or a local command.
// A provider turns one job attempt into one answer; the job service (compute_service.h) owns
// queueing, retries, budgets and persistence, so a provider never sees SQLite, files or errno.
// Thread-safety: Run, Health and Info may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9::compute {

// One model a provider offers, with its price (DESIGN 4.2: USD per million tokens, kept as
// micro-USD per million tokens so cost arithmetic stays in integers).
struct ModelConfig {
  std::string id;
  int64_t input_micro_per_mtok = 0;   // input_usd_per_mtok × 1e6
  int64_t output_micro_per_mtok = 0;  // output_usd_per_mtok × 1e6
};

// A [[compute.providers]] entry, resolved (the API key read from its environment variable).
struct ProviderConfig {
  std::string id;
  std::string type;      // openai | anthropic | exec
  std::string base_url;  // openai: ".../v1"; anthropic: "https://api.anthropic.com" (+ /v1/...)
  std::string api_key;   // from api_key_env; never logged, never in a file
  std::string api_key_env;
  std::vector<std::string> command;  // exec: argv (command[0] an absolute path)
  int64_t max_concurrent = 4;
  int64_t timeout_ms = 120'000;  // default per attempt; a job's timeout_ms overrides
  int64_t connect_timeout_ms = 5'000;
  std::string anthropic_version = "2023-06-01";
  std::vector<ModelConfig> models;
};

// What one attempt asks for. `input` is the job's input as submitted:
//   chat:       {"messages":[{"role","content",...}], "tools"?, "tool_choice"?, "temperature"?}
//               (roles: system, user, assistant, tool; OpenAI's shape, which the Anthropic
//               client maps: system messages to "system", tool results to tool_result blocks)
//   embeddings: ["text", ...]
struct JobSpec {
  std::string kind;  // chat | embeddings
  std::string model;
  Json input;
  int64_t max_output_tokens = 0;  // 0: the provider's default (Anthropic needs one: 1024)
  bool stream = false;            // ask the server to stream (SSE) and report deltas
  int64_t timeout_ms = 0;         // for the whole attempt; 0: the provider's timeout_ms
};

struct JobOutput {
  std::string text;  // chat: the answer's text
  std::string
      finish_reason;  // as the server said it ("stop", "length", "tool_calls", "end_turn"...)
  Json tool_calls;    // null, or OpenAI-shaped
                      // [{"id","type":"function","function":{"name","arguments"}}]
  Json vectors;       // embeddings: [[float...], ...] in input order; null for chat
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  Json raw;  // the server's reply document (the last chunk for a stream), for replay
};

// A streamed piece of the answer: text, or tool-call fragments (OpenAI's delta shape).
struct Delta {
  std::string text;
  Json tool_calls;  // null, or the chunk's delta.tool_calls array
};

// How one attempt ended.
struct Attempt {
  Status status;  // OK, or why it failed (the provider's error message, never the API key)
  JobOutput output;
  int http_status = 0;          // the server's HTTP status, 0 when none
  bool retryable = false;       // 5xx, 429, connection refused/reset before any delta
  int64_t retry_after_ms = -1;  // from Retry-After (seconds or an HTTP date), -1 when absent
  bool streamed = false;        // at least one delta reached on_delta (then never retried)
};

// Called for each delta of a streamed answer, on the attempt's thread.
using DeltaSink = std::function<void(const Delta&)>;

class Provider {
 public:
  virtual ~Provider() = default;
  virtual const ProviderConfig& config() const = 0;
  // {"id","type","base_url","max_concurrent","api_key_env","api_key_set":bool,...}: never the key.
  virtual Json Info() const;
  // OK when the backend answers (a cheap request: GET {base}/models for openai, GET /v1/models
  // for anthropic, the command exists and is executable for exec); otherwise kUnavailable with
  // the reason: "not configured" (no base URL / no API key), "connection refused", "HTTP 401" ...
  virtual Status Health() = 0;
  // Runs one attempt. Returns when it completes, fails, times out (kDeadlineExceeded) or
  // `cancel` becomes true (kAborted "cancelled"; the connection is dropped at once).
  virtual Attempt Run(const JobSpec& spec, const DeltaSink& on_delta,
                      const std::atomic<bool>& cancel) = 0;
};

// Builds the provider for cfg.type; kInvalidArgument for an unknown type.
Result<std::unique_ptr<Provider>> MakeProvider(const ProviderConfig& cfg);

// The three implementations (openai_provider.cc, anthropic_provider.cc, exec_provider.cc).
std::unique_ptr<Provider> MakeOpenAiProvider(const ProviderConfig& cfg);
std::unique_ptr<Provider> MakeAnthropicProvider(const ProviderConfig& cfg);
std::unique_ptr<Provider> MakeExecProvider(const ProviderConfig& cfg);

// Parses a Retry-After header value (delta-seconds or an HTTP date, relative to now_ms);
// -1 when absent or unparseable.
int64_t ParseRetryAfter(std::string_view value, int64_t now_ms);

}  // namespace agent9::compute
