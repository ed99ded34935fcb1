#include "controlplane/http/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "controlplane/http/http_context.h"
#include "controlplane/http/http_util.h"
#include "fs/base/log.h"

namespace agent9 {
namespace {

using http::HttpContext;

unsigned ThreadCount(unsigned requested) {
  if (requested > 0) return requested;
  return std::max(64u, 8 * std::max(1u, std::thread::hardware_concurrency()));
}

bool IsBodyMethod(std::string_view m) { return m == "POST" || m == "PUT"; }

// The error body for answers httplib makes itself, before any handler ran.
Status LibraryError(int http_status) {
  switch (http_status) {
    case 400:
      return Status::InvalidArgument("malformed request");
    case 404:
      return Status::NotFound("no such route");
    case 413:
      return Status::TooLarge("request body too large");
    case 414:
      return Status::TooLarge("request target too long");
    default:
      return Status::Internal("HTTP " + std::to_string(http_status));
  }
}

// The body limit of a request: import bundles may be larger than everything else.
size_t BodyLimit(const HttpOptions& opts, const std::string& target) {
  if (http::SplitTarget(target).path == "/v1/agents/import") {
    return std::max(opts.max_body_bytes, opts.max_import_bytes);
  }
  return opts.max_body_bytes;
}

// One entry point for every request: routes on the raw (undecoded) target, so the file API
// sees exactly the bytes the client sent.
void Route(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
           const httplib::ContentReader* reader) {
  std::string body;
  if (reader) {
    Status st = http::ReadBody(req, res, *reader, BodyLimit(ctx.opts, req.target), &body);
    if (!st.ok()) return http::SendError(res, st);
  }
  http::Target t = http::SplitTarget(req.target);
  if (t.path.empty() || t.path[0] != '/') {
    return http::SendError(res, Status::InvalidArgument("request target must be a path"));
  }
  res.set_header("Cache-Control", "no-store");
  if (t.path == "/v1/healthz") {
    if (req.method != "GET" && req.method != "HEAD") {
      return http::SendRaw(res, 405, "method_not_allowed", "use GET");
    }
    return http::SendJson(res, 200, Json{{"ok", true}});
  }
  constexpr std::string_view kFs = "/v1/fs";
  if (t.path.starts_with(kFs) && (t.path.size() == kFs.size() || t.path[kFs.size()] == '/')) {
    return http::HandleFsRoute(ctx, req, res, t.path.substr(kFs.size()), t.query, body);
  }
  if (http::HandleAgentRoute(ctx, req, res, t.path, t.query, body)) return;
  http::SendError(res, Status::NotFound("no such route", req.method + " " + std::string(t.path)));
}

}  // namespace

namespace http {

uint64_t StreamRegistry::Add(Handle* h) {
  MutexLock l(&mu_);
  if (stopping_.load() || open_.size() >= max_) return 0;
  uint64_t id = next_id_++;
  open_[id] = h;
  return id;
}

void StreamRegistry::Remove(uint64_t id) {
  MutexLock l(&mu_);
  open_.erase(id);
}

void StreamRegistry::CancelAll() {
  MutexLock l(&mu_);
  stopping_ = true;
  for (auto& [id, h] : open_) h->Cancel();
}

size_t StreamRegistry::size() const {
  MutexLock l(&mu_);
  return open_.size();
}

}  // namespace http

struct HttpServer::Impl {
  Impl(std::shared_ptr<const FileService> fs, ControlApi* api, Authenticator* auth,
       HttpOptions opts)
      : threads(ThreadCount(opts.threads)),
        ctx{std::move(fs), api, auth, opts, http::StreamRegistry(std::max(1u, threads / 2))} {}

  void Configure();

  const unsigned threads;
  HttpContext ctx;
  httplib::Server server;
  std::mutex mu;  // Start/Stop
  std::thread loop;
  bool started = false;
  bool stopped = false;
  int listen_fd = -1;  // set by the socket-options hook during bind
};

void HttpServer::Impl::Configure() {
  unsigned n = threads;
  // httplib owns and deletes the queue it gets (its API takes a raw pointer).
  server.new_task_queue = [n] { return new httplib::ThreadPool(n); };  // NOLINT
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(ctx.opts.keep_alive_timeout_s);
  server.set_read_timeout(ctx.opts.io_timeout_s, 0);
  server.set_write_timeout(ctx.opts.io_timeout_s, 0);
  // The largest body any route takes; Route() holds each request to its own limit.
  server.set_payload_max_length(std::max(ctx.opts.max_body_bytes, ctx.opts.max_import_bytes));
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // daemon bind the same port silently.
  server.set_socket_options([this](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });

  HttpOptions opts = ctx.opts;
  // Refuse an oversized body before the client sends it (curl waits for 100-continue).
  server.set_expect_100_continue_handler(
      [opts](const httplib::Request& req, httplib::Response& res) {
        size_t max_body = BodyLimit(opts, req.target);
        uint64_t len = 0;
        try {
          len = std::stoull(req.get_header_value("Content-Length", 0));
        } catch (...) {
          len = 0;
        }
        if (len <= max_body) return 100;
        // The client must close: httplib keeps reading the connection after this answer.
        res.set_header("Connection", "close");
        http::SendError(
            res, Status::TooLarge("request body over " + std::to_string(max_body) + " bytes"));
        // httplib's early-answer path sends no Content-Length; without it the client would
        // wait for the connection to close.
        res.set_header("Content-Length", std::to_string(res.body.size()));
        return 413;
      });
  // Only POST and PUT take bodies; a chunked body elsewhere would be read unbounded.
  server.set_pre_routing_handler([opts](const httplib::Request& req, httplib::Response& res) {
    if (!IsBodyMethod(req.method) && req.has_header("Transfer-Encoding")) {
      res.set_header("Connection", "close");
      http::SendError(res,
                      Status::InvalidArgument("request bodies are only accepted on POST and PUT"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // httplib reads other methods' bodies itself, up to the (import-sized) payload limit;
    // hold them to the ordinary limit.
    if (!IsBodyMethod(req.method) &&
        req.get_header_value<uint64_t>("Content-Length") > opts.max_body_bytes) {
      res.set_header("Connection", "close");
      http::SendError(res, Status::TooLarge("request body over " +
                                            std::to_string(opts.max_body_bytes) + " bytes"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib produces itself (413 over the payload limit, 400 bad request line, ...)
  // get the same JSON body as ours.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        int status = res.status;
        http::SendError(res, LibraryError(status));
        res.status = status;  // keep httplib's status (414 has no Code of its own)
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LogError("http: " + req.method + " " + req.path + ": " + what);
        http::SendError(res, Status::Internal("internal error"));
      });

  HttpContext* ctx_ptr = &ctx;
  auto plain = [ctx_ptr](const httplib::Request& req, httplib::Response& res) {
    Route(*ctx_ptr, req, res, nullptr);
  };
  auto with_body = [ctx_ptr](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
    Route(*ctx_ptr, req, res, &reader);
  };
  server.Get(".*", plain);  // GET and HEAD
  server.Delete(".*", plain);
  server.Options(".*", plain);
  server.Patch(".*", plain);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status >= 500 && res.status != 501) {
      LogWarn("http: " + req.method + " " + req.path + " -> " + std::to_string(res.status));
    }
  });
}

HttpServer::HttpServer(std::shared_ptr<const FileService> fs, ControlApi* api, Authenticator* auth,
                       HttpOptions opts)
    : impl_(std::make_unique<Impl>(std::move(fs), api, auth, std::move(opts))) {
  impl_->Configure();
}

HttpServer::~HttpServer() { Stop(); }

Result<int> HttpServer::Start() {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (impl_->started) return Status::Aborted("HTTP server already started");
  const HttpOptions& o = impl_->ctx.opts;
  if (o.port < 0 || o.port > 65535) return Status::InvalidArgument("bad port");
  int port = o.port;
  if (port == 0) {
    port = impl_->server.bind_to_any_port(o.host);
    if (port < 0) port = 0;
  } else if (!impl_->server.bind_to_port(o.host, port)) {
    port = 0;
  }
  if (port == 0) {
    return Status::Unavailable("cannot listen on " + o.host + ":" + std::to_string(o.port),
                               "address in use or not available");
  }
  // httplib listens with a backlog of 5; a burst of clients would see dropped SYNs.
  // Calling listen() again on a listening socket raises the backlog (Linux, BSD).
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  impl_->started = true;
  impl_->loop = std::thread([impl = impl_.get()] { impl->server.listen_after_bind(); });
  // stop() is a no-op until the loop is running, so wait for it (bounded by the thread start).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!impl_->server.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  return port;
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->server.stop();
  impl_->ctx.streams.CancelAll();
  if (impl_->loop.joinable()) impl_->loop.join();
}

size_t HttpServer::active_streams() const { return impl_->ctx.streams.size(); }

}  // namespace agent9
