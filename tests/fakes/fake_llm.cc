#include "tests/fakes/fake_llm.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "tests/fakes/fake_llm_internal.h"

namespace agent9::testing {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Scenario ParseScenario(std::string_view model) {
  Scenario s;
  if (StartsWith(model, "tools")) {
    s.kind = Scenario::kTools;
  } else if (StartsWith(model, "429-once")) {
    s.kind = Scenario::k429Once;
  } else if (StartsWith(model, "500-once")) {
    s.kind = Scenario::k500Once;
  } else if (StartsWith(model, "500-always")) {
    s.kind = Scenario::k500Always;
  } else if (StartsWith(model, "cut")) {
    s.kind = Scenario::kCut;
  } else if (StartsWith(model, "malformed")) {
    s.kind = Scenario::kMalformed;
  } else if (StartsWith(model, "bad-request")) {
    s.kind = Scenario::kBadRequest;
  } else if (StartsWith(model, "slow-")) {
    int ms = 0;
    for (char c : model.substr(5)) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || ms > 10'000'000) break;
      ms = ms * 10 + (c - '0');
    }
    s.slow_ms = ms;
  }
  return s;
}

std::string ContentText(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& block : content) {
    if (!block.is_object()) continue;
    auto t = block.find("text");
    if (t == block.end() || !t->is_string()) continue;
    if (!out.empty()) out += ' ';
    out += t->get<std::string>();
  }
  return out;
}

std::string EchoAnswer(const nlohmann::json& messages) {
  std::string last;
  if (messages.is_array()) {
    for (const auto& m : messages) {
      if (m.is_object() && m.value("role", "") == "user" && m.contains("content")) {
        last = ContentText(m["content"]);
      }
    }
  }
  return "echo: " + last;
}

int64_t CountWords(std::string_view text) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

int64_t InputWords(const nlohmann::json& messages, const nlohmann::json& system) {
  int64_t n = CountWords(ContentText(system));
  if (messages.is_array()) {
    for (const auto& m : messages) {
      if (m.is_object() && m.contains("content")) n += CountWords(ContentText(m["content"]));
    }
  }
  return n;
}

std::vector<std::string> SplitDeltas(const std::string& text, int words_per_delta) {
  if (words_per_delta < 1) words_per_delta = 1;
  std::vector<std::string> out;
  std::string cur;
  int words = 0;
  size_t i = 0;
  while (i < text.size()) {
    // Leading spaces, then one word.
    size_t j = i;
    while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    cur.append(text, i, j - i);
    i = j;
    if (++words == words_per_delta) {
      out.push_back(std::move(cur));
      cur.clear();
      words = 0;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

nlohmann::json FakeLlm::Impl::Record(const httplib::Request& req) {
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded()) body = nullptr;
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[lower] = value;
  }
  headers["x-fake-remote-port"] = std::to_string(req.remote_port);
  std::lock_guard<std::mutex> lock(mu);
  ++requests[req.path];
  ++total;
  last_body[req.path] = body;
  last_headers[req.path] = std::move(headers);
  return body;
}

bool FakeLlm::Impl::FirstTime(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu);
  return seen_models.insert(model).second;
}

bool FakeLlm::Impl::KeyOk(std::string_view received) const {
  return opts.api_key.empty() || received == opts.api_key;
}

bool FakeLlm::Impl::SleepMs(int ms) {
  std::unique_lock<std::mutex> lock(mu);
  return !cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping.load(); });
}

FakeLlm::FakeLlm(FakeLlmOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  httplib::Server& server = impl_->server;
  const size_t threads = static_cast<size_t>(std::max(1, impl_->opts.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };  // NOLINT
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100'000);
  server.set_keep_alive_timeout(30);
  AddOpenAiRoutes(server, *impl_);
  AddAnthropicRoutes(server, *impl_);
  if (impl_->opts.port == 0) {
    impl_->port = server.bind_to_any_port(impl_->opts.host);
  } else {
    impl_->port = server.bind_to_port(impl_->opts.host, impl_->opts.port) ? impl_->opts.port : -1;
  }
  if (impl_->port <= 0) throw std::runtime_error("fake-llm: cannot bind " + impl_->opts.host);
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeLlm::~FakeLlm() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int FakeLlm::port() const { return impl_->port; }

std::string FakeLlm::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

int64_t FakeLlm::Requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->requests.find(path);
  return it == impl_->requests.end() ? 0 : it->second;
}

int64_t FakeLlm::TotalRequests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->total;
}

nlohmann::json FakeLlm::LastBody(const std::string& path) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->last_body.find(path);
  return it == impl_->last_body.end() ? nlohmann::json(nullptr) : it->second;
}

std::string FakeLlm::LastHeader(const std::string& path, const std::string& name) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->last_headers.find(path);
  if (it == impl_->last_headers.end()) return "";
  auto h = it->second.find(name);
  return h == it->second.end() ? "" : h->second;
}

}  // namespace agent9::testing
