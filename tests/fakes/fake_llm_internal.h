// Private to the FakeLlm implementation (fake_llm.cc, fake_openai.cc, fake_anthropic.cc): the
// server's state and the helpers both wire formats share (scenario from the model name, the
// echo answer, word-count usage, the API key check). Not for tests: they use fake_llm.h.
// Thread-safety: Impl's methods lock mu; handlers run on the httplib pool.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/fakes/fake_llm.h"

namespace agent9::testing {

// The behaviour a model name asks for (fake_llm.h lists the names).
struct Scenario {
  enum Kind {
    kEcho,
    kTools,
    k429Once,
    k500Once,
    k500Always,
    kCut,
    kMalformed,
    kBadRequest,
  };
  Kind kind = kEcho;
  int slow_ms = 0;  // "slow-<ms>*": wait this long first, then answer as echo
};

// Maps a model name to its scenario: a prefix match on "tools", "429-once", "500-once",
// "500-always", "cut", "malformed", "slow-<ms>", "bad-request"; anything else is kEcho.
Scenario ParseScenario(std::string_view model);

// The text of a message's content: a string, or the "text" of an array's text blocks (both
// APIs' shapes) joined with " "; "" otherwise.
std::string ContentText(const nlohmann::json& content);

// "echo: <text of the last user message>" ("echo: " alone when there is none).
std::string EchoAnswer(const nlohmann::json& messages);

// Whitespace-separated words in text.
int64_t CountWords(std::string_view text);

// Usage input: the words of every message's content (plus system, a string or blocks, for
// Anthropic; pass null when absent).
int64_t InputWords(const nlohmann::json& messages, const nlohmann::json& system = nullptr);

// text split into streamed pieces of words_per_delta words each; the pieces concatenate
// back to text exactly (a piece carries the spaces before its words).
std::vector<std::string> SplitDeltas(const std::string& text, int words_per_delta);

// The server's state. The routes' handlers call these helpers.
struct FakeLlm::Impl {
  FakeLlmOptions opts;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};

  mutable std::mutex mu;
  std::condition_variable cv;  // wakes slow handlers when stopping
  std::map<std::string, int64_t> requests;
  int64_t total = 0;
  std::map<std::string, nlohmann::json> last_body;
  // Lower-case names. Recording also stores the synthetic header "x-fake-remote-port" (the
  // client's port), so tests can tell whether requests shared one connection.
  std::map<std::string, std::map<std::string, std::string>> last_headers;
  std::set<std::string> seen_models;

  // Counts req on its path and keeps its body (null when not JSON) and headers; returns
  // the body.
  nlohmann::json Record(const httplib::Request& req);
  // True the first time model is seen (by either API): the "*-once" scenarios fail then.
  bool FirstTime(const std::string& model);
  // True when no key is required or received equals the required key.
  bool KeyOk(std::string_view received) const;
  // Sleeps ms, returning early (false) when the server stops.
  bool SleepMs(int ms);
};

// The routes of each wire format (fake_openai.cc, fake_anthropic.cc); called once before
// the server starts listening.
void AddOpenAiRoutes(httplib::Server& server, FakeLlm::Impl& impl);
void AddAnthropicRoutes(httplib::Server& server, FakeLlm::Impl& impl);

}  // namespace agent9::testing
