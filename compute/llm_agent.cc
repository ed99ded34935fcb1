#include "compute/llm_agent.h"

#include <deque>

namespace agent9::compute {
namespace {

constexpr const char* kNoProvider =
    "no compute provider is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL), "
    "ANTHROPIC_API_KEY, or run Ollama on 127.0.0.1:11434, or add [[compute.providers]] to the "
    "runtime config (docs/COMPUTE.md), then restart the daemon";

// The text of a message body: {"text": "..."} as its text, a string as itself, other JSON
// as its dump.
std::string BodyText(const Json& body) {
  if (body.is_object() && body.contains("text") && body["text"].is_string()) {
    return body["text"].get<std::string>();
  }
  if (body.is_string()) return body.get<std::string>();
  return DumpJson(body);
}

Json Line(std::string_view role, const std::string& content, int64_t now) {
  return Json{{"role", role}, {"content", content}, {"ts", Rfc3339(now)}};
}

}  // namespace

std::string LlmAgent::ConversationPath(std::string_view sender) {
  std::string name;
  for (char c : sender.substr(0, 64)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    name += ok ? c : '_';
  }
  if (name.empty() || name[0] == '.') name = "_" + name.substr(0, 63);
  return "conversations/" + name + ".jsonl";
}

Status LlmAgent::CheckConfig(const Json& extra) const {
  for (const auto& [k, v] : extra.items()) {
    if (k == "provider" || k == "model" || k == "system") {
      if (!v.is_string()) return Status::InvalidArgument("config: " + k, "must be a string");
      if (k != "system" && v.get<std::string>().size() > 200) {
        return Status::InvalidArgument("config: " + k, "at most 200 bytes");
      }
      if (k == "system" && v.get<std::string>().size() > 256 * 1024) {
        return Status::InvalidArgument("config: system", "at most 256 KiB");
      }
    } else if (k == "max_history" || k == "max_cost_usd") {
      int64_t hi = k == "max_history" ? 1000 : int64_t{1} << 50;
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > hi) {
        return Status::InvalidArgument("config: " + k,
                                       "must be an integer from 0 to " + std::to_string(hi));
      }
    } else {
      return Status::InvalidArgument("config: " + k, "unknown field");
    }
  }
  return Status::OK();
}

Result<TickOutput> LlmAgent::Tick(const TickInput& in) {
  TickOutput out;
  const Json& extra = in.config.extra;
  const std::string type = in.trigger.value("type", "");
  if (type == "message") {
    const Json& msg = in.trigger["message"];
    if (msg.contains("reply_to")) return out;  // never answer an answer (no ping-pong)
    const std::string sender = msg.value("from", "");
    const std::string text = BodyText(msg.contains("body") ? msg["body"] : Json(nullptr));
    const std::string model = extra.value("model", "");
    if (service_->providers().empty()) {
      out.reply = Json{{"text", kNoProvider}};
      return out;
    }
    if (model.empty()) {
      out.reply = Json{{"text",
                        "this llm agent has no model: an admin sets \"model\" (and "
                        "\"provider\") in its config"}};
      return out;
    }
    const std::string path = ConversationPath(sender);
    Json messages = Json::array();
    if (extra.contains("system") && !extra["system"].get<std::string>().empty()) {
      messages.push_back(Json{{"role", "system"}, {"content", extra["system"]}});
    }
    const size_t max_history = extra.value("max_history", int64_t{20});
    // Only the conversation's tail: at most 16 KiB per message kept, and 1 MiB in all.
    auto history = in.read_memory(path, std::min<size_t>(max_history * 16384, 1 << 20) + 1);
    if (!history.ok() && history.status().code() != Code::kNotFound) return history.status();
    if (history.ok() && max_history > 0) {
      std::deque<Json> kept;
      size_t start = 0;
      const std::string& h = *history;
      while (start < h.size()) {
        size_t nl = h.find('\n', start);
        std::string_view line(h.data() + start, (nl == std::string::npos ? h.size() : nl) - start);
        start = nl == std::string::npos ? h.size() : nl + 1;
        auto j = ParseJson(line);
        if (!j.ok() || !j->is_object() || !j->contains("role") || !j->contains("content")) continue;
        const std::string role = (*j)["role"].is_string() ? (*j)["role"].get<std::string>() : "";
        if (role != "user" && role != "assistant") continue;
        kept.push_back(Json{{"role", role}, {"content", (*j)["content"]}});
        if (kept.size() > max_history) kept.pop_front();
      }
      for (auto& m : kept) messages.push_back(std::move(m));
    }
    messages.push_back(Json{{"role", "user"}, {"content", text}});
    Json job{{"kind", "chat"},
             {"model", model},
             {"input", {{"messages", std::move(messages)}}},
             {"tag",
              {{"llm",
                {{"to", sender},
                 {"reply_to", msg.value("id", "")},
                 {"conversation", path},
                 {"user", text},
                 {"at", in.now_ms}}}}}};
    if (extra.contains("provider")) job["provider"] = extra["provider"];
    if (extra.contains("max_cost_usd")) job["max_cost_usd"] = extra["max_cost_usd"];
    out.actions["compute"] = std::move(job);
    return out;
  }
  if (type == "event") {
    const Json& ev = in.trigger["event"];
    if (ev.value("type", "") != "compute.job") return out;
    const Json tag = ev.contains("tag") && ev["tag"].is_object() && ev["tag"].contains("llm")
                         ? ev["tag"]["llm"]
                         : Json();
    if (!tag.is_object()) return out;  // a job this agent's kind did not submit
    const std::string to = tag.value("to", "");
    const std::string reply_to = tag.value("reply_to", "");
    if (to.empty()) return out;
    if (ev.value("state", "") != kComplete) {
      out.send.push_back(
          SendSpec{to,
                   Json{{"text", "error: no answer (" + ev.value("state", std::string("failed")) +
                                     ": " + ev.value("error", std::string("unknown error")) + ")"}},
                   reply_to});
      return out;
    }
    std::string answer;
    if (ev.contains("result") && ev["result"].contains("output")) {
      answer = ev["result"]["output"].value("text", "");
    }
    out.send.push_back(SendSpec{to, Json{{"text", answer}}, reply_to});
    const std::string path = tag.value("conversation", ConversationPath(to));
    out.memory_append.push_back(MemoryAppend{
        path, DumpJson(Line("user", tag.value("user", ""), tag.value("at", in.now_ms))) + "\n" +
                  DumpJson(Line("assistant", answer, in.now_ms)) + "\n"});
    return out;
  }
  return out;
}

}  // namespace agent9::compute
