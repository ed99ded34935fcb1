#include "compute/compute_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

namespace agent9::compute {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Status Bad(const ConfigSection& s, std::string_view key, std::string_view why) {
  return Status::InvalidArgument(s.Where(key) + ": " + s.name() + "." + std::string(key) + ": " +
                                 std::string(why));
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '.' || c == '_' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

Result<ProviderConfig> ReadProvider(const ConfigSection& s) {
  ProviderConfig p;
  AGENT9_ASSIGN_OR_RETURN(p.id, s.String("id"));
  if (!ValidId(p.id)) return Bad(s, "id", "want a name of [a-z0-9._-], at most 63 bytes");
  AGENT9_ASSIGN_OR_RETURN(p.type, s.String("type"));
  if (p.type != "openai" && p.type != "anthropic" && p.type != "exec") {
    return Bad(s, "type", "want openai, anthropic or exec");
  }
  AGENT9_ASSIGN_OR_RETURN(p.base_url, s.String("base_url"));
  if (!p.base_url.empty() && !p.base_url.starts_with("http://") &&
      !p.base_url.starts_with("https://")) {
    return Bad(s, "base_url", "want an http:// or https:// URL");
  }
  while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
  if (p.type == "openai" && p.base_url.empty()) p.base_url = "https://api.openai.com/v1";
  AGENT9_ASSIGN_OR_RETURN(p.api_key_env, s.String("api_key_env"));
  if (!p.api_key_env.empty()) p.api_key = Env(p.api_key_env.c_str());
  AGENT9_ASSIGN_OR_RETURN(p.command, s.Strings("command"));
  if (p.type == "exec" && (p.command.empty() || p.command[0].empty() || p.command[0][0] != '/')) {
    return Bad(s, "command",
               "an exec provider needs a command whose first word is an absolute path");
  }
  AGENT9_ASSIGN_OR_RETURN(p.max_concurrent, s.Int("max_concurrent", 4, 1, 1024));
  AGENT9_ASSIGN_OR_RETURN(p.timeout_ms, s.Int("timeout_ms", 120'000, 100, 3'600'000));
  AGENT9_ASSIGN_OR_RETURN(p.connect_timeout_ms, s.Int("connect_timeout_ms", 5'000, 10, 600'000));
  AGENT9_ASSIGN_OR_RETURN(p.anthropic_version, s.String("anthropic_version", "2023-06-01"));
  AGENT9_ASSIGN_OR_RETURN(auto models, s.Tables("models"));
  std::set<std::string> seen;
  for (const auto& m : models) {
    ModelConfig mc;
    AGENT9_ASSIGN_OR_RETURN(mc.id, m.String("id"));
    if (mc.id.empty() || mc.id.size() > 200) return Bad(m, "id", "want a model name");
    if (!seen.insert(mc.id).second) return Bad(m, "id", "model listed twice");
    AGENT9_ASSIGN_OR_RETURN(double in, m.Number("input_usd_per_mtok", 0, 0, 1e6));
    AGENT9_ASSIGN_OR_RETURN(double out, m.Number("output_usd_per_mtok", 0, 0, 1e6));
    mc.input_micro_per_mtok = MicroPerMtok(in);
    mc.output_micro_per_mtok = MicroPerMtok(out);
    p.models.push_back(std::move(mc));
  }
  return p;
}

}  // namespace

int64_t MicroPerMtok(double usd_per_mtok) {
  return static_cast<int64_t>(std::llround(usd_per_mtok * 1e6));
}

int64_t CostMicro(const ModelConfig& m, int64_t input_tokens, int64_t output_tokens) {
  // micro-USD = tokens × (micro-USD per million tokens) / 1e6, rounded up. Token counts are
  // at most ~1e9 and prices at most 1e12, so the products stay inside __int128 easily.
  __int128 num =
      static_cast<__int128>(std::max<int64_t>(input_tokens, 0)) * m.input_micro_per_mtok +
      static_cast<__int128>(std::max<int64_t>(output_tokens, 0)) * m.output_micro_per_mtok;
  __int128 cost = (num + 999'999) / 1'000'000;
  return cost > INT64_MAX ? INT64_MAX : static_cast<int64_t>(cost);
}

bool OllamaListening() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(11434);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool up = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    up = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 200) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      up = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  ::close(fd);
  return up;
}

std::vector<ProviderConfig> DetectProviders(bool ollama_up) {
  std::vector<ProviderConfig> out;
  if (!Env("OPENAI_API_KEY").empty() || !Env("OPENAI_BASE_URL").empty()) {
    ProviderConfig p;
    p.id = "openai";
    p.type = "openai";
    p.base_url = Env("OPENAI_BASE_URL");
    if (p.base_url.empty()) p.base_url = "https://api.openai.com/v1";
    while (!p.base_url.empty() && p.base_url.back() == '/') p.base_url.pop_back();
    p.api_key_env = "OPENAI_API_KEY";
    p.api_key = Env("OPENAI_API_KEY");
    out.push_back(std::move(p));
  }
  if (!Env("ANTHROPIC_API_KEY").empty()) {
    ProviderConfig p;
    p.id = "anthropic";
    p.type = "anthropic";
    p.base_url = Env("ANTHROPIC_BASE_URL");
    p.api_key_env = "ANTHROPIC_API_KEY";
    p.api_key = Env("ANTHROPIC_API_KEY");
    out.push_back(std::move(p));
  }
  if (ollama_up) {
    ProviderConfig p;
    p.id = "ollama";
    p.type = "openai";
    p.base_url = "http://127.0.0.1:11434/v1";
    out.push_back(std::move(p));
  }
  return out;
}

Result<ComputeConfig> ReadComputeConfig(const RuntimeConfig& config) {
  ComputeConfig c;
  ConfigSection s = config.Section("compute");
  AGENT9_ASSIGN_OR_RETURN(c.detect_env, s.Bool("detect_env", true));
  AGENT9_ASSIGN_OR_RETURN(c.max_retries, s.Int("max_retries", 3, 0, 20));
  AGENT9_ASSIGN_OR_RETURN(c.retry_base_ms, s.Int("retry_base_ms", 500, 1, 600'000));
  AGENT9_ASSIGN_OR_RETURN(c.retry_max_ms, s.Int("retry_max_ms", 30'000, 1, 3'600'000));
  AGENT9_ASSIGN_OR_RETURN(c.default_max_cost_usd,
                          s.Int("default_max_cost_usd", 100'000, 0, int64_t{1} << 50));
  AGENT9_ASSIGN_OR_RETURN(c.max_request_bytes, s.Int("max_request_bytes", 1 << 20, 1024, 64 << 20));
  AGENT9_ASSIGN_OR_RETURN(auto providers, s.Tables("providers"));
  std::set<std::string> ids;
  for (const auto& p : providers) {
    AGENT9_ASSIGN_OR_RETURN(ProviderConfig pc, ReadProvider(p));
    if (!ids.insert(pc.id).second) return Bad(p, "id", "provider listed twice");
    c.providers.push_back(std::move(pc));
  }
  return c;
}

}  // namespace agent9::compute
