// The file API (DESIGN section 7, STYLE 2.3): /v1/fs/<path> over FileService. The raw
// request path is parsed once with Path::ParseUrl; past that, handlers call only
// FileService and Handle methods.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "controlplane/http/http_context.h"
#include "controlplane/http/http_util.h"
#include "fs/base/clock.h"
#include "fs/base/log.h"
#include "fs/base/path.h"

namespace agent9::http {
namespace {

constexpr size_t kMaxListLimit = 1000;

std::string_view TypeName(NodeType t) { return t == NodeType::kDir ? "dir" : "file"; }

// JSON for documents people and programs expect as JSON; bytes otherwise.
std::string ContentTypeFor(const Path& path) {
  if (path.empty()) return "application/octet-stream";
  std::string_view base = path.Base();
  if (base.ends_with(".json")) return "application/json";
  if (base.ends_with(".jsonl") || base.ends_with(".ndjson")) return "application/x-ndjson";
  static constexpr std::string_view kJsonNames[] = {"status", "state", "config", "settings",
                                                    "policy", "usage", "balance"};
  for (auto n : kJsonNames) {
    if (base == n) return "application/json";
  }
  return "application/octet-stream";
}

std::string SniffType(std::string_view bytes) {
  for (char c : bytes) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    return c == '{' || c == '[' ? "application/json" : "application/octet-stream";
  }
  return "application/octet-stream";
}

std::string OctalMode(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

void SetBody(httplib::Response& res, int status, std::string bytes, const std::string& type) {
  res.status = status;
  res.body = std::move(bytes);
  res.set_header("Content-Type", type);
}

bool WantsSse(const httplib::Request& req, const Query& q, Status* err) {
  auto watch = q.Flag("watch");
  if (!watch.ok()) {
    *err = watch.status();
    return false;
  }
  return *watch || req.get_header_value("Accept").find("text/event-stream") != std::string::npos;
}

Json EntryJson(const DirEntry& e) {
  return Json{{"name", e.name},
              {"type", std::string(TypeName(e.type))},
              {"size", e.size},
              {"mtime", Rfc3339(e.mtime_ms)}};
}

// The whole listing of a paged directory (agents/), streamed a page at a time, so memory
// stays one page however many entries there are. The bytes are those SendJson would send
// for the whole array. `first` is the first page, already read (so a refused listing still
// answers with a plain error); a failure after the headers are out aborts the connection,
// which the client sees as a truncated transfer.
void StreamListing(HttpContext& ctx, httplib::Response& res, std::shared_ptr<Node> dir,
                   const Caller& who, std::vector<DirEntry> first) {
  struct State {
    std::shared_ptr<const FileService> fs;
    std::shared_ptr<Node> dir;
    Caller who;
    std::vector<DirEntry> page;
    bool started = false;
    bool last = false;
  };
  auto state = std::make_shared<State>();
  state->fs = ctx.fs;
  state->dir = std::move(dir);
  state->who = who;
  state->last = first.size() < kMaxListLimit;
  state->page = std::move(first);
  res.status = 200;
  res.set_header("X-Agent9-Type", "dir");
  res.set_chunked_content_provider("application/json", [state](size_t, httplib::DataSink& sink) {
    try {
      std::string out = state->started ? "" : "[";
      for (const DirEntry& e : state->page) {
        if (state->started) out += ',';
        state->started = true;
        out += DumpJson(EntryJson(e));
      }
      if (state->last) {
        out += "]\n";
        if (!sink.write(out.data(), out.size())) return false;
        sink.done();
        return true;
      }
      if (!sink.write(out.data(), out.size())) return false;
      std::string after = state->page.back().name;
      auto next =
          state->fs->List(*state->dir, state->who, ListRange{std::move(after), kMaxListLimit});
      if (!next.ok()) {
        LogWarn("http: listing stopped part way: " + next.status().ToString());
        return false;
      }
      state->page = std::move(next).value();
      state->last = state->page.size() < kMaxListLimit;
      return true;
    } catch (const std::exception& e) {  // nothing may unwind into httplib's writer
      LogError(std::string("http: listing failed: ") + e.what());
      return false;
    }
  });
}

// pages_itself: the directory's Stat::paged (agents/), which Get has already read.
void ListDir(HttpContext& ctx, httplib::Response& res, const std::shared_ptr<Node>& dir,
             bool pages_itself, const Caller& who, const Query& q) {
  ListRange range;
  auto limit = q.Limit("limit", 0, kMaxListLimit);
  if (!limit.ok()) return SendError(res, limit.status());
  range.limit = *limit;
  range.after = std::string(q.Get("after").value_or(""));
  if (!range.after.empty()) {
    Status st = Path::ValidateName(range.after);
    if (!st.ok()) return SendError(res, Status::InvalidArgument("after", st.message()));
  }
  bool paged = range.limit > 0 || !range.after.empty();
  // The whole of a directory that pages itself: read page by page; streamed when there is
  // more than one page.
  bool walk = !paged && pages_itself;
  if (walk) range.limit = kMaxListLimit;
  auto listed = ctx.fs->List(*dir, who, range);
  if (!listed.ok()) return SendError(res, listed.status());
  std::vector<DirEntry>& entries = *listed;
  if (walk && entries.size() >= kMaxListLimit) {
    return StreamListing(ctx, res, dir, who, std::move(entries));
  }
  if (paged) {
    // Directories that ignore the range (fixed tables) get paged here, so every listing
    // pages the same way: name order, names after `after`, at most `limit`.
    std::sort(entries.begin(), entries.end(),
              [](const DirEntry& x, const DirEntry& y) { return x.name < y.name; });
    std::erase_if(entries, [&](const DirEntry& e) { return e.name <= range.after; });
    if (range.limit > 0 && entries.size() > range.limit) entries.resize(range.limit);
    if (range.limit > 0 && entries.size() == range.limit) {
      res.set_header("X-Agent9-Next", entries.back().name);
    }
  }
  Json out = Json::array();
  for (const DirEntry& e : entries) out.push_back(EntryJson(e));
  res.set_header("X-Agent9-Type", "dir");
  SendJson(res, 200, out);
}

void Get(HttpContext& ctx, const httplib::Request& req, httplib::Response& res, const Path& path,
         const Query& q, const Caller& who) {
  auto node = ctx.fs->Walk(path, who);
  if (!node.ok()) return SendError(res, node.status());
  Stat st = ctx.fs->GetStat(**node, who, nullptr);
  if (st.type == NodeType::kDir) return ListDir(ctx, res, *node, st.paged, who, q);
  OpenFlags flags;
  for (const auto& [k, v] : q.items()) {
    if (k != "watch") flags.params.emplace_back(k, v);
  }
  if (st.stream) {
    Status bad;
    bool sse = WantsSse(req, q, &bad);
    if (!bad.ok()) return SendError(res, bad);
    if (sse) return ServeSse(ctx, res, *node, who);
    flags.wait_ms = 0;  // the retained backlog, then end
  }
  auto h = ctx.fs->Open(**node, flags, who);
  if (!h.ok()) return SendError(res, h.status());
  auto data = ReadToEnd(**h);
  if (!data.ok()) return SendError(res, data.status());
  Status flushed = (*h)->Flush();
  if (!flushed.ok()) return SendError(res, flushed);
  res.set_header("X-Agent9-Type", "file");
  SetBody(res, 200, std::move(data).value(), ContentTypeFor(path));
}

void Head(HttpContext& ctx, httplib::Response& res, const Path& path, const Caller& who) {
  auto node = ctx.fs->Walk(path, who);
  if (!node.ok()) return SendError(res, node.status());
  uint32_t mode = 0;
  Stat st = ctx.fs->GetStat(**node, who, &mode);
  res.status = 200;
  res.set_header("X-Agent9-Type", std::string(TypeName(st.type)));
  res.set_header("X-Agent9-Mode", OctalMode(mode));
  if (st.stream) res.set_header("X-Agent9-Stream", "1");
  if (st.call) res.set_header("X-Agent9-Call", "1");
  if (st.mtime_ms > 0) res.set_header("Last-Modified", HttpDate(st.mtime_ms));
  res.set_header("Content-Length", std::to_string(st.type == NodeType::kDir ? 0 : st.size));
  if (st.type == NodeType::kDir) {
    res.set_header("Content-Type", "application/json");
  } else {
    res.set_header("Content-Type", ContentTypeFor(path));
  }
}

// A call on node: write the request and read the response on one handle.
void Call(HttpContext& ctx, httplib::Response& res, Node& node, const std::string& body,
          const Caller& who) {
  if (body.empty()) return SendError(res, Status::InvalidArgument("empty request"));
  OpenFlags flags;
  flags.write = true;
  auto h = ctx.fs->Open(node, flags, who);
  if (!h.ok()) return SendError(res, h.status());
  auto n = (*h)->Write(0, std::as_bytes(std::span(body.data(), body.size())));
  if (!n.ok()) return SendError(res, n.status());
  auto out = ReadToEnd(**h);
  if (!out.ok()) return SendError(res, out.status());
  Status flushed = (*h)->Flush();
  if (!flushed.ok()) return SendError(res, flushed);
  std::string type = SniffType(*out);
  SetBody(res, 200, std::move(out).value(), type);
}

void Post(HttpContext& ctx, httplib::Response& res, const Path& path, const std::string& body,
          const Caller& who) {
  auto node = ctx.fs->Walk(path, who);
  if (node.ok() && ctx.fs->GetStat(**node, who, nullptr).call) {
    return Call(ctx, res, **node, body, who);
  }
  if (!node.ok() && !node.status().IsNotFound()) return SendError(res, node.status());
  Status st = ctx.fs->WriteAll(path, body, who);
  if (!st.ok()) return SendError(res, st);
  res.status = 204;
}

void Delete(HttpContext& ctx, httplib::Response& res, const Path& path, const Caller& who) {
  if (path.empty()) return SendError(res, Status::InvalidArgument("cannot remove the root"));
  auto dir = ctx.fs->Walk(path.Parent(), who);
  if (!dir.ok()) return SendError(res, dir.status());
  Status st = ctx.fs->Remove(**dir, path.Base(), who);
  if (!st.ok()) return SendError(res, st);
  res.status = 204;
}

}  // namespace

void HandleFsRoute(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
                   std::string_view fs_path, std::string_view query, const std::string& body) {
  auto path = Path::ParseUrl(fs_path);
  if (!path.ok()) return SendError(res, path.status());
  auto q = Query::Parse(query);
  if (!q.ok()) return SendError(res, q.status());
  auto who = Authenticate(req, ctx.auth, body);
  if (!who.ok()) return SendError(res, who.status());
  const std::string& m = req.method;
  if (m == "GET") return Get(ctx, req, res, *path, *q, *who);
  if (m == "HEAD") return Head(ctx, res, *path, *who);
  if (m == "POST") return Post(ctx, res, *path, body, *who);
  if (m == "DELETE") return Delete(ctx, res, *path, *who);
  if (m == "PUT") {
    Status st = ctx.fs->WriteAll(*path, body, *who);
    if (!st.ok()) return SendError(res, st);
    res.status = 204;
    return;
  }
  res.set_header("Allow", "GET, HEAD, PUT, POST, DELETE");
  SendRaw(res, 405, "method_not_allowed", "allowed methods: GET, HEAD, PUT, POST, DELETE");
}

}  // namespace agent9::http
