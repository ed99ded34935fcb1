#include "compute/provider.h"

namespace agent9::compute {

Json Provider::Info() const {
  const ProviderConfig& c = config();
  Json models = Json::array();
  for (const auto& m : c.models) models.push_back(m.id);
  Json j{{"id", c.id},
         {"type", c.type},
         {"max_concurrent", c.max_concurrent},
         {"timeout_ms", c.timeout_ms},
         {"models", std::move(models)}};
  if (c.type == "exec") {
    j["command"] = c.command;
  } else {
    j["base_url"] = c.base_url;
    j["api_key_env"] = c.api_key_env.empty() ? Json(nullptr) : Json(c.api_key_env);
    j["api_key_set"] = !c.api_key.empty();
  }
  return j;
}

Result<std::unique_ptr<Provider>> MakeProvider(const ProviderConfig& cfg) {
  if (cfg.type == "openai") return MakeOpenAiProvider(cfg);
  if (cfg.type == "anthropic") return MakeAnthropicProvider(cfg);
  if (cfg.type == "exec") return MakeExecProvider(cfg);
  return Status::InvalidArgument("unknown provider type (openai, anthropic or exec)", cfg.type);
}

}  // namespace agent9::compute
