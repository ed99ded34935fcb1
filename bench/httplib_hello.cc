// httplib_hello: the HTTP baseline. A minimal cpp-httplib server tuned like agent9's
// (controlplane/http/http_server.cc): TCP_NODELAY, a 64-thread pool, keep-alive max count
// 100000, the same timeouts. Every GET answers 200 with a fixed body (the bytes of BODY_FILE,
// or "hello\n"), Content-Type application/json and Cache-Control no-store, so wrk sees a
// response of the same size as agent9's. Every POST (its body read and dropped) answers 202
// with the bytes of POST_FILE (or "{}"), like agent9's POST /v1/agents/<id>/send.
// Prints "listening http://127.0.0.1:PORT".
// Usage: httplib_hello [BODY_FILE [POST_FILE]]   (stop it with SIGTERM)
#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string Slurp(const char* file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string body = argc > 1 ? Slurp(argv[1]) : "hello\n";
  std::string post_body = argc > 2 ? Slurp(argv[2]) : "{}";
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(100000);
  server.set_keep_alive_timeout(5);
  server.set_read_timeout(30, 0);
  server.set_write_timeout(30, 0);
  server.Get(".*", [&body](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(body, "application/json");
  });
  server.Post(".*", [&post_body](const httplib::Request&, httplib::Response& res) {
    res.status = 202;
    res.set_header("Cache-Control", "no-store");
    res.set_content(post_body, "application/json");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::fprintf(stderr, "httplib_hello: cannot bind\n");
    return 1;
  }
  std::printf("listening http://127.0.0.1:%d\n", port);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
