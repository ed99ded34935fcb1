#include "tests/fakes/fake_daytona.h"

#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "identity/event.h"
#include "tests/fakes/fake_daytona_exec.h"

namespace agent9::testing {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

std::string RandomHex(size_t bytes) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned>(rng() & 0xff);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

void Error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  json body = {{"statusCode", status},
               {"message", message},
               {"error", status == 401   ? "Unauthorized"
                         : status == 404 ? "Not Found"
                                         : "Error"}};
  res.set_content(body.dump(), "application/json");
}

void Ok(httplib::Response& res, const json& body) {
  res.status = 200;
  res.set_content(body.dump(), "application/json");
}

std::string IsoTime(fs::file_time_type t) {
  auto sys = std::chrono::time_point_cast<std::chrono::seconds>(
      t - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
  std::time_t tt = std::chrono::system_clock::to_time_t(sys);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json FileInfo(const fs::path& p) {
  std::error_code ec;
  auto st = fs::status(p, ec);
  bool dir = fs::is_directory(st);
  int64_t size = dir ? 0 : static_cast<int64_t>(fs::file_size(p, ec));
  auto perms = static_cast<unsigned>(st.permissions()) & 0777;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%o", perms);
  return {{"name", p.filename().string()},
          {"isDir", dir},
          {"size", size},
          {"modTime", IsoTime(fs::last_write_time(p, ec))},
          {"mode", mode},
          {"permissions", mode},
          {"owner", "daytona"},
          {"group", "daytona"}};
}

}  // namespace

struct FakeDaytona::Impl {
  struct Box {
    std::string id;
    json labels = json::object();
    std::map<std::string, std::string> env;
    Clock::time_point created;
    int64_t start_delay_ms = 0;
    std::string fail_state, fail_reason;
    fs::path root;
    bool deleted = false;
    std::set<pid_t> pgids;
  };

  FakeDaytonaOptions opts;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  fs::path base;

  mutable std::mutex mu;
  std::map<std::string, Box> boxes;
  int created = 0;
  int fail_create_status = 0;
  std::string fail_create_message;
  std::string fail_state, fail_reason;
  bool echo_token = false;
  std::map<std::string, int64_t> requests;
  json last_create;
  std::set<std::string> challenges;

  void Count(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    ++requests[key];
  }

  // False (and a 401 sent) when the bearer token is wrong.
  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    if (opts.api_key.empty()) return true;
    std::string got = req.get_header_value("Authorization");
    if (got == "Bearer " + opts.api_key) return true;
    std::string msg = "Unauthorized";
    {
      std::lock_guard<std::mutex> lock(mu);
      if (echo_token) msg += ": invalid API key " + got.substr(std::min<size_t>(7, got.size()));
    }
    Error(res, 401, msg);
    return false;
  }

  static std::string State(const Box& b) {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - b.created).count();
    if (ms < b.start_delay_ms / 2) return "creating";
    if (ms < b.start_delay_ms) return "starting";
    return b.fail_state.empty() ? "started" : b.fail_state;
  }

  static json BoxJson(const Box& b) {
    json j = {{"id", b.id}, {"state", State(b)}, {"labels", b.labels}, {"env", b.env},
              {"cpu", 1},   {"memory", 1},       {"disk", 3}};
    if (!b.fail_reason.empty() && State(b) == b.fail_state) j["errorReason"] = b.fail_reason;
    return j;
  }

  std::string NewBox(json labels, std::map<std::string, std::string> env) {
    Box b;
    b.id = RandomHex(8);
    b.labels = std::move(labels);
    b.env = std::move(env);
    b.created = Clock::now();
    b.start_delay_ms = opts.start_delay_ms;
    b.fail_state = fail_state;
    b.fail_reason = fail_reason;
    b.root = base / b.id;
    fs::create_directories(b.root);
    ++created;
    std::string id = b.id;
    boxes[id] = std::move(b);
    return id;
  }

  // The live, started box named in the route, or an error sent.
  Box* Started(const std::string& id, httplib::Response& res) {
    auto it = boxes.find(id);
    if (it == boxes.end() || it->second.deleted) {
      Error(res, 404, "Sandbox with ID " + id + " not found");
      return nullptr;
    }
    if (State(it->second) != "started") {
      Error(res, 400, "Sandbox is not started");
      return nullptr;
    }
    return &it->second;
  }

  // The host path of a sandbox path ("/work/x"), or "" with a 400 sent.
  static fs::path Map(const Box& b, const std::string& path, httplib::Response& res) {
    if (path.empty() || path[0] != '/') {
      Error(res, 400, "path must be absolute");
      return {};
    }
    fs::path p(path);
    for (const auto& part : p) {
      if (part == "..") {
        Error(res, 400, "invalid path");
        return {};
      }
    }
    return b.root / p.relative_path();
  }

  void KillBox(Box& b) {
    for (pid_t g : b.pgids) ::kill(-g, SIGKILL);
    b.pgids.clear();
  }

  void Routes();
  void SandboxRoutes();
  void FileRoutes();
  void AuthRoutes();
};

void FakeDaytona::Impl::SandboxRoutes() {
  server.Post("/sandbox", [this](const httplib::Request& req, httplib::Response& res) {
    Count("POST /sandbox");
    if (!Authorized(req, res)) return;
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object()) return Error(res, 400, "body must be a JSON object");
    std::lock_guard<std::mutex> lock(mu);
    last_create = body;
    if (fail_create_status != 0) return Error(res, fail_create_status, fail_create_message);
    std::map<std::string, std::string> env;
    if (body.contains("env") && body["env"].is_object()) {
      for (auto& [k, v] : body["env"].items()) {
        if (v.is_string()) env[k] = v.get<std::string>();
      }
    }
    json labels = body.value("labels", json::object());
    std::string id = NewBox(labels, env);
    Ok(res, BoxJson(boxes[id]));
  });
  server.Get("/sandbox", [this](const httplib::Request& req, httplib::Response& res) {
    Count("GET /sandbox");
    if (!Authorized(req, res)) return;
    json want = json::object();
    if (req.has_param("labels")) {
      want = json::parse(req.get_param_value("labels"), nullptr, false);
      if (!want.is_object()) return Error(res, 400, "labels must be a JSON object");
    }
    json out = json::array();
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [id, b] : boxes) {
      if (b.deleted) continue;
      bool match = true;
      for (auto& [k, v] : want.items()) {
        if (!b.labels.contains(k) || b.labels[k] != v) match = false;
      }
      if (match) out.push_back(BoxJson(b));
    }
    Ok(res, out);
  });
  server.Get(R"(/sandbox/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    Count("GET /sandbox/id");
    if (!Authorized(req, res)) return;
    std::lock_guard<std::mutex> lock(mu);
    auto it = boxes.find(req.matches[1]);
    if (it == boxes.end() || it->second.deleted) {
      return Error(res, 404, "Sandbox with ID " + std::string(req.matches[1]) + " not found");
    }
    Ok(res, BoxJson(it->second));
  });
  server.Delete(R"(/sandbox/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    Count("DELETE /sandbox/id");
    if (!Authorized(req, res)) return;
    fs::path root;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = boxes.find(req.matches[1]);
      if (it == boxes.end() || it->second.deleted) {
        return Error(res, 404, "Sandbox with ID " + std::string(req.matches[1]) + " not found");
      }
      it->second.deleted = true;
      KillBox(it->second);
      root = it->second.root;
    }
    std::error_code ec;
    fs::remove_all(root, ec);
    res.status = 200;
  });
  server.Post(R"(/toolbox/([^/]+)/toolbox/process/execute)", [this](const httplib::Request& req,
                                                                    httplib::Response& res) {
    Count("execute");
    if (!Authorized(req, res)) return;
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("command") || !body["command"].is_string()) {
      return Error(res, 400, "command is required");
    }
    ExecRequest ex;
    ex.command = body["command"].get<std::string>();
    int64_t timeout_s = body.value("timeout", int64_t{10});
    ex.timeout_ms = timeout_s > 0 ? timeout_s * 1000 : 0;
    std::string id = req.matches[1];
    {
      std::lock_guard<std::mutex> lock(mu);
      Box* b = Started(id, res);
      if (b == nullptr) return;
      fs::path cwd = Map(*b, body.value("cwd", std::string("/")), res);
      if (cwd.empty()) return;
      ex.cwd = cwd.string();
      ex.env = b->env;
      ex.env["HOME"] = b->root.string();
    }
    ex.on_start = [this, id](pid_t pgid) {
      std::lock_guard<std::mutex> lock(mu);
      auto it = boxes.find(id);
      if (it == boxes.end() || it->second.deleted) {
        ::kill(-pgid, SIGKILL);
        return;
      }
      it->second.pgids.insert(pgid);
    };
    ExecResult r = RunShell(ex);
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = boxes.find(id);
      if (it != boxes.end()) it->second.pgids.erase(r.pgid);
      if (it == boxes.end() || it->second.deleted) {
        return Error(res, 502, "sandbox was deleted");
      }
    }
    if (r.timed_out) return Error(res, 408, "command execution timeout");
    Ok(res, {{"exitCode", r.exit_code}, {"result", r.output}});
  });
}

void FakeDaytona::Impl::FileRoutes() {
  // Runs fn(box, host path) for a started box and a valid path query, else sends the error.
  auto with_path = [this](const httplib::Request& req, httplib::Response& res, auto fn) {
    if (!Authorized(req, res)) return;
    std::unique_lock<std::mutex> lock(mu);
    Box* b = Started(req.matches[1], res);
    if (b == nullptr) return;
    if (!req.has_param("path")) return Error(res, 400, "path is required");
    fs::path p = Map(*b, req.get_param_value("path"), res);
    if (p.empty()) return;
    lock.unlock();
    fn(p);
  };
  const std::string prefix = R"(/toolbox/([^/]+)/toolbox/files)";
  server.Get(prefix, [this, with_path](const httplib::Request& req, httplib::Response& res) {
    Count("list");
    with_path(req, res, [&](const fs::path& p) {
      if (!fs::exists(p)) return Error(res, 404, "file not found");
      if (!fs::is_directory(p)) return Error(res, 400, "not a directory");
      json out = json::array();
      for (const auto& e : fs::directory_iterator(p)) out.push_back(FileInfo(e.path()));
      Ok(res, out);
    });
  });
  server.Get(prefix + "/info",
             [this, with_path](const httplib::Request& req, httplib::Response& res) {
               Count("info");
               with_path(req, res, [&](const fs::path& p) {
                 if (!fs::exists(p)) return Error(res, 404, "file not found");
                 Ok(res, FileInfo(p));
               });
             });
  server.Get(
      prefix + "/download", [this, with_path](const httplib::Request& req, httplib::Response& res) {
        Count("download");
        with_path(req, res, [&](const fs::path& p) {
          if (!fs::exists(p)) return Error(res, 404, "file not found");
          if (fs::is_directory(p)) return Error(res, 400, "path is a directory");
          std::ifstream in(p, std::ios::binary);
          std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
          res.status = 200;
          res.set_content(data, "application/octet-stream");
        });
      });
  server.Post(prefix + "/upload",
              [this, with_path](const httplib::Request& req, httplib::Response& res) {
                Count("upload");
                with_path(req, res, [&](const fs::path& p) {
                  if (!req.has_file("file")) return Error(res, 400, "file is required");
                  if (fs::is_directory(p)) return Error(res, 400, "path is a directory");
                  std::error_code ec;
                  fs::create_directories(p.parent_path(), ec);
                  std::ofstream out(p, std::ios::binary | std::ios::trunc);
                  std::string content = req.get_file_value("file").content;
                  out.write(content.data(), static_cast<std::streamsize>(content.size()));
                  if (!out) return Error(res, 500, "write failed");
                  res.status = 200;
                });
              });
  server.Post(prefix + "/folder",
              [this, with_path](const httplib::Request& req, httplib::Response& res) {
                Count("folder");
                with_path(req, res, [&](const fs::path& p) {
                  std::error_code ec;
                  fs::create_directories(p, ec);
                  if (ec) return Error(res, 400, ec.message());
                  res.status = 200;
                });
              });
  server.Delete(prefix, [this, with_path](const httplib::Request& req, httplib::Response& res) {
    Count("delete file");
    with_path(req, res, [&](const fs::path& p) {
      if (!fs::exists(p)) return Error(res, 404, "file not found");
      std::error_code ec;
      if (req.get_param_value("recursive") == "true") {
        fs::remove_all(p, ec);
      } else {
        fs::remove(p, ec);
      }
      if (ec) return Error(res, 400, ec.message());
      res.status = 200;
    });
  });
}

void FakeDaytona::Impl::AuthRoutes() {
  server.Get("/auth/nostr/challenge", [this](const httplib::Request&, httplib::Response& res) {
    Count("challenge");
    std::string c = RandomHex(32);
    {
      std::lock_guard<std::mutex> lock(mu);
      challenges.insert(c);
    }
    Ok(res, {{"challenge", c}});
  });
  server.Post("/auth/nostr", [this](const httplib::Request& req, httplib::Response& res) {
    Count("auth");
    auto refuse = [&](const std::string& why) {
      res.status = 401;
      res.set_content(json{{"error", why}}.dump(), "application/json");
    };
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("event")) return refuse("missing event");
    auto ev = identity::EventFromJson(body["event"]);
    if (!ev.ok()) return refuse(ev.status().message());
    if (Status st = identity::VerifyEvent(*ev); !st.ok()) return refuse(st.message());
    if (ev->kind != 22242) return refuse("event kind must be 22242");
    std::string challenge, u;
    for (const auto& tag : ev->tags) {
      if (tag.size() >= 2 && tag[0] == "challenge") challenge = tag[1].get<std::string>();
      if (tag.size() >= 2 && tag[0] == "u") u = tag[1].get<std::string>();
    }
    if (u != "http://127.0.0.1:" + std::to_string(port)) return refuse("wrong u tag");
    {
      std::lock_guard<std::mutex> lock(mu);
      if (challenges.erase(challenge) == 0) return refuse("unknown or used challenge");
    }
    Ok(res, {{"ok", true}, {"pubkey", ev->pubkey}});
  });
}

void FakeDaytona::Impl::Routes() {
  SandboxRoutes();
  FileRoutes();
  AuthRoutes();
}

FakeDaytona::FakeDaytona(FakeDaytonaOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  impl_->base = fs::temp_directory_path() /
                ("fake-daytona-" + std::to_string(::getpid()) + "-" + RandomHex(4));
  fs::create_directories(impl_->base);
  httplib::Server& server = impl_->server;
  const size_t threads = static_cast<size_t>(std::max(1, impl_->opts.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };  // NOLINT
  impl_->Routes();
  if (impl_->opts.port == 0) {
    impl_->port = server.bind_to_any_port(impl_->opts.host);
  } else {
    impl_->port = server.bind_to_port(impl_->opts.host, impl_->opts.port) ? impl_->opts.port : -1;
  }
  if (impl_->port <= 0) throw std::runtime_error("fake-daytona: cannot bind " + impl_->opts.host);
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeDaytona::~FakeDaytona() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [id, b] : impl_->boxes) impl_->KillBox(b);
  }
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  std::error_code ec;
  fs::remove_all(impl_->base, ec);
}

int FakeDaytona::port() const { return impl_->port; }

std::string FakeDaytona::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

void FakeDaytona::SetStartDelayMs(int64_t ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->opts.start_delay_ms = ms;
}

void FakeDaytona::FailCreate(int status, const std::string& message) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->fail_create_status = status;
  impl_->fail_create_message = message;
}

void FakeDaytona::FailStart(const std::string& state, const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->fail_state = state;
  impl_->fail_reason = reason;
}

void FakeDaytona::EchoTokenInErrors(bool on) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->echo_token = on;
}

int FakeDaytona::LiveSandboxes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int>(std::count_if(impl_->boxes.begin(), impl_->boxes.end(),
                                        [](const auto& kv) { return !kv.second.deleted; }));
}

int FakeDaytona::CreatedSandboxes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->created;
}

std::string FakeDaytona::RootOf(const std::string& id) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->boxes.find(id);
  return it == impl_->boxes.end() || it->second.deleted ? "" : it->second.root.string();
}

json FakeDaytona::LastCreateBody() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_create;
}

int64_t FakeDaytona::Requests(const std::string& key) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto it = impl_->requests.find(key);
  return it == impl_->requests.end() ? 0 : it->second;
}

std::string FakeDaytona::Plant(const json& labels) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->NewBox(labels, {});
}

}  // namespace agent9::testing
