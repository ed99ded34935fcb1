// The Anthropic Messages API of FakeLlm: POST /v1/messages (plain, and streamed as the real
// event sequence message_start, content_block_start, ping, content_block_delta...,
// content_block_stop, message_delta, message_stop). GET /v1/models, which both APIs share,
// is served by fake_openai.cc (an x-api-key or anthropic-version header picks Anthropic's shape).
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "tests/fakes/fake_llm_internal.h"

namespace agent9::testing {
namespace {

using nlohmann::json;

std::atomic<int64_t> next_id{1};

// A dump that never throws: invalid UTF-8 from a request is replaced.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string NextId(const char* prefix) { return prefix + std::to_string(next_id++); }

void SendError(httplib::Response& res, int status, const std::string& type,
               const std::string& message) {
  res.status = status;
  json doc{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
  res.set_content(Dump(doc), "application/json");
}

std::string Event(const std::string& name, const json& data) {
  return "event: " + name + "\ndata: " + Dump(data) + "\n\n";
}

// What the real API refuses before it runs a model; "" when the request is well-formed.
std::string Invalid(const httplib::Request& req, const json& body) {
  if (!req.has_header("anthropic-version")) return "anthropic-version: header is required";
  if (!body.is_object()) return "request body is not a JSON object";
  if (!body.contains("model") || !body["model"].is_string()) return "model: Field required";
  if (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer() ||
      body["max_tokens"].get<int64_t>() < 1) {
    return "max_tokens: Field required";
  }
  if (!body.contains("messages") || !body["messages"].is_array()) {
    return "messages: Field required";
  }
  for (const auto& m : body["messages"]) {
    std::string role = m.is_object() ? m.value("role", "") : "";
    if (role != "user" && role != "assistant") {
      return "messages: Unexpected role \"" + role + "\"";
    }
  }
  return "";
}

// The answer's content blocks and its stop reason for a scenario.
struct Answer {
  bool tool = false;
  std::string text;  // the text answer, or the tool input's JSON
  std::string tool_id;
  std::string stop_reason;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
};

const char* kToolInput = R"({"city":"Paris"})";

Answer MakeAnswer(const Scenario& sc, const json& body) {
  Answer a;
  a.input_tokens = InputWords(body["messages"], body.contains("system") ? body["system"] : json());
  if (sc.kind == Scenario::kTools) {
    a.tool = true;
    a.text = kToolInput;
    a.tool_id = NextId("toolu_fake_");
    a.stop_reason = "tool_use";
    a.output_tokens = CountWords("get_weather " + a.text);
  } else {
    a.text = EchoAnswer(body["messages"]);
    a.stop_reason = "end_turn";
    a.output_tokens = CountWords(a.text);
  }
  return a;
}

json MessageDoc(const std::string& id, const std::string& model) {
  return {{"id", id},
          {"type", "message"},
          {"role", "assistant"},
          {"model", model},
          {"content", json::array()},
          {"stop_reason", nullptr},
          {"stop_sequence", nullptr}};
}

void AnswerPlain(const Scenario& sc, const json& body, httplib::Response& res) {
  Answer a = MakeAnswer(sc, body);
  json doc = MessageDoc(NextId("msg_fake_"), body["model"].get<std::string>());
  if (a.tool) {
    doc["content"].push_back({{"type", "tool_use"},
                              {"id", a.tool_id},
                              {"name", "get_weather"},
                              {"input", json::parse(a.text)}});
  } else {
    doc["content"].push_back({{"type", "text"}, {"text", a.text}});
  }
  doc["stop_reason"] = a.stop_reason;
  doc["usage"] = {{"input_tokens", a.input_tokens}, {"output_tokens", a.output_tokens}};
  std::string text = Dump(doc);
  if (sc.kind == Scenario::kCut) text.resize(text.size() / 2);
  res.set_content(text, "application/json");
}

void AnswerStream(FakeLlm::Impl& impl, const Scenario& sc, const json& body,
                  httplib::Response& res) {
  std::vector<std::string> events;
  if (sc.kind == Scenario::kMalformed) {
    events.push_back("event: message_start\ndata: {this is not json\n\n");
  } else {
    Answer a = MakeAnswer(sc, body);
    json msg = MessageDoc(NextId("msg_fake_"), body["model"].get<std::string>());
    msg["usage"] = {{"input_tokens", a.input_tokens}, {"output_tokens", 1}};
    events.push_back(Event("message_start", {{"type", "message_start"}, {"message", msg}}));
    json block = a.tool ? json{{"type", "tool_use"},
                               {"id", a.tool_id},
                               {"name", "get_weather"},
                               {"input", json::object()}}
                        : json{{"type", "text"}, {"text", ""}};
    events.push_back(
        Event("content_block_start",
              {{"type", "content_block_start"}, {"index", 0}, {"content_block", block}}));
    events.push_back(Event("ping", {{"type", "ping"}}));
    std::vector<std::string> pieces;
    if (a.tool) {
      pieces = {"", R"({"city": )", R"("Paris"})"};
    } else {
      pieces = SplitDeltas(a.text, impl.opts.stream_chunk_words);
    }
    int sent = 0;
    for (const std::string& p : pieces) {
      json delta = a.tool ? json{{"type", "input_json_delta"}, {"partial_json", p}}
                          : json{{"type", "text_delta"}, {"text", p}};
      events.push_back(Event("content_block_delta",
                             {{"type", "content_block_delta"}, {"index", 0}, {"delta", delta}}));
      if (!p.empty()) ++sent;
      if (sc.kind == Scenario::kCut && sent == 2) break;
    }
    if (sc.kind != Scenario::kCut) {
      events.push_back(Event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
      events.push_back(Event(
          "message_delta", {{"type", "message_delta"},
                            {"delta", {{"stop_reason", a.stop_reason}, {"stop_sequence", nullptr}}},
                            {"usage", {{"output_tokens", a.output_tokens}}}}));
      events.push_back(Event("message_stop", {{"type", "message_stop"}}));
    }
  }
  bool cut = sc.kind == Scenario::kCut;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [events = std::move(events), cut](size_t, httplib::DataSink& sink) {
        for (const std::string& e : events) {
          if (!sink.write(e.data(), e.size())) return false;
        }
        if (cut) return false;  // drop the connection: no final chunk, no message_stop
        sink.done();
        return true;
      });
}

void HandleMessages(FakeLlm::Impl& impl, const httplib::Request& req, httplib::Response& res) {
  json body = impl.Record(req);
  if (!impl.KeyOk(req.get_header_value("x-api-key"))) {
    return SendError(res, 401, "authentication_error", "invalid x-api-key");
  }
  if (std::string why = Invalid(req, body); !why.empty()) {
    return SendError(res, 400, "invalid_request_error", why);
  }
  const std::string model = body["model"].get<std::string>();
  Scenario sc = ParseScenario(model);
  if (sc.slow_ms > 0 && !impl.SleepMs(sc.slow_ms)) {
    return SendError(res, 529, "overloaded_error", "server stopping");
  }
  switch (sc.kind) {
    case Scenario::k429Once:
      if (impl.FirstTime(model)) {
        res.set_header("retry-after", "1");
        return SendError(res, 429, "rate_limit_error", "rate limited: try again in 1 s");
      }
      break;
    case Scenario::k500Once:
      if (impl.FirstTime(model)) return SendError(res, 500, "api_error", "internal error");
      break;
    case Scenario::k500Always:
      return SendError(res, 500, "api_error", "internal error");
    case Scenario::kBadRequest:
      return SendError(res, 400, "invalid_request_error", "bad request: the fake refuses it");
    default:
      break;
  }
  bool stream =
      body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
  if (stream) return AnswerStream(impl, sc, body, res);
  if (sc.kind == Scenario::kMalformed) {
    return res.set_content("this is not json", "application/json");
  }
  AnswerPlain(sc, body, res);
}

}  // namespace

void AddAnthropicRoutes(httplib::Server& server, FakeLlm::Impl& impl) {
  server.Post("/v1/messages", [&impl](const httplib::Request& req, httplib::Response& res) {
    HandleMessages(impl, req, res);
  });
}

}  // namespace agent9::testing
