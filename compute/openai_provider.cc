#include "compute/openai_provider.h"

#include <chrono>
#include <map>
#include <string>
#include <utility>

#include "compute/sse.h"

namespace agent9::compute {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;  // kept of a streamed reply, to report an error
constexpr int64_t kHealthTimeoutMs = 10'000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A server may echo what it was sent; the key never reaches a status message.
std::string Redact(std::string msg, const std::string& key) {
  if (key.size() < 4) return msg;
  for (size_t at = msg.find(key); at != std::string::npos; at = msg.find(key, at)) {
    msg.replace(at, key.size(), "[redacted]");
  }
  return msg;
}

// The provider's error message: error.message (or a string error) from a JSON body, else the
// body's first 200 bytes.
std::string ErrorMessage(std::string_view body) {
  auto j = ParseJson(body, "error body");
  if (j.ok() && j->is_object()) {
    auto e = j->find("error");
    if (e != j->end()) {
      if (e->is_string()) return e->get<std::string>();
      if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) {
        return (*e)["message"].get<std::string>();
      }
    }
    if (j->contains("message") && (*j)["message"].is_string()) {
      return (*j)["message"].get<std::string>();
    }
  }
  return std::string(body.substr(0, 200));
}

Attempt HttpError(const HttpResponse& resp, std::string_view body, const std::string& key) {
  Attempt a;
  a.http_status = resp.status;
  std::string what = "HTTP " + std::to_string(resp.status);
  std::string msg = Redact(ErrorMessage(body), key);
  if (resp.status == 401) {
    a.status = Status::Unauthenticated(what, msg);
  } else if (resp.status == 403) {
    a.status = Status::PermissionDenied(what, msg);
  } else if (resp.status == 429) {
    a.status = Status::ResourceExhausted(what, msg);
  } else if (resp.status >= 400 && resp.status < 500) {
    a.status = Status::InvalidArgument(what, msg);
  } else {
    a.status = Status::Unavailable(what, msg);
  }
  a.retryable = resp.status == 429 || resp.status >= 500;
  auto ra = resp.headers.find("retry-after");
  if (ra != resp.headers.end()) a.retry_after_ms = ParseRetryAfter(ra->second, NowMs());
  return a;
}

// A transport failure (no HTTP status): connection refused or reset is worth another try
// unless part of the answer was already delivered.
Attempt TransportError(Status s, bool streamed) {
  Attempt a;
  a.retryable = !streamed && s.code() == Code::kUnavailable;
  a.streamed = streamed;
  a.status = std::move(s);
  return a;
}

Attempt Malformed(std::string_view what, bool streamed = false) {
  Attempt a;
  a.status = Status::Unavailable("malformed response", what);
  a.streamed = streamed;
  return a;
}

int64_t IntOr0(const Json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// The state of one streamed answer, fed by the body sink.
struct ChatStream {
  SseParser parser;
  const DeltaSink* on_delta = nullptr;
  std::string head;  // the body's first bytes, for an HTTP error's message
  bool done = false;
  bool streamed = false;
  std::string text;
  std::map<int64_t, Json> calls;  // tool calls by index, fragments joined
  std::string finish_reason;
  Json usage;
  Json last;
  Status error;

  bool Feed(std::string_view chunk) {
    if (head.size() < kMaxErrorBody) head.append(chunk.substr(0, kMaxErrorBody - head.size()));
    std::vector<SseEvent> events;
    error = parser.Feed(chunk, &events);
    if (!error.ok()) return false;
    for (const SseEvent& e : events) {
      if (done) break;
      if (!OnEvent(e)) return false;
    }
    return true;
  }

  bool OnEvent(const SseEvent& e) {
    if (e.data == "[DONE]") {
      done = true;
      return true;
    }
    auto j = ParseJson(e.data, "stream chunk");
    if (!j.ok() || !j->is_object()) {
      error = Status::Unavailable("malformed response", "a stream chunk is not a JSON object");
      return false;
    }
    if (j->contains("error")) {
      error = Status::Unavailable("stream error", ErrorMessage(e.data));
      return false;
    }
    last = *j;
    if (j->contains("usage") && (*j)["usage"].is_object()) usage = (*j)["usage"];
    auto ch = j->find("choices");
    if (ch == j->end() || !ch->is_array() || ch->empty() || !(*ch)[0].is_object()) return true;
    const Json& c0 = (*ch)[0];
    if (c0.contains("finish_reason") && c0["finish_reason"].is_string()) {
      finish_reason = c0["finish_reason"].get<std::string>();
    }
    auto d = c0.find("delta");
    if (d == c0.end() || !d->is_object()) return true;
    Delta delta;
    if (d->contains("content") && (*d)["content"].is_string()) {
      delta.text = (*d)["content"].get<std::string>();
      text += delta.text;
    }
    if (d->contains("tool_calls") && (*d)["tool_calls"].is_array() && !(*d)["tool_calls"].empty()) {
      delta.tool_calls = (*d)["tool_calls"];
      for (const Json& tc : delta.tool_calls) AddCall(tc);
    }
    if (!delta.text.empty() || !delta.tool_calls.is_null()) {
      streamed = true;
      if (*on_delta) (*on_delta)(delta);
    }
    return true;
  }

  void AddCall(const Json& tc) {
    if (!tc.is_object()) return;
    int64_t index = IntOr0(tc, "index");
    Json& call = calls[index];
    if (call.is_null()) {
      call =
          Json{{"id", ""}, {"type", "function"}, {"function", {{"name", ""}, {"arguments", ""}}}};
    }
    if (tc.contains("id") && tc["id"].is_string()) call["id"] = tc["id"];
    if (tc.contains("type") && tc["type"].is_string()) call["type"] = tc["type"];
    auto f = tc.find("function");
    if (f == tc.end() || !f->is_object()) return;
    for (const char* key : {"name", "arguments"}) {
      if (f->contains(key) && (*f)[key].is_string()) {
        call["function"][key] =
            call["function"][key].get<std::string>() + (*f)[key].get<std::string>();
      }
    }
  }
};

}  // namespace

OpenAiProvider::OpenAiProvider(ProviderConfig cfg) : cfg_(std::move(cfg)), base_(cfg_.base_url) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

HttpRequest OpenAiProvider::MakeRequest(const std::string& method, const std::string& path,
                                        const JobSpec* spec) const {
  HttpRequest req;
  req.method = method;
  req.url = base_ + path;
  req.timeout_ms = spec != nullptr && spec->timeout_ms > 0 ? spec->timeout_ms : cfg_.timeout_ms;
  req.connect_timeout_ms = cfg_.connect_timeout_ms;
  req.headers.emplace_back("Accept", spec != nullptr && spec->stream && spec->kind == "chat"
                                         ? "text/event-stream"
                                         : "application/json");
  if (method == "POST") req.headers.emplace_back("Content-Type", "application/json");
  if (!cfg_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + cfg_.api_key);
  return req;
}

Status OpenAiProvider::Health() {
  if (base_.empty()) return Status::Unavailable("not configured");
  HttpRequest req = MakeRequest("GET", "/models", nullptr);
  req.timeout_ms =
      std::min(cfg_.timeout_ms > 0 ? cfg_.timeout_ms : kHealthTimeoutMs, kHealthTimeoutMs);
  std::atomic<bool> never{false};
  auto resp = http_.Send(req, nullptr, &never);
  if (!resp.ok()) return Status::Unavailable(resp.status().message());
  if (resp->status >= 200 && resp->status < 300) return Status::OK();
  return Status::Unavailable("HTTP " + std::to_string(resp->status),
                             Redact(ErrorMessage(resp->body), cfg_.api_key));
}

Attempt OpenAiProvider::Run(const JobSpec& spec, const DeltaSink& on_delta,
                            const std::atomic<bool>& cancel) {
  if (base_.empty()) {
    Attempt a;
    a.status = Status::Unavailable("not configured");
    return a;
  }
  if (cancel.load()) {
    Attempt a;
    a.status = Status::Aborted("cancelled");
    return a;
  }
  if (spec.kind == "chat") return Chat(spec, on_delta, cancel);
  if (spec.kind == "embeddings") return Embeddings(spec, cancel);
  Attempt a;
  a.status = Status::InvalidArgument("unknown job kind (chat or embeddings)", spec.kind);
  return a;
}

Attempt OpenAiProvider::Chat(const JobSpec& spec, const DeltaSink& on_delta,
                             const std::atomic<bool>& cancel) {
  if (!spec.input.is_object() || !spec.input.contains("messages") ||
      !spec.input["messages"].is_array()) {
    Attempt a;
    a.status = Status::InvalidArgument("chat input needs a \"messages\" array");
    return a;
  }
  Json body = spec.input;  // tools, tool_choice, temperature... pass through
  body["model"] = spec.model;
  if (spec.max_output_tokens > 0) body["max_tokens"] = spec.max_output_tokens;
  if (spec.stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  } else {
    body.erase("stream");
    body.erase("stream_options");
  }
  HttpRequest req = MakeRequest("POST", "/chat/completions", &spec);
  req.body = DumpJson(body);

  if (!spec.stream) {
    auto resp = http_.Send(req, nullptr, &cancel);
    if (!resp.ok()) return TransportError(resp.status(), false);
    if (resp->status >= 400 || resp->status < 200) {
      return HttpError(*resp, resp->body, cfg_.api_key);
    }
    auto j = ParseJsonObject(resp->body, "chat completion");
    if (!j.ok()) return Malformed(j.status().message());
    const Json& doc = *j;
    auto ch = doc.find("choices");
    if (ch == doc.end() || !ch->is_array() || ch->empty() || !(*ch)[0].is_object() ||
        !(*ch)[0].contains("message") || !(*ch)[0]["message"].is_object()) {
      return Malformed("no choices[0].message");
    }
    const Json& c0 = (*ch)[0];
    const Json& msg = c0["message"];
    Attempt a;
    a.http_status = resp->status;
    if (msg.contains("content") && msg["content"].is_string()) {
      a.output.text = msg["content"].get<std::string>();
    }
    if (msg.contains("tool_calls") && msg["tool_calls"].is_array() && !msg["tool_calls"].empty()) {
      a.output.tool_calls = msg["tool_calls"];
    }
    if (c0.contains("finish_reason") && c0["finish_reason"].is_string()) {
      a.output.finish_reason = c0["finish_reason"].get<std::string>();
    }
    if (doc.contains("usage")) {
      a.output.input_tokens = IntOr0(doc["usage"], "prompt_tokens");
      a.output.output_tokens = IntOr0(doc["usage"], "completion_tokens");
    }
    a.output.raw = doc;
    return a;
  }

  ChatStream st;
  st.on_delta = &on_delta;
  auto resp = http_.Send(
      req, [&st](std::string_view chunk) { return !st.done && st.Feed(chunk); }, &cancel);
  // The sink stops the transfer at [DONE] (a server may keep the stream open after it).
  bool stopped_at_done = !resp.ok() && st.done && !cancel.load() && st.error.ok();
  if (!resp.ok() && !stopped_at_done) {
    if (!st.error.ok()) {
      Attempt a;
      a.status = st.error;
      a.streamed = st.streamed;
      return a;
    }
    Attempt a = TransportError(resp.status(), st.streamed);
    if (st.streamed && a.status.code() == Code::kUnavailable) {
      a.status = Status::Unavailable("stream cut", a.status.message());
    }
    return a;
  }
  int http_status = resp.ok() ? resp->status : 200;
  if (resp.ok() && (resp->status >= 400 || resp->status < 200)) {
    Attempt a = HttpError(*resp, st.head, cfg_.api_key);
    a.streamed = st.streamed;
    return a;
  }
  Attempt a;
  a.http_status = http_status;
  a.streamed = st.streamed;
  if (!st.done || st.finish_reason.empty()) {
    a.status = Status::Unavailable(
        "stream cut", !st.done ? "the stream ended without [DONE]" : "no finish_reason");
    a.retryable = !st.streamed;
    return a;
  }
  a.output.text = std::move(st.text);
  a.output.finish_reason = st.finish_reason;
  if (!st.calls.empty()) {
    a.output.tool_calls = Json::array();
    for (auto& [index, call] : st.calls) a.output.tool_calls.push_back(std::move(call));
  }
  a.output.input_tokens = IntOr0(st.usage, "prompt_tokens");
  a.output.output_tokens = IntOr0(st.usage, "completion_tokens");
  a.output.raw = std::move(st.last);
  return a;
}

Attempt OpenAiProvider::Embeddings(const JobSpec& spec, const std::atomic<bool>& cancel) {
  Attempt a;
  if (!spec.input.is_array()) {
    a.status = Status::InvalidArgument("embeddings input must be an array of strings");
    return a;
  }
  for (const Json& t : spec.input) {
    if (!t.is_string()) {
      a.status = Status::InvalidArgument("embeddings input must be an array of strings");
      return a;
    }
  }
  HttpRequest req = MakeRequest("POST", "/embeddings", &spec);
  req.body = DumpJson(Json{{"model", spec.model}, {"input", spec.input}});
  auto resp = http_.Send(req, nullptr, &cancel);
  if (!resp.ok()) return TransportError(resp.status(), false);
  if (resp->status >= 400 || resp->status < 200) {
    return HttpError(*resp, resp->body, cfg_.api_key);
  }
  auto j = ParseJsonObject(resp->body, "embeddings");
  if (!j.ok()) return Malformed(j.status().message());
  const Json& doc = *j;
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_array() || data->size() != spec.input.size()) {
    return Malformed("data must hold one embedding per input");
  }
  Json vectors = Json::array();
  for (size_t i = 0; i < spec.input.size(); ++i) vectors.push_back(nullptr);
  for (size_t i = 0; i < data->size(); ++i) {
    const Json& item = (*data)[i];
    if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array()) {
      return Malformed("an item without an embedding array");
    }
    int64_t index = static_cast<int64_t>(i);
    if (item.contains("index")) {
      if (!item["index"].is_number_integer()) return Malformed("a non-integer index");
      index = item["index"].get<int64_t>();
    }
    if (index < 0 || index >= static_cast<int64_t>(vectors.size()) ||
        !vectors[static_cast<size_t>(index)].is_null()) {
      return Malformed("an index out of range or repeated");
    }
    vectors[static_cast<size_t>(index)] = item["embedding"];
  }
  a.http_status = resp->status;
  a.output.vectors = std::move(vectors);
  if (doc.contains("usage")) a.output.input_tokens = IntOr0(doc["usage"], "prompt_tokens");
  a.output.raw = doc;
  return a;
}

std::unique_ptr<Provider> MakeOpenAiProvider(const ProviderConfig& cfg) {
  return std::make_unique<OpenAiProvider>(cfg);
}

}  // namespace agent9::compute
