#include "compute/anthropic_provider.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "compute/http_client.h"
#include "compute/sse.h"

namespace agent9::compute {
namespace {

constexpr std::string_view kDefaultBaseUrl = "https://api.anthropic.com";
constexpr int64_t kDefaultMaxTokens = 1024;
// A streamed reply's bytes are kept until its first event: an error document (or a server
// that answered unstreamed) is read from them.
constexpr size_t kMaxKeptBody = 8 << 20;
constexpr int64_t kHealthTimeoutMs = 10'000;

Status BadInput(std::string_view what) { return Status::InvalidArgument("chat input", what); }

// A message's text: a string, or the text parts of an OpenAI content array joined.
std::string TextOf(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const Json& part : content) {
    if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
        part["text"].is_string()) {
      if (!out.empty()) out += "\n";
      out += part["text"].get<std::string>();
    }
  }
  return out;
}

// User or assistant content: a string stays a string; OpenAI parts become text blocks
// (Anthropic-shaped blocks pass through).
Json MapContent(const Json& content) {
  if (content.is_string() || content.is_null()) return content.is_null() ? Json("") : content;
  Json blocks = Json::array();
  if (content.is_array()) {
    for (const Json& part : content) {
      if (!part.is_object()) continue;
      if (part.value("type", "") == "text") {
        blocks.push_back({{"type", "text"}, {"text", part.value("text", "")}});
      } else {
        blocks.push_back(part);
      }
    }
  }
  return blocks;
}

Result<Json> MapToolUse(const Json& call) {
  if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) {
    return BadInput("tool_calls entry without a function");
  }
  const Json& fn = call["function"];
  Json input = Json::object();
  if (fn.contains("arguments")) {
    const Json& args = fn["arguments"];
    if (args.is_object()) {
      input = args;
    } else if (args.is_string() && !args.get_ref<const std::string&>().empty()) {
      auto parsed = ParseJson(args.get_ref<const std::string&>(), "tool call arguments");
      if (!parsed.ok() || !parsed->is_object()) {
        return BadInput("tool call arguments are not a JSON object");
      }
      input = std::move(parsed).value();
    }
  }
  return Json{{"type", "tool_use"},
              {"id", call.value("id", "")},
              {"name", fn.value("name", "")},
              {"input", std::move(input)}};
}

Json MapTool(const Json& tool) {
  if (!tool.is_object() || tool.value("type", "") != "function" || !tool.contains("function")) {
    return tool;  // already Anthropic-shaped (or a server tool): as given
  }
  const Json& fn = tool["function"];
  Json out{{"name", fn.value("name", "")}};
  if (fn.contains("description") && fn["description"].is_string()) {
    out["description"] = fn["description"];
  }
  out["input_schema"] = fn.contains("parameters") && fn["parameters"].is_object()
                            ? fn["parameters"]
                            : Json{{"type", "object"}, {"properties", Json::object()}};
  return out;
}

Json MapToolChoice(const Json& choice) {
  if (choice.is_string()) {
    const std::string& c = choice.get_ref<const std::string&>();
    if (c == "required") return Json{{"type", "any"}};
    if (c == "none") return Json{{"type", "none"}};
    return Json{{"type", "auto"}};
  }
  if (choice.is_object() && choice.value("type", "") == "function" && choice.contains("function") &&
      choice["function"].is_object()) {
    return Json{{"type", "tool"}, {"name", choice["function"].value("name", "")}};
  }
  return choice;
}

// The server's message from an error document ({"type":"error","error":{"type","message"}}),
// or the body itself (cut short) when it is not one.
std::string ErrorMessage(std::string_view body) {
  auto doc = ParseJson(body, "error body");
  if (doc.ok() && doc->is_object() && doc->contains("error")) {
    const Json& e = (*doc)["error"];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return e["message"].get<std::string>();
    }
    if (e.is_string()) return e.get<std::string>();
  }
  std::string s(body.substr(0, 200));
  return s.empty() ? "no message" : s;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AnthropicProvider : public Provider {
 public:
  explicit AnthropicProvider(const ProviderConfig& cfg) : cfg_(cfg) {
    std::string base = cfg.base_url.empty() ? std::string(kDefaultBaseUrl) : cfg.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0) {
      base.resize(base.size() - 3);
    }
    base_ = std::move(base);
  }

  const ProviderConfig& config() const override { return cfg_; }

  Json Info() const override {
    Json j = Provider::Info();
    j["anthropic_version"] = cfg_.anthropic_version;
    return j;
  }

  Status Health() override {
    if (cfg_.api_key.empty()) return NotConfigured();
    HttpRequest req = Request("GET", "/v1/models", std::min(cfg_.timeout_ms, kHealthTimeoutMs));
    auto resp = http_.Send(req);
    if (!resp.ok()) {
      if (resp.status().code() == Code::kUnavailable) return Scrub(resp.status());
      return Scrub(Status::Unavailable(resp.status().message()));
    }
    if (resp->status >= 200 && resp->status < 300) return Status::OK();
    return Scrub(
        Status::Unavailable("HTTP " + std::to_string(resp->status), ErrorMessage(resp->body)));
  }

  Attempt Run(const JobSpec& spec, const DeltaSink& on_delta,
              const std::atomic<bool>& cancel) override {
    Attempt a;
    if (spec.kind == "embeddings") {
      a.status = Status::Unimplemented("anthropic has no embeddings API");
      return a;
    }
    if (spec.kind != "chat") {
      a.status = Status::InvalidArgument("unknown job kind (chat or embeddings)", spec.kind);
      return a;
    }
    if (cfg_.api_key.empty()) {
      a.status = NotConfigured();
      return a;
    }
    auto body = AnthropicRequestBody(spec);
    if (!body.ok()) {
      a.status = body.status();
      return a;
    }
    HttpRequest req =
        Request("POST", "/v1/messages", spec.timeout_ms > 0 ? spec.timeout_ms : cfg_.timeout_ms);
    req.body = DumpJson(*body);
    if (spec.stream) {
      RunStream(req, on_delta, cancel, &a);
    } else {
      RunPlain(req, cancel, &a);
    }
    a.status = Scrub(a.status);
    return a;
  }

 private:
  Status NotConfigured() const {
    return Status::Unavailable("not configured",
                               cfg_.api_key_env.empty() ? "no API key" : "set " + cfg_.api_key_env);
  }

  HttpRequest Request(std::string method, std::string_view path, int64_t timeout_ms) const {
    HttpRequest req;
    req.method = std::move(method);
    req.url = base_ + std::string(path);
    req.headers = {{"x-api-key", cfg_.api_key},
                   {"anthropic-version", cfg_.anthropic_version},
                   {"content-type", "application/json"}};
    req.timeout_ms = timeout_ms;
    req.connect_timeout_ms = cfg_.connect_timeout_ms;
    return req;
  }

  // A server could echo what it was sent: the key never leaves in a message.
  Status Scrub(Status s) const {
    if (s.ok() || cfg_.api_key.empty()) return s;
    std::string m = s.message();
    for (size_t at; (at = m.find(cfg_.api_key)) != std::string::npos;) {
      m.replace(at, cfg_.api_key.size(), "[redacted]");
    }
    return Status(s.code(), std::move(m));
  }

  // A transport failure: retryable while nothing reached the caller, unless cancelled or
  // out of time.
  static void TransportFailure(const Status& s, const std::atomic<bool>& cancel, Attempt* a) {
    if (cancel.load() || s.code() == Code::kAborted) {
      a->status = Status::Aborted("cancelled");
      return;
    }
    a->status = s;
    a->retryable = s.code() == Code::kUnavailable && !a->streamed;
  }

  // An HTTP error status: the body's error.message, retryable for 429 and 5xx.
  static void HttpFailure(const HttpResponse& resp, std::string_view body, Attempt* a) {
    int code = resp.status;
    a->http_status = code;
    std::string what = "HTTP " + std::to_string(code);
    std::string msg = ErrorMessage(body);
    if (code == 401) {
      a->status = Status::Unauthenticated(what, msg);
    } else if (code == 403) {
      a->status = Status::PermissionDenied(what, msg);
    } else if (code == 404) {
      a->status = Status::NotFound(what, msg);
    } else if (code == 413) {
      a->status = Status::TooLarge(what, msg);
    } else if (code == 429) {
      a->status = Status::ResourceExhausted(what, msg);
    } else if (code >= 500) {
      a->status = Status::Unavailable(what, msg);
    } else {
      a->status = Status::InvalidArgument(what, msg);
    }
    a->retryable = (code == 429 || code >= 500) && !a->streamed;
    auto ra = resp.headers.find("retry-after");
    if (ra != resp.headers.end()) a->retry_after_ms = ParseRetryAfter(ra->second, NowMs());
  }

  static void ReadPlain(std::string_view body, Attempt* a) {
    auto doc = ParseJson(body, "reply");
    if (!doc.ok()) {
      a->status = Status::Internal("malformed reply", doc.status().message());
      return;
    }
    auto out = ParseAnthropicMessage(*doc);
    if (!out.ok()) {
      a->status = out.status();
      return;
    }
    a->output = std::move(out).value();
  }

  void RunPlain(const HttpRequest& req, const std::atomic<bool>& cancel, Attempt* a) {
    auto resp = http_.Send(req, nullptr, &cancel);
    if (!resp.ok()) return TransportFailure(resp.status(), cancel, a);
    a->http_status = resp->status;
    if (resp->status < 200 || resp->status >= 300) return HttpFailure(*resp, resp->body, a);
    ReadPlain(resp->body, a);
  }

  void RunStream(HttpRequest req, const DeltaSink& on_delta, const std::atomic<bool>& cancel,
                 Attempt* a) {
    req.headers.push_back({"accept", "text/event-stream"});
    AnthropicStream stream(on_delta);
    SseParser parser;
    Status failed;  // why on_body stopped the transfer
    std::string kept;
    auto on_body = [&](std::string_view chunk) {
      if (!stream.saw_event() && kept.size() < kMaxKeptBody) {
        kept.append(chunk.substr(0, kMaxKeptBody - kept.size()));
      }
      std::vector<SseEvent> events;
      Status s = parser.Feed(chunk, &events);
      for (const SseEvent& e : events) {
        if (!s.ok() || stream.done()) break;
        s = stream.OnEvent(e.event, e.data);
      }
      a->streamed = stream.delivered();
      if (!s.ok()) {
        failed = s;
        return false;
      }
      return true;
    };
    auto resp = http_.Send(req, on_body, &cancel);
    a->streamed = stream.delivered();
    if (resp.ok()) a->http_status = resp->status;
    if (!failed.ok()) {  // an error event, or a malformed one
      a->status = failed;
      a->retryable = stream.retryable_error() && !a->streamed;
      return;
    }
    if (!resp.ok()) {
      // A connection closed mid-stream (curl: partial file) is a cut stream, not a refusal.
      if (stream.done() && !cancel.load()) {
        a->output = stream.TakeOutput();
        return;
      }
      if (stream.saw_event() && resp.status().code() == Code::kUnavailable && !cancel.load()) {
        a->status = Status::Unavailable("stream cut", resp.status().message());
        a->retryable = !a->streamed;
        a->output = stream.TakeOutput();
        return;
      }
      return TransportFailure(resp.status(), cancel, a);
    }
    if (resp->status < 200 || resp->status >= 300) return HttpFailure(*resp, kept, a);
    if (!stream.saw_event()) {
      auto ct = resp->headers.find("content-type");
      if (ct != resp->headers.end() && ct->second.starts_with("application/json")) {
        return ReadPlain(kept, a);  // a server that does not stream answered whole
      }
    }
    if (!stream.done()) {
      a->status = Status::Unavailable("stream cut", "the reply ended before message_stop");
      a->retryable = !a->streamed;
      a->output = stream.TakeOutput();
      return;
    }
    a->output = stream.TakeOutput();
  }

  const ProviderConfig cfg_;
  std::string base_;  // scheme://host[:port], without /v1
  HttpClient http_;
};

}  // namespace

Result<Json> AnthropicRequestBody(const JobSpec& spec) {
  const Json& in = spec.input;
  if (!in.is_object() || !in.contains("messages") || !in["messages"].is_array()) {
    return BadInput("no \"messages\" array");
  }
  std::string system;
  Json messages = Json::array();
  for (const Json& m : in["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return BadInput("a message without a role");
    }
    const std::string& role = m["role"].get_ref<const std::string&>();
    const Json content = m.contains("content") ? m["content"] : Json();
    if (role == "system" || role == "developer") {
      std::string text = TextOf(content);
      if (!system.empty() && !text.empty()) system += "\n\n";
      system += text;
    } else if (role == "user") {
      messages.push_back({{"role", "user"}, {"content", MapContent(content)}});
    } else if (role == "assistant") {
      const Json calls = m.contains("tool_calls") ? m["tool_calls"] : Json();
      if (!calls.is_array() || calls.empty()) {
        messages.push_back({{"role", "assistant"}, {"content", MapContent(content)}});
        continue;
      }
      Json blocks = Json::array();
      std::string text = TextOf(content);
      if (!text.empty()) blocks.push_back({{"type", "text"}, {"text", text}});
      for (const Json& call : calls) {
        AGENT9_ASSIGN_OR_RETURN(Json block, MapToolUse(call));
        blocks.push_back(std::move(block));
      }
      messages.push_back({{"role", "assistant"}, {"content", std::move(blocks)}});
    } else if (role == "tool") {
      if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string()) {
        return BadInput("a tool message without a tool_call_id");
      }
      Json result{{"type", "tool_result"},
                  {"tool_use_id", m["tool_call_id"]},
                  {"content", TextOf(content)}};
      // The results answering one assistant turn travel together in one user message.
      if (!messages.empty() && messages.back()["role"] == "user" &&
          messages.back()["content"].is_array() && !messages.back()["content"].empty() &&
          messages.back()["content"].back().value("type", "") == "tool_result") {
        messages.back()["content"].push_back(std::move(result));
      } else {
        messages.push_back({{"role", "user"}, {"content", Json::array({std::move(result)})}});
      }
    } else {
      return BadInput("unknown role: " + role);
    }
  }
  Json body{{"model", spec.model},
            {"max_tokens", spec.max_output_tokens > 0 ? spec.max_output_tokens : kDefaultMaxTokens},
            {"messages", std::move(messages)}};
  if (!system.empty()) body["system"] = system;
  if (in.contains("tools") && in["tools"].is_array() && !in["tools"].empty()) {
    Json tools = Json::array();
    for (const Json& t : in["tools"]) tools.push_back(MapTool(t));
    body["tools"] = std::move(tools);
    if (in.contains("tool_choice")) body["tool_choice"] = MapToolChoice(in["tool_choice"]);
  }
  for (const char* key : {"temperature", "top_p", "top_k"}) {
    if (in.contains(key) && in[key].is_number()) body[key] = in[key];
  }
  if (in.contains("stop")) {
    if (in["stop"].is_string()) body["stop_sequences"] = Json::array({in["stop"]});
    if (in["stop"].is_array()) body["stop_sequences"] = in["stop"];
  }
  if (spec.stream) body["stream"] = true;
  return body;
}

Result<JobOutput> ParseAnthropicMessage(const Json& reply) {
  if (!reply.is_object() || !reply.contains("content") || !reply["content"].is_array()) {
    return Status::Internal("malformed reply", "not a message (no content array)");
  }
  JobOutput out;
  Json calls = Json::array();
  for (const Json& block : reply["content"]) {
    if (!block.is_object()) continue;
    std::string type = block.value("type", "");
    if (type == "text" && block.contains("text") && block["text"].is_string()) {
      out.text += block["text"].get<std::string>();
    } else if (type == "tool_use") {
      Json input = block.contains("input") ? block["input"] : Json::object();
      calls.push_back(
          {{"id", block.value("id", "")},
           {"type", "function"},
           {"function", {{"name", block.value("name", "")}, {"arguments", DumpJson(input)}}}});
    }
  }
  if (!calls.empty()) out.tool_calls = std::move(calls);
  if (reply.contains("stop_reason") && reply["stop_reason"].is_string()) {
    out.finish_reason = reply["stop_reason"].get<std::string>();
  }
  if (reply.contains("usage") && reply["usage"].is_object()) {
    const Json& u = reply["usage"];
    if (u.contains("input_tokens") && u["input_tokens"].is_number_integer()) {
      out.input_tokens = u["input_tokens"].get<int64_t>();
    }
    if (u.contains("output_tokens") && u["output_tokens"].is_number_integer()) {
      out.output_tokens = u["output_tokens"].get<int64_t>();
    }
  }
  out.raw = reply;
  return out;
}

AnthropicStream::Block& AnthropicStream::BlockAt(const Json& data) {
  size_t index = blocks_.size();
  if (data.contains("index") && data["index"].is_number_unsigned()) {
    index = data["index"].get<size_t>();
  }
  if (index > blocks_.size() + 1024) index = blocks_.size();  // a bogus index grows nothing
  if (index >= blocks_.size()) blocks_.resize(index + 1);
  return blocks_[index];
}

void AnthropicStream::Deliver(Delta d) {
  delivered_ = true;
  if (sink_) sink_(d);
}

Status AnthropicStream::OnEvent(std::string_view event, std::string_view data) {
  auto parsed = ParseJson(data, "stream event");
  if (!parsed.ok() || !parsed->is_object()) {
    return Status::Internal("malformed event", std::string(event));
  }
  saw_event_ = true;
  const Json& d = *parsed;
  // The data's "type" names the event too; it decides when the event: line is absent.
  std::string type = event.empty() ? d.value("type", "") : std::string(event);
  if (type == "message_start") {
    if (d.contains("message") && d["message"].is_object()) {
      message_ = d["message"];
      const Json& u = message_.contains("usage") ? message_["usage"] : Json();
      if (u.is_object() && u.contains("input_tokens") && u["input_tokens"].is_number_integer()) {
        input_tokens_ = u["input_tokens"].get<int64_t>();
      }
      if (u.is_object() && u.contains("output_tokens") && u["output_tokens"].is_number_integer()) {
        output_tokens_ = u["output_tokens"].get<int64_t>();
      }
    }
  } else if (type == "content_block_start") {
    Block& b = BlockAt(d);
    const Json cb = d.contains("content_block") ? d["content_block"] : Json::object();
    b.type = cb.is_object() ? cb.value("type", "") : "";
    if (b.type == "text") {
      b.text = cb.value("text", "");
      if (!b.text.empty()) Deliver(Delta{b.text, nullptr});
    } else if (b.type == "tool_use") {
      b.id = cb.value("id", "");
      b.name = cb.value("name", "");
      b.tool_index = tools_++;
      Deliver(Delta{"", Json::array({{{"index", b.tool_index},
                                      {"id", b.id},
                                      {"type", "function"},
                                      {"function", {{"name", b.name}, {"arguments", ""}}}}})});
    }
  } else if (type == "content_block_delta") {
    Block& b = BlockAt(d);
    const Json delta = d.contains("delta") ? d["delta"] : Json::object();
    if (!delta.is_object()) return Status::OK();
    std::string dtype = delta.value("type", "");
    if (dtype == "text_delta" && delta.contains("text") && delta["text"].is_string()) {
      std::string piece = delta["text"].get<std::string>();
      if (b.type.empty()) b.type = "text";
      b.text += piece;
      if (!piece.empty()) Deliver(Delta{std::move(piece), nullptr});
    } else if (dtype == "input_json_delta" && delta.contains("partial_json") &&
               delta["partial_json"].is_string()) {
      std::string piece = delta["partial_json"].get<std::string>();
      if (b.tool_index < 0) return Status::OK();  // not a tool_use block: nothing to add to
      b.arguments += piece;
      if (!piece.empty()) {
        Deliver(Delta{"", Json::array({{{"index", b.tool_index},
                                        {"function", {{"arguments", std::move(piece)}}}}})});
      }
    }
  } else if (type == "message_delta") {
    if (d.contains("delta") && d["delta"].is_object() && d["delta"].contains("stop_reason") &&
        d["delta"]["stop_reason"].is_string()) {
      stop_reason_ = d["delta"]["stop_reason"].get<std::string>();
    }
    if (d.contains("usage") && d["usage"].is_object()) {
      const Json& u = d["usage"];
      if (u.contains("output_tokens") && u["output_tokens"].is_number_integer()) {
        output_tokens_ = u["output_tokens"].get<int64_t>();
      }
      if (u.contains("input_tokens") && u["input_tokens"].is_number_integer() &&
          u["input_tokens"].get<int64_t>() > 0) {
        input_tokens_ = u["input_tokens"].get<int64_t>();
      }
    }
  } else if (type == "message_stop") {
    done_ = true;
  } else if (type == "error") {
    std::string etype, msg = "no message";
    if (d.contains("error") && d["error"].is_object()) {
      etype = d["error"].value("type", "");
      msg = d["error"].value("message", msg);
    }
    retryable_error_ = etype == "overloaded_error" || etype == "api_error";
    if (retryable_error_) return Status::Unavailable(etype, msg);
    return Status::Internal(etype.empty() ? "error event" : etype, msg);
  }
  // ping, content_block_stop and unknown events: nothing to fold in.
  return Status::OK();
}

JobOutput AnthropicStream::TakeOutput() {
  JobOutput out;
  Json content = Json::array();
  Json calls = Json::array();
  for (Block& b : blocks_) {
    if (b.type == "text") {
      out.text += b.text;
      content.push_back({{"type", "text"}, {"text", b.text}});
    } else if (b.type == "tool_use") {
      std::string args = b.arguments.empty() ? "{}" : b.arguments;
      auto input = ParseJson(args, "tool input");
      content.push_back({{"type", "tool_use"},
                         {"id", b.id},
                         {"name", b.name},
                         {"input", input.ok() ? *input : Json(args)}});
      calls.push_back({{"id", b.id},
                       {"type", "function"},
                       {"function", {{"name", b.name}, {"arguments", std::move(args)}}}});
    }
  }
  if (!calls.empty()) out.tool_calls = std::move(calls);
  out.finish_reason = stop_reason_;
  out.input_tokens = input_tokens_;
  out.output_tokens = output_tokens_;
  out.raw = std::move(message_);
  out.raw["content"] = std::move(content);
  out.raw["stop_reason"] = stop_reason_.empty() ? Json() : Json(stop_reason_);
  out.raw["usage"] = {{"input_tokens", input_tokens_}, {"output_tokens", output_tokens_}};
  message_ = Json::object();
  return out;
}

std::unique_ptr<Provider> MakeAnthropicProvider(const ProviderConfig& cfg) {
  return std::make_unique<AnthropicProvider>(cfg);
}

}  // namespace agent9::compute
