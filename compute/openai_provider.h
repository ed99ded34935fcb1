// OpenAiProvider: an OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) through its
// Chat Completions and Embeddings APIs, over HttpClient (keep-alive, streaming).
//   chat:       POST {base_url}/chat/completions {"model","messages", the input's other keys
//               (tools, tool_choice, temperature...) as given, "max_tokens"?, "stream"?}; a
//               streamed answer is SSE "data:" chunks until "data: [DONE]", its usage in a
//               final chunk (stream_options.include_usage)
//   embeddings: POST {base_url}/embeddings {"model","input":[...]}
//   health:     GET {base_url}/models
// Thread-safety: Run and Health may be called from several threads at once.
#pragma once

#include <atomic>
#include <memory>

#include "compute/http_client.h"
#include "compute/provider.h"

namespace agent9::compute {

class OpenAiProvider final : public Provider {
 public:
  explicit OpenAiProvider(ProviderConfig cfg);

  const ProviderConfig& config() const override { return cfg_; }
  // OK on a 2xx from GET {base_url}/models; kUnavailable "not configured" (no base URL),
  // "connection refused: URL", "HTTP <code>: <message>" otherwise.
  Status Health() override;
  // A chat or embeddings attempt (see the file comment). Never throws; the API key is never
  // in a status message.
  Attempt Run(const JobSpec& spec, const DeltaSink& on_delta,
              const std::atomic<bool>& cancel) override;

 private:
  Attempt Chat(const JobSpec& spec, const DeltaSink& on_delta, const std::atomic<bool>& cancel);
  Attempt Embeddings(const JobSpec& spec, const std::atomic<bool>& cancel);
  HttpRequest MakeRequest(const std::string& method, const std::string& path,
                          const JobSpec* spec) const;

  const ProviderConfig cfg_;
  std::string base_;  // base_url without a trailing '/'
  HttpClient http_;
};

}  // namespace agent9::compute
