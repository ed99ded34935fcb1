#include "compute/job.h"

#include <algorithm>

namespace agent9::compute {
namespace {

constexpr size_t kMaxMessages = 10'000;
constexpr size_t kMaxEmbeddingInputs = 2048;
constexpr int64_t kMaxAmount = int64_t{1} << 50;

Status Bad(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("job: " + std::string(field), why);
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

Status CheckMessages(const Json& messages) {
  if (!messages.is_array() || messages.empty()) {
    return Bad("input.messages", "must be a non-empty array");
  }
  if (messages.size() > kMaxMessages) return Bad("input.messages", "too many messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    std::string at = "input.messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return Bad(at, "must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return Bad(at + ".role", "must be a string");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant" && r != "tool") {
      return Bad(at + ".role", "want system, developer, user, assistant or tool");
    }
    auto content = m.find("content");
    bool has_tools = m.contains("tool_calls");
    if (content == m.end() || content->is_null()) {
      if (!(r == "assistant" && has_tools)) return Bad(at + ".content", "missing");
    } else if (!content->is_string() && !content->is_array()) {
      return Bad(at + ".content", "must be a string or an array of parts");
    }
    if (has_tools && !m["tool_calls"].is_array()) {
      return Bad(at + ".tool_calls", "must be an array");
    }
    if (r == "tool" && (!m.contains("tool_call_id") || !m["tool_call_id"].is_string())) {
      return Bad(at + ".tool_call_id", "a tool message needs the tool_call_id it answers");
    }
  }
  return Status::OK();
}

Result<Json> ChatInput(const Json& in) {
  if (in.is_string()) return Json{{"messages", Json::array({{{"role", "user"}, {"content", in}}})}};
  if (in.is_array()) return ChatInput(Json{{"messages", in}});
  if (!in.is_object()) return Bad("input", "must be an object with messages");
  static const char* kPass[] = {
      "messages", "tools", "tool_choice",     "temperature", "top_p",
      "top_k",    "stop",  "response_format", "seed",        "parallel_tool_calls"};
  for (const auto& [k, v] : in.items()) {
    if (std::find(std::begin(kPass), std::end(kPass), k) == std::end(kPass)) {
      return Bad("input." + k, "unknown field");
    }
  }
  if (!in.contains("messages")) return Bad("input.messages", "missing");
  AGENT9_RETURN_IF_ERROR(CheckMessages(in["messages"]));
  if (in.contains("tools") && !in["tools"].is_array())
    return Bad("input.tools", "must be an array");
  return in;
}

Result<Json> EmbeddingsInput(const Json& in) {
  if (in.is_string()) return Json::array({in});
  if (!in.is_array() || in.empty()) return Bad("input", "must be a non-empty array of strings");
  if (in.size() > kMaxEmbeddingInputs) return Bad("input", "at most 2048 texts");
  for (const auto& t : in) {
    if (!t.is_string()) return Bad("input", "must be a non-empty array of strings");
  }
  return in;
}

void CountBytes(const Json& j, int64_t* n) {
  if (j.is_string()) {
    *n += static_cast<int64_t>(j.get_ref<const std::string&>().size());
  } else if (j.is_structured()) {
    for (const auto& e : j) CountBytes(e, n);
  }
}

}  // namespace

bool IsFinal(std::string_view s) { return s == kComplete || s == kFailed || s == kCancelled; }

Json JobRequest::ToJson() const {
  Json j{
      {"kind", kind}, {"model", model}, {"input", input}, {"stream", stream}, {"notify", notify}};
  if (!provider.empty()) j["provider"] = provider;
  if (max_cost_usd) j["max_cost_usd"] = *max_cost_usd;
  if (!idempotency_key.empty()) j["idempotency_key"] = idempotency_key;
  if (timeout_ms) j["timeout_ms"] = timeout_ms;
  if (max_output_tokens) j["max_tokens"] = max_output_tokens;
  if (!tag.is_null()) j["tag"] = tag;
  return j;
}

Result<JobRequest> JobRequest::FromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a job must be a JSON object");
  JobRequest r;
  bool has_input = false;
  for (const auto& [k, v] : j.items()) {
    if (k == "kind") {
      if (!v.is_string() || (v != "chat" && v != "embeddings")) {
        return Bad(k, "want chat or embeddings");
      }
      r.kind = v.get<std::string>();
    } else if (k == "model" || k == "provider" || k == "idempotency_key") {
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 200) {
        return Bad(k, "must be a non-empty string of at most 200 bytes");
      }
      (k == "model"      ? r.model
       : k == "provider" ? r.provider
                         : r.idempotency_key) = v.get<std::string>();
    } else if (k == "input") {
      has_input = true;
    } else if (k == "max_cost_usd") {
      AGENT9_ASSIGN_OR_RETURN(r.max_cost_usd, IntField(v, k, 0, kMaxAmount));
    } else if (k == "stream" || k == "notify") {
      if (!v.is_boolean()) return Bad(k, "must be true or false");
      (k == "stream" ? r.stream : r.notify) = v.get<bool>();
    } else if (k == "timeout_ms") {
      AGENT9_ASSIGN_OR_RETURN(r.timeout_ms, IntField(v, k, 1, 3'600'000));
    } else if (k == "max_tokens") {
      AGENT9_ASSIGN_OR_RETURN(r.max_output_tokens, IntField(v, k, 1, 10'000'000));
    } else if (k == "tag") {
      r.tag = v;
    } else {
      return Bad(k, "unknown field");
    }
  }
  if (r.model.empty()) return Bad("model", "missing");
  if (!has_input) return Bad("input", "missing");
  if (r.kind == "chat") {
    AGENT9_ASSIGN_OR_RETURN(r.input, ChatInput(j["input"]));
  } else {
    AGENT9_ASSIGN_OR_RETURN(r.input, EmbeddingsInput(j["input"]));
  }
  return r;
}

Result<JobRequest> JobRequest::Parse(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::TooLarge("job request over " + std::to_string(max_bytes) + " bytes");
  }
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "job request", 64));
  return FromJson(j);
}

int64_t EstimateInputTokens(const JobRequest& r) {
  int64_t bytes = 0;
  CountBytes(r.input, &bytes);
  return bytes / 3 + 1;
}

}  // namespace agent9::compute
