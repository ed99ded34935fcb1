// ComputeConfig: the `[compute]` part of the runtime config (DESIGN 4.2; docs/COMPUTE.md):
// the providers (`[[compute.providers]]` with their models and prices) and the job service's
// settings. API keys are read from the environment variables the config names, never from
// the file.
// Thread-safety: value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compute/provider.h"
#include "fs/base/runtime_config.h"

namespace agent9::compute {

struct ComputeConfig {
  std::vector<ProviderConfig> providers;
  // With no [[compute.providers]]: providers found in the environment (OPENAI_API_KEY /
  // OPENAI_BASE_URL, ANTHROPIC_API_KEY, an Ollama answering on 127.0.0.1:11434).
  bool detect_env = true;
  int64_t max_retries = 3;      // attempts after the first, for 5xx, 429, refused
  int64_t retry_base_ms = 500;  // backoff: base × 2^n, jittered, capped at retry_max_ms
  int64_t retry_max_ms = 30'000;
  int64_t default_max_cost_usd = 100'000;  // micro-USD reserved when neither job nor policy says
  int64_t max_request_bytes = 1 << 20;     // a job request's size limit
};

// Reads [compute] and [[compute.providers]]; kInvalidArgument naming file, line and key.
Result<ComputeConfig> ReadComputeConfig(const RuntimeConfig& config);

// The providers the environment offers (see detect_env); `ollama_up` says whether something
// answers on 127.0.0.1:11434.
std::vector<ProviderConfig> DetectProviders(bool ollama_up);
bool OllamaListening();

// USD per million tokens → micro-USD per million tokens (rounded to the nearest).
int64_t MicroPerMtok(double usd_per_mtok);
// The cost of a job in micro-USD, rounded up: tokens × price (micro-USD per million tokens).
int64_t CostMicro(const ModelConfig& m, int64_t input_tokens, int64_t output_tokens);

}  // namespace agent9::compute
