// The OpenAI side of FakeLlm: /v1/chat/completions (plain and SSE), /v1/embeddings, /v1/models.
// Embeddings: 8 floats in [-1, 1) per text, derived from an FNV-1a hash of it; the data items
// come back in reverse order (each with its index), so clients must order them by index.
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "tests/fakes/fake_llm_internal.h"

namespace agent9::testing {

namespace {

using nlohmann::json;

void SendError(httplib::Response& res, int status, const std::string& type,
               const std::string& message) {
  res.status = status;
  json doc{
      {"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
  res.set_content(doc.dump(), "application/json");
}

std::string BearerKey(const httplib::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  const std::string prefix = "Bearer ";
  return auth.compare(0, prefix.size(), prefix) == 0 ? auth.substr(prefix.size()) : "";
}

// The checks every POST route shares: the key, the body, the failing scenarios and the delay.
// Returns false when res already holds the answer.
bool Admit(FakeLlm::Impl& impl, const httplib::Request& req, httplib::Response& res,
           const json& body, Scenario* sc) {
  if (!impl.KeyOk(BearerKey(req))) {
    SendError(res, 401, "invalid_request_error", "Incorrect API key provided");
    return false;
  }
  if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
    SendError(res, 400, "invalid_request_error", "the body must be a JSON object with a model");
    return false;
  }
  std::string model = body["model"].get<std::string>();
  *sc = ParseScenario(model);
  switch (sc->kind) {
    case Scenario::k429Once:
      if (impl.FirstTime(model)) {
        res.set_header("Retry-After", "1");
        SendError(res, 429, "rate_limit_exceeded", "Rate limit reached, retry after 1s");
        return false;
      }
      break;
    case Scenario::k500Once:
      if (impl.FirstTime(model)) {
        SendError(res, 500, "server_error", "The server had an error");
        return false;
      }
      break;
    case Scenario::k500Always:
      SendError(res, 500, "server_error", "The server had an error");
      return false;
    case Scenario::kBadRequest:
      SendError(res, 400, "invalid_request_error", "bad request: the fake refuses this model");
      return false;
    default:
      break;
  }
  if (sc->slow_ms > 0 && !impl.SleepMs(sc->slow_ms)) {
    SendError(res, 503, "server_error", "shutting down");
    return false;
  }
  return true;
}

const char* kToolArgs = R"({"city":"Paris"})";

json Chunk(const std::string& model, json delta, json finish_reason) {
  return json{{"id", "chatcmpl-fake"},
              {"object", "chat.completion.chunk"},
              {"created", static_cast<int64_t>(std::time(nullptr))},
              {"model", model},
              {"choices", json::array({{{"index", 0},
                                        {"delta", std::move(delta)},
                                        {"finish_reason", std::move(finish_reason)}}})}};
}

std::string Event(const json& j) { return "data: " + j.dump() + "\n\n"; }

void Chat(FakeLlm::Impl& impl, const httplib::Request& req, httplib::Response& res) {
  json body = impl.Record(req);
  Scenario sc;
  if (!Admit(impl, req, res, body, &sc)) return;
  std::string model = body["model"].get<std::string>();
  json messages = body.value("messages", json::array());
  bool stream = body.value("stream", false);
  bool usage_chunk = stream && body.contains("stream_options") &&
                     body["stream_options"].is_object() &&
                     body["stream_options"].value("include_usage", false);
  bool tools = sc.kind == Scenario::kTools;
  std::string text = tools ? "" : EchoAnswer(messages);
  json usage{{"prompt_tokens", InputWords(messages)},
             {"completion_tokens", tools ? CountWords(kToolArgs) : CountWords(text)}};
  usage["total_tokens"] =
      usage["prompt_tokens"].get<int64_t>() + usage["completion_tokens"].get<int64_t>();

  if (!stream) {
    if (sc.kind == Scenario::kMalformed) {
      res.set_content("{\"choices\": [ this is not json", "application/json");
      return;
    }
    json message{{"role", "assistant"}, {"content", tools ? json(nullptr) : json(text)}};
    if (tools) {
      message["tool_calls"] =
          json::array({{{"id", "call_fake_1"},
                        {"type", "function"},
                        {"function", {{"name", "get_weather"}, {"arguments", kToolArgs}}}}});
    }
    json doc{{"id", "chatcmpl-fake"},
             {"object", "chat.completion"},
             {"created", static_cast<int64_t>(std::time(nullptr))},
             {"model", model},
             {"choices", json::array({{{"index", 0},
                                       {"message", std::move(message)},
                                       {"finish_reason", tools ? "tool_calls" : "stop"}}})},
             {"usage", usage}};
    std::string out = doc.dump();
    if (sc.kind == Scenario::kCut) out.resize(out.size() / 2);
    res.set_content(out, "application/json");
    return;
  }

  // The stream's events, written one per provider call; an empty string cuts the connection.
  auto events = std::make_shared<std::vector<std::string>>();
  if (sc.kind == Scenario::kMalformed) {
    events->push_back("data: {\"choices\": [ not json\n\n");
    events->push_back("data: [DONE]\n\n");
  } else {
    events->push_back(Event(Chunk(model, {{"role", "assistant"}, {"content", ""}}, nullptr)));
    if (tools) {
      events->push_back(Event(
          Chunk(model,
                {{"tool_calls",
                  json::array({{{"index", 0},
                                {"id", "call_fake_1"},
                                {"type", "function"},
                                {"function", {{"name", "get_weather"}, {"arguments", ""}}}}})}},
                nullptr)));
      for (const char* piece : {R"({"city":)", R"("Paris"})"}) {
        events->push_back(Event(Chunk(
            model,
            {{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", piece}}}}})}},
            nullptr)));
      }
    } else {
      int n = 0;
      for (const std::string& piece : SplitDeltas(text, impl.opts.stream_chunk_words)) {
        events->push_back(Event(Chunk(model, {{"content", piece}}, nullptr)));
        if (sc.kind == Scenario::kCut && ++n == 2) break;
      }
    }
    if (sc.kind == Scenario::kCut) {
      events->push_back("");
    } else {
      events->push_back(Event(Chunk(model, json::object(), tools ? "tool_calls" : "stop")));
      if (usage_chunk) {
        json last{{"id", "chatcmpl-fake"},
                  {"object", "chat.completion.chunk"},
                  {"model", model},
                  {"choices", json::array()},
                  {"usage", usage}};
        events->push_back(Event(last));
      }
      events->push_back("data: [DONE]\n\n");
    }
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [events, next = size_t{0}](size_t, httplib::DataSink& sink) mutable {
        if (next >= events->size()) {
          sink.done();
          return true;
        }
        const std::string& e = (*events)[next++];
        if (e.empty()) return false;  // drop the connection mid-stream
        return sink.write(e.data(), e.size());
      });
}

uint64_t Fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 1099511628211ULL);
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void Embeddings(FakeLlm::Impl& impl, const httplib::Request& req, httplib::Response& res) {
  json body = impl.Record(req);
  Scenario sc;
  if (!Admit(impl, req, res, body, &sc)) return;
  if (sc.kind == Scenario::kMalformed || sc.kind == Scenario::kCut) {
    res.set_content("{\"data\": [ not json", "application/json");
    return;
  }
  json input = body.value("input", json());
  if (input.is_string()) input = json::array({input});
  if (!input.is_array()) {
    SendError(res, 400, "invalid_request_error", "input must be a string or an array");
    return;
  }
  json data = json::array();
  int64_t words = 0;
  for (size_t i = input.size(); i-- > 0;) {
    std::string text = input[i].is_string() ? input[i].get<std::string>() : input[i].dump();
    words += CountWords(text);
    json vec = json::array();
    for (uint64_t k = 0; k < 8; ++k) {
      vec.push_back(static_cast<double>(Fnv1a(text, k) % 2000) / 1000.0 - 1.0);
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(vec)}});
  }
  json doc{{"object", "list"},
           {"data", std::move(data)},
           {"model", body["model"]},
           {"usage", {{"prompt_tokens", words}, {"total_tokens", words}}}};
  res.set_content(doc.dump(), "application/json");
}

}  // namespace

void AddOpenAiRoutes(httplib::Server& server, FakeLlm::Impl& impl) {
  server.Post("/v1/chat/completions", [&impl](const httplib::Request& req, httplib::Response& res) {
    Chat(impl, req, res);
  });
  server.Post("/v1/embeddings", [&impl](const httplib::Request& req, httplib::Response& res) {
    Embeddings(impl, req, res);
  });
  // /v1/models answers both APIs: the key is a bearer token or an x-api-key header, and an
  // anthropic-version header picks Anthropic's document shapes.
  server.Get("/v1/models", [&impl](const httplib::Request& req, httplib::Response& res) {
    impl.Record(req);
    std::string key =
        req.has_header("x-api-key") ? req.get_header_value("x-api-key") : BearerKey(req);
    bool anthropic = req.has_header("anthropic-version");
    if (!impl.KeyOk(key)) {
      if (anthropic) {
        res.status = 401;
        json doc{{"type", "error"},
                 {"error", {{"type", "authentication_error"}, {"message", "invalid x-api-key"}}}};
        res.set_content(doc.dump(), "application/json");
      } else {
        SendError(res, 401, "invalid_request_error", "Incorrect API key provided");
      }
      return;
    }
    json data = json::array();
    for (const char* id : {"echo", "tools", "fake-embed"}) {
      data.push_back({{"id", id}, {"object", "model"}, {"type", "model"}, {"owned_by", "fake"}});
    }
    json doc = anthropic ? json{{"data", std::move(data)}, {"has_more", false}}
                         : json{{"object", "list"}, {"data", std::move(data)}};
    res.set_content(doc.dump(), "application/json");
  });
}

}  // namespace agent9::testing
