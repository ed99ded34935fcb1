#include "containers/containers_config.h"

#include <set>

namespace agent9::containers {
namespace {

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

}  // namespace

Result<ContainersConfig> ReadContainersConfig(const RuntimeConfig& config) {
  ContainersConfig out;
  ConfigSection s = config.Section("containers");
  AGENT9_ASSIGN_OR_RETURN(out.local, s.Bool("local", true));
  AGENT9_ASSIGN_OR_RETURN(out.local_config.bwrap, s.String("bwrap", "/usr/bin/bwrap"));
  if (out.local_config.bwrap.empty() || out.local_config.bwrap[0] != '/') {
    return Bad(s, "bwrap", "want an absolute path");
  }
  AGENT9_ASSIGN_OR_RETURN(out.local_config.uid_base,
                          s.Int("uid_base", out.local_config.uid_base, 1000, 2147483646));
  AGENT9_ASSIGN_OR_RETURN(out.local_config.uid_count,
                          s.Int("uid_count", out.local_config.uid_count, 1, 65536));
  if (out.local_config.uid_base + out.local_config.uid_count > 2147483647) {
    return Bad(s, "uid_base", "uid_base + uid_count must stay below 2^31 (bwrap's uid maps)");
  }
  AGENT9_ASSIGN_OR_RETURN(out.max_event_tail, s.Int("event_tail_bytes", 4096, 0, 1 << 20));
  AGENT9_ASSIGN_OR_RETURN(auto images, s.Tables("images"));
  for (const auto& i : images) {
    AGENT9_ASSIGN_OR_RETURN(std::string name, i.String("name"));
    AGENT9_ASSIGN_OR_RETURN(std::string rootfs, i.String("rootfs"));
    if (!ValidId(name) || name == "host") {
      return Bad(i, "name", "want a name of [a-z0-9._-] other than 'host'");
    }
    if (rootfs.empty() || rootfs[0] != '/') return Bad(i, "rootfs", "want an absolute directory");
    if (!out.local_config.images.emplace(name, rootfs).second) {
      return Bad(i, "name", "image listed twice");
    }
  }
  AGENT9_ASSIGN_OR_RETURN(auto providers, s.Tables("providers"));
  std::set<std::string> ids{"local"};
  for (const auto& p : providers) {
    RemoteConfig r;
    AGENT9_ASSIGN_OR_RETURN(r.id, p.String("id"));
    if (!ValidId(r.id)) return Bad(p, "id", "want a name of [a-z0-9._-], at most 63 bytes");
    if (!ids.insert(r.id).second) return Bad(p, "id", "provider id used twice (or 'local')");
    AGENT9_ASSIGN_OR_RETURN(r.type, p.String("type", "daytona"));
    if (r.type != "daytona") return Bad(p, "type", "want daytona");
    AGENT9_ASSIGN_OR_RETURN(r.base_url, p.String("base_url"));
    if (!r.base_url.empty() && !r.base_url.starts_with("http://") &&
        !r.base_url.starts_with("https://")) {
      return Bad(p, "base_url", "want an http:// or https:// URL");
    }
    while (!r.base_url.empty() && r.base_url.back() == '/') r.base_url.pop_back();
    AGENT9_ASSIGN_OR_RETURN(r.api_key_env, p.String("api_key_env", "DAYTONA_API_KEY"));
    AGENT9_ASSIGN_OR_RETURN(r.default_image, p.String("default_image"));
    AGENT9_ASSIGN_OR_RETURN(r.nostr_auth, p.Bool("nostr_auth", false));
    AGENT9_ASSIGN_OR_RETURN(r.start_timeout_ms,
                            p.Int("start_timeout_ms", r.start_timeout_ms, 100, 3'600'000));
    AGENT9_ASSIGN_OR_RETURN(r.poll_ms, p.Int("poll_ms", r.poll_ms, 10, 60'000));
    AGENT9_ASSIGN_OR_RETURN(r.request_timeout_ms,
                            p.Int("request_timeout_ms", r.request_timeout_ms, 100, 600'000));
    AGENT9_ASSIGN_OR_RETURN(r.send_resources, p.Bool("send_resources", false));
    out.remotes.push_back(std::move(r));
  }
  return out;
}

}  // namespace agent9::containers
