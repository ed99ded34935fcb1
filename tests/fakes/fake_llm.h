// FakeLlm: a loopback LLM server for tests and benchmarks that speaks the real wire formats of
// the OpenAI Chat Completions / Embeddings API (/v1/chat/completions, /v1/embeddings,
// /v1/models) and the Anthropic Messages API (/v1/messages, /v1/models), plain and streamed
// (SSE), so the providers are tested through the same client code as production.
//
// The model name picks the behaviour (both APIs), so one server serves every case:
//   any name not below   answers "echo: <text of the last user message>"; usage counts
//                        whitespace-separated words (input: all messages, output: the answer)
//   "tools"              answers with one tool call get_weather {"city":"Paris"}
//                        (finish_reason "tool_calls" / stop_reason "tool_use")
//   "429-once*"          the first request for that exact model name gets 429 with
//                        Retry-After: 1, later ones answer as echo
//   "500-once*"          the first request for that exact name gets 500, then echo
//   "500-always*"        always 500
//   "cut*"               a stream that stops after two deltas (the connection is closed without
//                        the final chunk / message_stop); unstreamed: a truncated JSON body
//   "malformed*"         200 with a body (or SSE data line) that is not JSON
//   "slow-<ms>*"         waits <ms> before answering (then echo)
//   "bad-request*"       400 with the API's error document
// With api_key set, a request without that key (Authorization: Bearer / x-api-key) gets 401.
// Thread-safety: the accessors may be called from any thread while the server runs.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace agent9::testing {

struct FakeLlmOptions {
  std::string host = "127.0.0.1";
  int port = 0;                // 0: a free port
  std::string api_key;         // required key; empty: any (or none) is accepted
  int stream_chunk_words = 1;  // words per streamed delta
  // Worker threads. cpp-httplib serves one keep-alive connection per thread, so this bounds
  // the concurrent clients (benchmarks with 64 clients need more than the default).
  int threads = 16;
};

class FakeLlm {
 public:
  explicit FakeLlm(FakeLlmOptions opts = {});  // listening when the constructor returns
  ~FakeLlm();                                  // stops and joins
  int port() const;
  // "http://127.0.0.1:PORT" (append /v1 for the OpenAI base URL).
  std::string url() const;
  // Requests received per path ("/v1/chat/completions"), and in total.
  int64_t Requests(const std::string& path) const;
  int64_t TotalRequests() const;
  // The last request body received on path (null when none), and its headers (lower-case).
  nlohmann::json LastBody(const std::string& path) const;
  std::string LastHeader(const std::string& path, const std::string& name) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace agent9::testing
