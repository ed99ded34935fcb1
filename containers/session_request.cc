#include "containers/session_request.h"

#include <algorithm>

namespace agent9::containers {
namespace {

constexpr int64_t kMaxAmount = int64_t{1} << 50;
constexpr size_t kMaxRequestBytes = 8 << 20;
constexpr size_t kMaxCommandBytes = 256 << 10;
constexpr size_t kMaxCommands = 100;
constexpr size_t kMaxFiles = 1000;
constexpr size_t kMaxEnv = 256;

Status Bad(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("session: " + std::string(field), why);
}

Result<int64_t> IntField(const Json& v, std::string_view field, int64_t lo, int64_t hi) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) return Bad(field, "must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return Bad(field, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  int64_t n = v.get<int64_t>();
  if (n < lo || n > hi) {
    return Bad(field, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return n;
}

Result<std::string> StringField(const Json& v, std::string_view field, size_t max) {
  if (!v.is_string()) return Bad(field, "must be a string");
  std::string s = v.get<std::string>();
  if (s.size() > max) return Bad(field, "longer than " + std::to_string(max) + " bytes");
  if (s.find('\0') != std::string::npos) return Bad(field, "contains a NUL byte");
  return s;
}

bool ValidEnvName(std::string_view n) {
  if (n.empty() || n.size() > 255 || (n[0] >= '0' && n[0] <= '9')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A path relative to the workdir: no "..", no absolute path, no empty or "." components.
Status CheckRelPath(std::string_view field, std::string_view p) {
  if (p.empty()) return Bad(field, "empty path");
  if (p.size() > 4096) return Bad(field, "path longer than 4096 bytes");
  if (p.front() == '/') return Bad(field, "must be relative to the workdir");
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view c = p.substr(start, end - start);
    if (c == "..") return Bad(field, "'..' is not allowed");
    if (c.empty() || c == ".") return Bad(field, "empty or '.' path component");
    start = end + 1;
  }
  if (p.find('\0') != std::string_view::npos) return Bad(field, "contains a NUL byte");
  return Status::OK();
}

Result<std::map<std::string, std::string>> EnvField(const Json& v, std::string_view field) {
  if (!v.is_object()) return Bad(field, "must be an object of strings");
  if (v.size() > kMaxEnv) return Bad(field, "more than 256 variables");
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.items()) {
    if (!ValidEnvName(k)) return Bad(std::string(field) + "." + k, "not a variable name");
    AGENT9_ASSIGN_OR_RETURN(out[k], StringField(val, std::string(field) + "." + k, 64 << 10));
  }
  return out;
}

}  // namespace

Result<SessionRequest> SessionRequest::FromJson(const Json& j) {
  if (!j.is_object()) return Bad("request", "must be a JSON object");
  SessionRequest r;
  bool have_command = false;
  for (const auto& [k, v] : j.items()) {
    if (k == "kind") {
      AGENT9_ASSIGN_OR_RETURN(r.kind, StringField(v, k, 32));
      if (r.kind != "ephemeral" && r.kind != "interactive") {
        return Bad(k, "want ephemeral or interactive");
      }
    } else if (k == "command") {
      AGENT9_ASSIGN_OR_RETURN(std::string c, StringField(v, k, kMaxCommandBytes));
      if (c.find_first_not_of(" \t\r\n") == std::string::npos) return Bad(k, "empty command");
      r.commands = {std::move(c)};
      if (have_command) return Bad(k, "give command or commands, not both");
      have_command = true;
    } else if (k == "commands") {
      if (!v.is_array() || v.empty() || v.size() > kMaxCommands) {
        return Bad(k, "must be an array of 1 to 100 shell lines");
      }
      if (have_command) return Bad(k, "give command or commands, not both");
      have_command = true;
      for (size_t i = 0; i < v.size(); ++i) {
        std::string at = "commands[" + std::to_string(i) + "]";
        AGENT9_ASSIGN_OR_RETURN(std::string c, StringField(v[i], at, kMaxCommandBytes));
        if (c.find_first_not_of(" \t\r\n") == std::string::npos) return Bad(at, "empty command");
        r.commands.push_back(std::move(c));
      }
    } else if (k == "image") {
      AGENT9_ASSIGN_OR_RETURN(r.image, StringField(v, k, 255));
    } else if (k == "files") {
      if (!v.is_object()) return Bad(k, "must be an object {path: content}");
      if (v.size() > kMaxFiles) return Bad(k, "more than 1000 files");
      for (const auto& [path, content] : v.items()) {
        std::string at = "files." + path;
        AGENT9_RETURN_IF_ERROR(CheckRelPath(at, path));
        if (!content.is_string()) return Bad(at, "content must be a string");
        r.files[path] = content.get<std::string>();
      }
    } else if (k == "env") {
      AGENT9_ASSIGN_OR_RETURN(r.env, EnvField(v, k));
    } else if (k == "workdir") {
      AGENT9_ASSIGN_OR_RETURN(r.workdir, StringField(v, k, 4096));
      std::string rel = r.workdir;
      if (rel == "/work" || rel == "." || rel.empty()) {
        r.workdir.clear();
      } else {
        if (rel.starts_with("/work/")) {
          rel = rel.substr(6);
        } else if (rel.front() == '/') {
          return Bad(k, "must be /work or a directory under it");
        }
        while (!rel.empty() && rel.back() == '/') rel.pop_back();
        AGENT9_RETURN_IF_ERROR(CheckRelPath(k, rel));
        r.workdir = rel;
      }
    } else if (k == "limits") {
      if (!v.is_object()) return Bad(k, "must be an object");
      for (const auto& [lk, lv] : v.items()) {
        std::string at = "limits." + lk;
        if (lk == "wall_ms") {
          AGENT9_ASSIGN_OR_RETURN(r.limits.wall_ms, IntField(lv, at, 1, int64_t{86'400'000} * 7));
        } else if (lk == "cpu_ms") {
          AGENT9_ASSIGN_OR_RETURN(r.limits.cpu_ms, IntField(lv, at, 1, int64_t{86'400'000} * 7));
        } else if (lk == "memory_bytes") {
          AGENT9_ASSIGN_OR_RETURN(r.limits.memory_bytes,
                                  IntField(lv, at, 1 << 20, int64_t{1} << 40));
        } else if (lk == "pids") {
          AGENT9_ASSIGN_OR_RETURN(r.limits.pids, IntField(lv, at, 1, 65536));
        } else if (lk == "output_bytes") {
          AGENT9_ASSIGN_OR_RETURN(r.limits.output_bytes, IntField(lv, at, 1, int64_t{64} << 20));
        } else {
          return Bad(at, "unknown field");
        }
      }
    } else if (k == "network") {
      if (!v.is_boolean()) return Bad(k, "must be true or false");
      r.network = v.get<bool>();
    } else if (k == "max_cost_usd") {
      AGENT9_ASSIGN_OR_RETURN(r.max_cost_usd, IntField(v, k, 0, kMaxAmount));
    } else if (k == "idempotency_key") {
      AGENT9_ASSIGN_OR_RETURN(r.idempotency_key, StringField(v, k, 200));
    } else if (k == "provider") {
      AGENT9_ASSIGN_OR_RETURN(r.provider, StringField(v, k, 63));
    } else if (k == "tag") {
      r.tag = v;
    } else if (k == "notify") {
      if (!v.is_boolean()) return Bad(k, "must be true or false");
      r.notify = v.get<bool>();
    } else {
      return Bad(k, "unknown field");
    }
  }
  if (!have_command && r.kind == "ephemeral") {
    return Bad("command", "an ephemeral session needs command or commands");
  }
  return r;
}

Result<SessionRequest> SessionRequest::Parse(std::string_view text) {
  if (text.size() > kMaxRequestBytes) return Status::TooLarge("session request over 8 MiB");
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "session request"));
  return FromJson(j);
}

Json SessionRequest::ToJson() const {
  Json j{{"kind", kind}};
  if (commands.size() == 1) {
    j["command"] = commands[0];
  } else if (!commands.empty()) {
    j["commands"] = commands;
  }
  if (!image.empty()) j["image"] = image;
  if (!files.empty()) j["files"] = files;
  if (!env.empty()) j["env"] = env;
  if (!workdir.empty()) j["workdir"] = "/work/" + workdir;
  Json l = Json::object();
  if (limits.wall_ms) l["wall_ms"] = *limits.wall_ms;
  if (limits.cpu_ms) l["cpu_ms"] = *limits.cpu_ms;
  if (limits.memory_bytes) l["memory_bytes"] = *limits.memory_bytes;
  if (limits.pids) l["pids"] = *limits.pids;
  if (limits.output_bytes) l["output_bytes"] = *limits.output_bytes;
  if (!l.empty()) j["limits"] = l;
  if (network) j["network"] = true;
  if (max_cost_usd) j["max_cost_usd"] = *max_cost_usd;
  if (!idempotency_key.empty()) j["idempotency_key"] = idempotency_key;
  if (!provider.empty()) j["provider"] = provider;
  if (!tag.is_null()) j["tag"] = tag;
  if (!notify) j["notify"] = false;
  return j;
}

std::string SessionRequest::Script() const {
  if (commands.size() == 1) return commands[0];
  // Each command in its own subshell, on its own lines, so a comment or a heredoc in one
  // cannot swallow the next; `&&` stops at the first failure with its status.
  std::string s;
  for (size_t i = 0; i < commands.size(); ++i) {
    if (i) s += " &&\n";
    s += "(\n" + commands[i] + "\n)";
  }
  return s;
}

std::string SessionRequest::SandboxWorkdir() const {
  return workdir.empty() ? "/work" : "/work/" + workdir;
}

Result<ExecRequest> ExecRequest::Parse(std::string_view text) {
  if (text.size() > kMaxRequestBytes) return Status::TooLarge("exec request over 8 MiB");
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "exec request"));
  ExecRequest r;
  for (const auto& [k, v] : j.items()) {
    if (k == "command") {
      AGENT9_ASSIGN_OR_RETURN(r.command, StringField(v, k, kMaxCommandBytes));
    } else if (k == "env") {
      AGENT9_ASSIGN_OR_RETURN(r.env, EnvField(v, k));
    } else {
      return Bad(k, "unknown field");
    }
  }
  if (r.command.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Bad("command", "missing or empty");
  }
  return r;
}

Json ContainerPolicy::ToJson() const {
  Json j{{"images", images},
         {"network", network},
         {"usd_per_cpu_second", usd_per_cpu_second},
         {"usd_per_wall_second", usd_per_wall_second}};
  j["max_wall_ms"] = max_wall_ms ? Json(*max_wall_ms) : Json(nullptr);
  j["max_memory_bytes"] = max_memory_bytes ? Json(*max_memory_bytes) : Json(nullptr);
  j["max_concurrent"] = max_concurrent ? Json(*max_concurrent) : Json(nullptr);
  j["max_queued"] = max_queued ? Json(*max_queued) : Json(nullptr);
  return j;
}

Result<ContainerPolicy> ContainerPolicy::FromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("policy", "must be a JSON object");
  auto bad = [](std::string_view k, std::string_view why) {
    return Status::InvalidArgument("policy: " + std::string(k), why);
  };
  auto num = [&](const Json& v, std::string_view k, int64_t lo,
                 int64_t hi) -> Result<std::optional<int64_t>> {
    if (v.is_null()) return std::optional<int64_t>();
    auto n = IntField(v, k, lo, hi);
    if (!n.ok())
      return bad(
          k, "want an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + " (or null)");
    return std::optional<int64_t>(*n);
  };
  ContainerPolicy p;
  for (const auto& [k, v] : j.items()) {
    if (k == "images") {
      if (!v.is_array()) return bad(k, "must be an array of image names");
      for (const auto& i : v) {
        if (!i.is_string() || i.get<std::string>().empty()) return bad(k, "must hold names");
        p.images.push_back(i.get<std::string>());
      }
    } else if (k == "network") {
      if (!v.is_boolean()) return bad(k, "must be true or false");
      p.network = v.get<bool>();
    } else if (k == "max_wall_ms") {
      AGENT9_ASSIGN_OR_RETURN(p.max_wall_ms, num(v, k, 1, int64_t{86'400'000} * 7));
    } else if (k == "max_memory_bytes") {
      AGENT9_ASSIGN_OR_RETURN(p.max_memory_bytes, num(v, k, 1 << 20, int64_t{1} << 40));
    } else if (k == "max_concurrent") {
      AGENT9_ASSIGN_OR_RETURN(p.max_concurrent, num(v, k, 0, 1024));
    } else if (k == "max_queued") {
      AGENT9_ASSIGN_OR_RETURN(p.max_queued, num(v, k, 0, 100'000));
    } else if (k == "usd_per_cpu_second" || k == "usd_per_wall_second") {
      AGENT9_ASSIGN_OR_RETURN(auto n, num(v, k, 0, kMaxAmount));
      (k == "usd_per_cpu_second" ? p.usd_per_cpu_second : p.usd_per_wall_second) = n.value_or(0);
    } else {
      return bad(k, "unknown field");
    }
  }
  return p;
}

Result<ContainerPolicy> ContainerPolicy::Parse(std::string_view text) {
  if (text.size() > 256 * 1024) return Status::TooLarge("policy over 256 KiB");
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "policy"));
  return FromJson(j);
}

Result<Limits> ResolveLimits(const LimitsRequest& r, const ContainerPolicy& p) {
  Limits l;
  l.wall_ms = r.wall_ms.value_or(std::min<int64_t>(60'000, p.MaxWallMs()));
  if (l.wall_ms > p.MaxWallMs()) {
    return Status::PermissionDenied("policy: max_wall_ms",
                                    "limits.wall_ms " + std::to_string(l.wall_ms) +
                                        " is over the policy's " + std::to_string(p.MaxWallMs()));
  }
  l.cpu_ms = r.cpu_ms.value_or(l.wall_ms);
  l.memory_bytes = r.memory_bytes.value_or(std::min<int64_t>(int64_t{512} << 20, p.MaxMemory()));
  if (l.memory_bytes > p.MaxMemory()) {
    return Status::PermissionDenied("policy: max_memory_bytes",
                                    "limits.memory_bytes " + std::to_string(l.memory_bytes) +
                                        " is over the policy's " + std::to_string(p.MaxMemory()));
  }
  l.pids = r.pids.value_or(256);
  l.output_bytes = r.output_bytes.value_or(1 << 20);
  return l;
}

Status CheckPolicy(const SessionRequest& r, const ContainerPolicy& p) {
  if (r.network && !p.network) {
    return Status::PermissionDenied("policy: network", "the policy does not allow network access");
  }
  if (!r.image.empty() && !p.images.empty() &&
      std::find(p.images.begin(), p.images.end(), r.image) == p.images.end()) {
    return Status::PermissionDenied("policy: images", "image '" + r.image + "' is not allowed");
  }
  return Status::OK();
}

namespace {
int64_t PriceMs(int64_t ms, int64_t micro_per_s) {
  // ms × (micro-USD per second) / 1000, rounded up, saturating instead of overflowing.
  ms = std::max<int64_t>(ms, 0);
  int64_t whole = 0;
  if (__builtin_mul_overflow(ms / 1000, micro_per_s, &whole)) return INT64_MAX;
  int64_t part = ((ms % 1000) * micro_per_s + 999) / 1000;  // < 1000 × 2^50: no overflow
  int64_t sum = 0;
  if (__builtin_add_overflow(whole, part, &sum)) return INT64_MAX;
  return sum;
}
}  // namespace

int64_t MaxCost(const Limits& l, const ContainerPolicy& p) {
  int64_t a = PriceMs(l.wall_ms, p.usd_per_wall_second);
  int64_t b = PriceMs(l.cpu_ms, p.usd_per_cpu_second);
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int64_t Cost(const Usage& u, const ContainerPolicy& p) {
  int64_t a = PriceMs(u.wall_ms, p.usd_per_wall_second);
  int64_t b = PriceMs(u.cpu_ms, p.usd_per_cpu_second);
  return a > INT64_MAX - b ? INT64_MAX : a + b;
}

}  // namespace agent9::containers
