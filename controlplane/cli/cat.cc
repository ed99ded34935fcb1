// `agent9 cat`, `agent9 logs` and `agent9 watch`: print a file's bytes, list a directory,
// follow a stream file over SSE (-f), or print a file each time it changes (watch).
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "controlplane/cli/cli_internal.h"
#include "fs/base/json.h"
#include "fs/base/path.h"

namespace agent9::cli {
namespace {

// Splits SSE text into events and prints each event's data lines; an `event: error` prints
// its message and fails.
class SseParser {
 public:
  explicit SseParser(const ClientEnv& env) : env_(env) {}
  // Returns false once an error event arrived.
  bool Feed(std::string_view chunk) {
    buf_.append(chunk);
    size_t start = 0;
    for (;;) {
      size_t nl = buf_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(buf_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      start = nl + 1;
      if (line.empty()) {
        if (!EndEvent()) return false;
      } else if (line.starts_with("data:")) {
        std::string_view v = line.substr(5);
        if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        data_.emplace_back(v);
      } else if (line.starts_with("event:")) {
        std::string_view v = line.substr(6);
        if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        event_ = std::string(v);
      }  // comments (":") and other fields are ignored
    }
    buf_.erase(0, start);
    return true;
  }
  int exit_code() const { return failed_ ? kExitFailed : kExitOk; }

 private:
  bool EndEvent() {
    if (event_ == "error") {
      std::string text;
      for (const auto& d : data_) text += d;
      auto j = ParseJsonObject(text);
      std::string msg = j.ok() ? j->value("message", text) : text;
      *env_.err << "agent9: " << msg << "\n";
      failed_ = true;
      return false;
    }
    for (const auto& d : data_) *env_.out << d << "\n";
    env_.out->flush();
    data_.clear();
    event_.clear();
    return true;
  }
  const ClientEnv& env_;
  std::string buf_;
  std::string event_;
  std::vector<std::string> data_;
  bool failed_ = false;
};

int Follow(const ClientEnv& env, HttpClient& client, const std::string& target) {
  SseParser parser(env);
  auto r = client.Stream(target + "?watch=1", {{"Accept", "text/event-stream"}},
                         [&](std::string_view chunk) { return parser.Feed(chunk); });
  if (!r.ok()) {
    *env.err << "agent9: " << r.status().message() << "\n";
    return kExitFailed;
  }
  if (r->status < 200 || r->status >= 300) return PrintApiError(env, *r);
  return parser.exit_code();
}

// The /v1/fs target of a CLI path argument; nullopt (after printing why) when it is bad.
std::optional<std::string> FsTarget(const ClientEnv& env, const std::string& arg) {
  auto path = Path::Parse(arg);
  if (!path.ok()) {
    *env.err << "agent9: " << arg << ": " << path.status().message() << "\n";
    return std::nullopt;
  }
  std::string target = "/v1/fs";
  for (const auto& seg : path->segments()) target += "/" + PercentEncode(seg);
  if (path->empty()) target += "/";
  return target;
}

// Prints a GET answer: a file's bytes, or a directory's names (its JSON with --json).
int PrintBody(const ClientEnv& env, const HttpResponse& r) {
  if (r.Header("X-Agent9-Type") != "dir" || env.json) {
    *env.out << r.body;
    env.out->flush();
    return kExitOk;
  }
  auto j = ParseJson(r.body);
  if (!j.ok() || !j->is_array()) {
    *env.err << "agent9: unexpected directory listing from the daemon\n";
    return kExitFailed;
  }
  for (const auto& e : *j) {
    *env.out << e.value("name", std::string()) << (e.value("type", "") == "dir" ? "/" : "") << "\n";
  }
  env.out->flush();
  return kExitOk;
}

// GET target; prints transport and API errors. nullopt on failure (*code says how).
std::optional<HttpResponse> Get(const ClientEnv& env, HttpClient& client, const std::string& target,
                                int* code) {
  auto r = client.Send("GET", target);
  if (!r.ok()) {
    *env.err << "agent9: " << r.status().message() << "\n";
    *code = kExitFailed;
    return std::nullopt;
  }
  if (r->status < 200 || r->status >= 300) {
    *code = PrintApiError(env, *r);
    return std::nullopt;
  }
  return std::move(*r);
}

Result<std::unique_ptr<HttpClient>> Client(const ClientEnv& env, bool follow) {
  HttpClientOptions opts;
  if (follow) opts.read_timeout_ms = 60000;  // the daemon sends a keep-alive every second
  return HttpClient::Create(env.server, env.token, opts);
}

}  // namespace

int CmdCat(const ClientEnv& env, const ClientArgs& a) {
  auto target = FsTarget(env, a.path);
  if (!target) return kExitUsage;
  auto client = Client(env, a.follow);
  if (!client.ok()) {
    *env.err << "agent9: " << client.status().message() << "\n";
    return kExitUsage;
  }
  if (a.follow) return Follow(env, **client, *target);
  int code = kExitOk;
  auto r = Get(env, **client, *target, &code);
  return r ? PrintBody(env, *r) : code;
}

int CmdWatch(const ClientEnv& env, const ClientArgs& a) {
  auto target = FsTarget(env, a.path);
  if (!target) return kExitUsage;
  auto client = Client(env, /*follow=*/true);
  if (!client.ok()) {
    *env.err << "agent9: " << client.status().message() << "\n";
    return kExitUsage;
  }
  auto head = (*client)->Send("HEAD", *target);
  if (!head.ok()) {
    *env.err << "agent9: " << head.status().message() << "\n";
    return kExitFailed;
  }
  if (head->status < 200 || head->status >= 300) {
    // HEAD answers carry no body; GET says why.
    int code = kExitFailed;
    Get(env, **client, *target, &code);
    return code;
  }
  if (head->Header("X-Agent9-Stream") == "1") return Follow(env, **client, *target);
  std::optional<std::string> last;
  for (int64_t shown = 0;;) {
    int code = kExitOk;
    auto r = Get(env, **client, *target, &code);
    if (!r) return code;  // gone, forbidden, daemon down: say so and stop
    if (!last || r->body != *last) {
      code = PrintBody(env, *r);
      if (code != kExitOk) return code;
      if (!r->body.empty() && r->body.back() != '\n') *env.out << "\n";
      env.out->flush();
      last = std::move(r->body);
      if (a.count > 0 && ++shown >= a.count) return kExitOk;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(a.interval_ms));
  }
}

}  // namespace agent9::cli
