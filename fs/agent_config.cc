#include "fs/agent_config.h"

#include <limits>

#include "fs/agent_kind.h"

namespace agent9 {
namespace {

Status Bad(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("config: " + std::string(field), why);
}

Result<int64_t> IntField(const Json& j, std::string_view field, int64_t lo, int64_t hi) {
  if (!j.is_number_integer() && !j.is_number_unsigned()) return Bad(field, "must be an integer");
  if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return Bad(field, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  int64_t v = j.get<int64_t>();
  if (v < lo || v > hi) {
    return Bad(field, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

}  // namespace

std::string_view OverflowName(Overflow o) {
  switch (o) {
    case Overflow::kReject:
      return "reject";
    case Overflow::kDeadletter:
      return "deadletter";
    case Overflow::kDropOldest:
      return "drop_oldest";
  }
  return "reject";
}

Status ValidateKindName(std::string_view kind) {
  bool ok = !kind.empty() && kind.size() <= 63;
  for (size_t i = 0; ok && i < kind.size(); ++i) {
    char ch = kind[i];
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    ok = alnum || (i > 0 && (ch == '.' || ch == '_' || ch == '-'));
  }
  return ok ? Status::OK() : Bad("kind", "not a kind name");
}

Json AgentConfig::ToJson() const {
  Json env_j = Json::object();
  for (const auto& [k, v] : env) env_j[k] = v;
  Json j{{"kind", kind},
         {"program", program},
         {"args", args},
         {"env", env_j},
         {"timeout_ms", timeout_ms},
         {"inbox", {{"max_depth", max_depth}, {"overflow", OverflowName(overflow)}}},
         {"max_attempts", max_attempts},
         {"retention", {{"events", retain_events}, {"trajectory", retain_trajectory}}},
         {"sandbox", sandbox},
         {"network", network},
         {"accept_strangers", accept_strangers}};
  j["retention"]["replay"] = retain_replay;
  for (const auto& [k, v] : extra.items()) j[k] = v;
  return j;
}

Result<AgentConfig> AgentConfig::FromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("config must be a JSON object");
  AgentConfig c;
  for (const auto& [key, v] : j.items()) {
    if (key == "kind") {
      if (!v.is_string()) return Bad(key, "must be a string");
      c.kind = v.get<std::string>();
      AGENT9_RETURN_IF_ERROR(ValidateKindName(c.kind));
    } else if (key == "program") {
      if (!v.is_string()) return Bad(key, "must be a string");
      c.program = v.get<std::string>();
      if (c.program.size() > 4096 || c.program.find('\0') != std::string::npos) {
        return Bad(key, "not a usable path");
      }
    } else if (key == "args") {
      if (!v.is_array()) return Bad(key, "must be an array of strings");
      c.args.clear();
      for (const auto& a : v) {
        if (!a.is_string()) return Bad(key, "must be an array of strings");
        c.args.push_back(a.get<std::string>());
      }
      if (c.args.size() > 256) return Bad(key, "at most 256 arguments");
    } else if (key == "env") {
      if (!v.is_object()) return Bad(key, "must be an object of strings");
      for (const auto& [ek, ev] : v.items()) {
        if (!ev.is_string()) return Bad("env." + ek, "must be a string");
        if (ek.empty() || ek.find('=') != std::string::npos || ek.find('\0') != std::string::npos) {
          return Bad("env." + ek, "bad name");
        }
        if (ek.starts_with("AGENT9_")) return Bad("env." + ek, "AGENT9_* are set by the runtime");
        c.env[ek] = ev.get<std::string>();
      }
    } else if (key == "timeout_ms") {
      AGENT9_ASSIGN_OR_RETURN(c.timeout_ms, IntField(v, key, 1, 3'600'000));
    } else if (key == "max_attempts") {
      AGENT9_ASSIGN_OR_RETURN(c.max_attempts, IntField(v, key, 1, 100));
    } else if (key == "inbox") {
      if (!v.is_object()) return Bad(key, "must be an object");
      for (const auto& [ik, iv] : v.items()) {
        if (ik == "max_depth") {
          AGENT9_ASSIGN_OR_RETURN(c.max_depth, IntField(iv, "inbox.max_depth", 1, 1'000'000));
        } else if (ik == "overflow") {
          std::string o = iv.is_string() ? iv.get<std::string>() : "";
          if (o == "reject") {
            c.overflow = Overflow::kReject;
          } else if (o == "deadletter") {
            c.overflow = Overflow::kDeadletter;
          } else if (o == "drop_oldest") {
            c.overflow = Overflow::kDropOldest;
          } else {
            return Bad("inbox.overflow", "want deadletter, reject or drop_oldest");
          }
        } else {
          return Bad("inbox." + ik, "unknown field");
        }
      }
    } else if (key == "sandbox" || key == "network" || key == "accept_strangers") {
      if (!v.is_boolean()) return Bad(key, "must be true or false");
      (key == "sandbox"   ? c.sandbox
       : key == "network" ? c.network
                          : c.accept_strangers) = v.get<bool>();
    } else if (key == "retention") {
      if (!v.is_object()) return Bad(key, "must be an object");
      for (const auto& [rk, rv] : v.items()) {
        if (rk == "events") {
          AGENT9_ASSIGN_OR_RETURN(c.retain_events, IntField(rv, "retention.events", 0, 10'000'000));
        } else if (rk == "replay") {
          AGENT9_ASSIGN_OR_RETURN(c.retain_replay, IntField(rv, "retention.replay", 0, 100'000));
        } else if (rk == "trajectory") {
          AGENT9_ASSIGN_OR_RETURN(c.retain_trajectory,
                                  IntField(rv, "retention.trajectory", 0, 10'000'000));
        } else {
          return Bad("retention." + rk, "unknown field");
        }
      }
    } else {
      if (key.empty() || key.size() > 64) return Bad(key, "unknown field");
      c.extra[key] = v;  // the kind's to check
    }
  }
  if (c.kind == "exec" && c.program.empty()) return Bad("program", "required for kind exec");
  return c;
}

Result<AgentConfig> AgentConfig::Parse(std::string_view text) {
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "config"));
  return FromJson(j);
}

Status RejectUnknownConfig(const Json& extra) {
  for (const auto& [key, v] : extra.items()) {
    return Status::InvalidArgument("config: " + key, "unknown field");
  }
  return Status::OK();
}

}  // namespace agent9
