// Internal: what every HTTP handler needs (the services, the options, the open SSE streams),
// and the handler entry points of agent_routes.cc, fs_routes.cc and sse.cc.
// Thread-safety: HttpContext is shared by all workers; StreamRegistry is thread-safe.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <string_view>

#include "controlplane/http/http_server.h"
#include "fs/base/mutex.h"
#include "fs/base/path.h"

namespace agent9::http {

// Open SSE streams: bounded in number (each holds a worker thread) and cancelled at Stop().
class StreamRegistry {
 public:
  explicit StreamRegistry(size_t max_streams) : max_(max_streams) {}
  // Registers h; 0 when the limit is reached or the server is stopping.
  uint64_t Add(Handle* h);
  void Remove(uint64_t id);
  // Marks the registry stopping and wakes every blocked read.
  void CancelAll();
  bool stopping() const { return stopping_.load(); }
  size_t size() const;

 private:
  const size_t max_;
  std::atomic<bool> stopping_{false};
  mutable Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Handle*> open_ GUARDED_BY(mu_);
};

struct HttpContext {
  std::shared_ptr<const FileService> fs;
  ControlApi* api = nullptr;
  Authenticator* auth = nullptr;
  HttpOptions opts;
  StreamRegistry streams;
};

// agent_routes.cc: /v1/runtime, /metrics, /v1/agents... (raw path without the query).
// Returns false when the path is not one of its routes.
bool HandleAgentRoute(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
                      std::string_view path, std::string_view query, const std::string& body);

// fs_routes.cc: /v1/fs/<fs_path>; fs_path is the raw (undecoded) rest of the path.
void HandleFsRoute(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
                   std::string_view fs_path, std::string_view query, const std::string& body);

// sse.cc: answers with an SSE response that follows the stream file `node` until the
// stream ends, the client goes away or the server stops.
void ServeSse(HttpContext& ctx, httplib::Response& res, const std::shared_ptr<Node>& node,
              const Caller& who);

}  // namespace agent9::http
