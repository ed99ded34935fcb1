// Server-sent events for stream files (DESIGN section 4: "No read may block an HTTP worker
// forever"). The stream is opened with wait_ms = kPollMs, so each read returns at least that
// often; between data the worker sends a keep-alive comment, which is also how a departed
// client is noticed (the write fails). Each complete line of the stream becomes one event.
#include <exception>
#include <string>

#include "controlplane/http/http_context.h"
#include "controlplane/http/http_util.h"
#include "controlplane/http/status_map.h"
#include "fs/base/log.h"

namespace agent9::http {
namespace {

constexpr int kPollMs = 1000;
// A line longer than this without a newline is sent as its own event, bounding memory.
constexpr size_t kMaxPendingLine = 64 * 1024;

// One open watch: the stream handle and the partial line not yet sent.
struct SseState {
  SseState(StreamRegistry* r, std::unique_ptr<Handle> h) : registry(r), handle(std::move(h)) {}
  ~SseState() {
    if (id != 0) registry->Remove(id);  // before the handle dies: Stop() may Cancel() it
  }
  StreamRegistry* registry;
  std::unique_ptr<Handle> handle;
  uint64_t id = 0;
  std::string pending;
};

// "data: <line>\n\n"; a bare CR inside a line would end the SSE line early, so it splits the
// event into several data fields (the client joins them with '\n').
void AppendEvent(std::string* out, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t start = 0;
  for (;;) {
    size_t cr = line.find('\r', start);
    *out += "data: ";
    *out += line.substr(start, cr == std::string_view::npos ? std::string_view::npos : cr - start);
    *out += '\n';
    if (cr == std::string_view::npos) break;
    start = cr + 1;
  }
  *out += '\n';
}

// Moves the complete lines of state->pending into events.
std::string TakeEvents(SseState* state, bool flush_partial) {
  std::string out;
  size_t start = 0;
  std::string_view p = state->pending;
  for (;;) {
    size_t nl = p.find('\n', start);
    if (nl == std::string_view::npos) break;
    AppendEvent(&out, p.substr(start, nl - start));
    start = nl + 1;
  }
  state->pending.erase(0, start);
  if (!state->pending.empty() && (flush_partial || state->pending.size() > kMaxPendingLine)) {
    AppendEvent(&out, state->pending);
    state->pending.clear();
  }
  return out;
}

bool Write(httplib::DataSink& sink, const std::string& s) {
  return s.empty() || sink.write(s.data(), s.size());
}

// One step of the chunked provider. Returns false to abort the response (client gone).
bool Step(SseState* state, httplib::DataSink& sink) {
  if (state->registry->stopping()) {
    Write(sink, TakeEvents(state, true));
    sink.done();
    return true;
  }
  std::byte buf[16 * 1024];
  auto n = state->handle->Read(0, buf);
  if (!n.ok()) {
    Code code = n.status().code();
    if (code == Code::kDeadlineExceeded) {
      // Nothing new: a comment keeps proxies from timing out and detects a gone client.
      return sink.write(": keepalive\n\n", 13) && sink.is_writable();
    }
    std::string tail = TakeEvents(state, true);
    if (code != Code::kAborted) {  // kAborted = cancelled at shutdown: end quietly
      tail += "event: error\ndata: ";
      std::string body = ErrorBody(n.status());
      if (!body.empty() && body.back() == '\n') body.pop_back();
      tail += body + "\n\n";
    }
    Write(sink, tail);
    sink.done();
    return true;
  }
  if (*n == 0) {  // the stream ended
    Write(sink, TakeEvents(state, true));
    sink.done();
    return true;
  }
  state->pending.append(reinterpret_cast<const char*>(buf), *n);
  return Write(sink, TakeEvents(state, false));
}

}  // namespace

void ServeSse(HttpContext& ctx, httplib::Response& res, const std::shared_ptr<Node>& node,
              const Caller& who) {
  OpenFlags flags;
  flags.wait_ms = kPollMs;
  auto h = ctx.fs->Open(*node, flags, who);
  if (!h.ok()) return SendError(res, h.status());
  auto state = std::make_shared<SseState>(&ctx.streams, std::move(h).value());
  state->id = ctx.streams.Add(state->handle.get());
  if (state->id == 0) {
    return SendError(res, ctx.streams.stopping()
                              ? Status::Unavailable("server is shutting down")
                              : Status::Unavailable("too many open streams; try again later"));
  }
  res.status = 200;
  res.set_header("X-Accel-Buffering", "no");
  res.set_header("X-Agent9-Type", "file");
  res.set_chunked_content_provider(
      "text/event-stream",
      [state](size_t, httplib::DataSink& sink) {
        try {
          return Step(state.get(), sink);
        } catch (const std::exception& e) {  // nothing may unwind into httplib's writer
          LogError(std::string("http: SSE stream failed: ") + e.what());
          return false;
        }
      },
      [state](bool) mutable { state.reset(); });
}

}  // namespace agent9::http
