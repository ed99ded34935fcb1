// HttpServer: the HTTP control plane and file API (DESIGN section 7) over one FileService,
// ControlApi and Authenticator. The only code that includes httplib.h lives beside this file;
// this header does not expose it.
// Thread-safety: Start() and Stop() may be called from any thread (Stop() also from a
// signal-handling thread); Stop() is idempotent and is also run by the destructor. Requests
// are served on an internal thread pool; fs, api and auth must be thread-safe and outlive
// the server.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "controlplane/control_api.h"
#include "fs/base/status.h"
#include "fs/file_service.h"

namespace agent9 {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 7909;                  // 0 picks a free port
  size_t max_body_bytes = 1 << 20;  // larger request bodies answer 413
  // POST /v1/agents/import only: an export bundle may be this large (larger answers 413).
  size_t max_import_bytes = size_t{64} << 20;
  // Worker threads. A keep-alive connection (and an SSE watch) holds a worker while it is
  // open (cpp-httplib serves one connection per thread), so this bounds concurrent clients;
  // half of them at most may be SSE watches. 0 = max(64, 8 * hardware threads).
  unsigned threads = 0;
  int keep_alive_timeout_s = 5;  // idle keep-alive connections close after this
  int io_timeout_s = 30;         // socket read/write timeout per operation
};

class HttpServer {
 public:
  // fs is shared; api and auth are not owned and must outlive the server.
  HttpServer(std::shared_ptr<const FileService> fs, ControlApi* api, Authenticator* auth,
             HttpOptions opts);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (port 0 = a free port), starts serving on a background thread and returns the
  // bound port. kUnavailable when the address cannot be bound; kAborted when already
  // started.
  Result<int> Start();
  // Stops accepting, ends open SSE streams, lets in-flight requests finish and joins the
  // workers. Idle keep-alive connections can delay it by up to keep_alive_timeout_s.
  void Stop();

  // Open SSE watches right now (tests, metrics).
  size_t active_streams() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agent9
