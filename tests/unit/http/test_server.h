// A real HttpServer on 127.0.0.1:0 over a small FileService tree built from fs/files kinds,
// with a fake ControlApi and Authenticator, for the HTTP and CLI tests.
//   /status                       admin-only snapshot
//   /agents/{alice,bob}/status    public snapshot (JSON)       secret   owner-only snapshot
//                      policy     owner read, admin write doc  docs/    DocDir (JSON objects)
//                      echo       call file ("echo:" + request) stream  StreamFile
//                      big        200 KiB snapshot
// Tokens: admin-token → admin, alice-token → agent:alice, bob-token → agent:bob.
// Thread-safety: the fakes are thread-safe (the server calls them from its workers).
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "controlplane/control_api.h"
#include "controlplane/http/http_server.h"
#include "fs/base/json.h"
#include "fs/file_service.h"
#include "fs/files/files.h"
#include "tests/unit/fs/mem_doc_store.h"

namespace agent9::testing {

class FakeAuth final : public Authenticator {
 public:
  Result<Caller> Authenticate(std::string_view token) override {
    if (token.empty()) return Caller::Public();
    if (token == "admin-token") return Caller::Admin();
    if (token == "alice-token") return Caller::Agent("alice");
    if (token == "bob-token") return Caller::Agent("bob");
    // A careless implementation might echo the token; the server must not pass it on.
    return Status::Unauthenticated("unknown token " + std::string(token));
  }
};

// Records what the server passed in; "code-N" ids fail with Code N, "throw" throws.
class FakeApi final : public ControlApi {
 public:
  struct Call {
    std::string op, caller, id, body, extra;
  };

  Result<Json> CreateAgent(const Caller& who, const Json& body) override {
    Note("create", who, body.value("id", ""), DumpJson(body));
    if (body.value("id", "") == "taken") return Status::AlreadyExists("agent exists", "taken");
    std::string id = body.value("id", "auto1");
    return Json{{"id", id}, {"kind", body.value("kind", "none")}, {"token", "tok-" + id}};
  }
  Result<Json> ListAgents(const Caller& who, size_t limit, std::string_view after) override {
    Note("list", who, std::string(after), "", std::to_string(limit));
    if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
    static const std::vector<std::string> kIds = {"a1", "a2", "a3", "a4", "a5"};
    Json agents = Json::array();
    Json next = nullptr;
    for (const auto& id : kIds) {
      if (!after.empty() && id <= after) continue;
      if (agents.size() == limit) {
        next = agents.back()["id"];
        break;
      }
      agents.push_back({{"id", id},
                        {"kind", "echo"},
                        {"state", "active"},
                        {"created_at", "2026-01-01T00:00:00.000Z"}});
    }
    return Json{{"agents", agents}, {"next", next}};
  }
  Result<Json> AgentStatus(const Caller& who, std::string_view id) override {
    Note("status", who, std::string(id));
    if (id.starts_with("code-")) {
      return Status(static_cast<Code>(std::stoi(std::string(id.substr(5)))), "forced failure");
    }
    if (id == "throw") throw std::runtime_error("boom");
    if (id != "alice") return Status::NotFound("no such agent", id);
    return Json{
        {"id", "alice"}, {"state", "active"}, {"caller", who.Name()}, {"budget", {{"spent", 1}}}};
  }
  Status DeleteAgent(const Caller& who, std::string_view id) override {
    Note("delete", who, std::string(id));
    return id == "alice" ? Status::OK() : Status::NotFound("no such agent", id);
  }
  Result<Json> MintToken(const Caller& who, std::string_view id) override {
    Note("token", who, std::string(id));
    if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
    if (who.principal != Principal::kAdmin) return Status::PermissionDenied("admin only");
    return Json{{"token", "tok-" + std::string(id)}};
  }
  Result<Json> Send(const Caller& who, std::string_view id, std::string_view body,
                    std::string_view from) override {
    Note("send", who, std::string(id), std::string(body), std::string(from));
    return Json{{"id", "m1"}, {"seq", ++seq_}};
  }
  Result<Json> Lifecycle(const Caller& who, std::string_view id, std::string_view verb,
                         std::string_view arg) override {
    Note(std::string(verb), who, std::string(id), "", std::string(arg));
    return Json{{"agent", std::string(id)}, {"verb", std::string(verb)}};
  }
  // "alice" exports "TAR\0bytes"; a bundle "garbage" is refused.
  Result<std::string> ExportAgent(const Caller& who, std::string_view id,
                                  const ExportRequest& req) override {
    Note("export", who, std::string(id));
    last_passphrase = req.key_passphrase;
    if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
    if (id != "alice") return Status::NotFound("no such agent", id);
    return std::string("TAR\0bytes", 9);
  }
  Result<Json> ImportAgent(const Caller& who, std::string_view bundle, std::string_view mode,
                           std::string_view new_id, const std::string& key_passphrase) override {
    Note("import", who, std::string(new_id), std::string(bundle), std::string(mode));
    last_passphrase = key_passphrase;
    if (who.principal != Principal::kAdmin) return Status::PermissionDenied("admin only");
    if (bundle == "garbage") return Status::InvalidArgument("bundle is not a tar file");
    std::string id = new_id.empty() ? "imported" : std::string(new_id);
    return Json{{"id", id}, {"kind", "echo"}, {"mode", std::string(mode)}};
  }
  Result<Json> Replay(const Caller& who, std::string_view id, const Json& body) override {
    Note("replay", who, std::string(id), DumpJson(body));
    if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
    if (who.principal != Principal::kAdmin) return Status::PermissionDenied("admin only");
    if (id == "bob") return Status::NotFound("no record of tick 9: no ticks are kept");
    Json r{{"agent", std::string(id)},
           {"tick", body.value("tick", 0)},
           {"kind", "exec"},
           {"identical", true},
           {"differences", Json::array()}};
    if (id == "changed") {  // "replace" with both values, "remove" with only the old one
      r["identical"] = false;
      r["differences"] = Json::array(
          {{{"part", "state"},
            {"op", "replace"},
            {"path", "/n"},
            {"recorded", 2},
            {"replayed", 11}},
           {{"part", "emit"}, {"op", "remove"}, {"path", "/0"}, {"recorded", {{"n", 2}}}}});
    }
    if (id == "broken") {
      r["identical"] = false;
      r["error"] = "program exited with status 3";
    }
    return r;
  }
  Result<Json> Runtime(const Caller& who) override {
    Note("runtime", who, "");
    if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
    return Json{{"version", "test"}, {"caller", who.Name()}, {"agents", 2}};
  }
  Result<std::string> Metrics(const Caller& who) override {
    Note("metrics", who, "");
    return std::string("agent9_agents 2\n");
  }

  Call Last() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_.empty() ? Call{} : calls_.back();
  }
  size_t Count() {
    std::lock_guard<std::mutex> l(mu_);
    return calls_.size();
  }

  // The key passphrase the last export or import carried (the X-Agent9-Passphrase header).
  std::string last_passphrase;

 private:
  void Note(std::string op, const Caller& who, std::string id, std::string body = "",
            std::string extra = "") {
    std::lock_guard<std::mutex> l(mu_);
    calls_.push_back({std::move(op), who.Name(), std::move(id), std::move(body), std::move(extra)});
  }
  std::mutex mu_;
  std::vector<Call> calls_;
  std::atomic<int> seq_{0};
};

inline std::shared_ptr<FileService> MakeTestTree(std::shared_ptr<Stream> stream,
                                                 std::shared_ptr<MemDocStore> docs,
                                                 std::shared_ptr<std::string> policy,
                                                 std::shared_ptr<std::atomic<bool>> alice_public) {
  auto cache = std::make_shared<CallCache>();
  auto big = std::make_shared<std::string>(200 * 1024, 'x');
  for (size_t i = 0; i < big->size(); i += 1000) (*big)[i] = static_cast<char>('a' + i % 26);
  using Make = std::function<std::shared_ptr<Node>(NodeId, const std::string&)>;
  auto entry = [](std::string name, NodeType t, Make m) { return TableEntry{name, t, m}; };
  auto agent = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      entry("status", NodeType::kFile,
            [](NodeId id, const std::string& o) {
              return std::make_shared<SnapshotFile>(id, o, Access{Who::kPublic}, [o] {
                return Result<std::string>(PrettyJson(Json{{"id", o}, {"state", "active"}}));
              });
            }),
      entry("secret", NodeType::kFile,
            [](NodeId id, const std::string& o) {
              return std::make_shared<SnapshotFile>(id, o, Access{Who::kOwner},
                                                    [] { return Result<std::string>("SECRET\n"); });
            }),
      entry("policy", NodeType::kFile,
            [policy](NodeId id, const std::string& o) {
              DocOps ops;
              ops.load = [policy] { return Result<std::string>(*policy); };
              ops.commit = [policy](std::string c) {
                *policy = std::move(c);
                return Status::OK();
              };
              return std::make_shared<DocFile>(id, o, Access{Who::kOwner, Who::kAdmin}, ops);
            }),
      entry("docs", NodeType::kDir,
            [docs](NodeId id, const std::string& o) {
              return std::make_shared<DocDir>(
                  id, o, Access{Who::kOwner, Who::kNobody, Who::kOwner, Who::kOwner},
                  Access{Who::kOwner, Who::kOwner}, docs);
            }),
      entry("echo", NodeType::kFile,
            [cache](NodeId id, const std::string& o) {
              return std::make_shared<CallFile>(
                  id, o, Access{Who::kOwner, Who::kOwner},
                  [](const Caller&, std::string req) { return Result<std::string>("echo:" + req); },
                  cache);
            }),
      entry("stream", NodeType::kFile,
            [stream](NodeId id, const std::string& o) {
              return std::make_shared<StreamFile>(id, o, Access{Who::kOwner}, stream);
            }),
      entry("big", NodeType::kFile,
            [big](NodeId id, const std::string& o) {
              return std::make_shared<SnapshotFile>(id, o, Access{Who::kOwner},
                                                    [big] { return Result<std::string>(*big); });
            }),
  });
  auto agents = std::make_shared<std::vector<TableEntry>>();
  for (std::string name : {"alice", "bob"}) {
    agents->push_back(entry(name, NodeType::kDir, [agent, name](NodeId id, const std::string&) {
      return std::make_shared<TableDir>(id, name, Access{Who::kOwner}, agent, 1700000000000);
    }));
  }
  auto root_table = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      entry("agents", NodeType::kDir,
            [agents](NodeId id, const std::string& o) {
              return std::make_shared<TableDir>(id, o, Access{Who::kAdmin}, agents);
            }),
      entry("status", NodeType::kFile,
            [](NodeId id, const std::string& o) {
              return std::make_shared<SnapshotFile>(
                  id, o, Access{Who::kAdmin}, [] { return Result<std::string>("{\"ok\":1}\n"); });
            }),
  });
  auto root = std::make_shared<TableDir>(kRootNodeId, "", Access{Who::kPublic}, root_table);
  return std::make_shared<FileService>(
      root, [alice_public](std::string_view id) { return id == "alice" && alice_public->load(); });
}

// Owns the tree, the fakes and a started server.
struct TestServer {
  explicit TestServer(HttpOptions opts = Small()) {
    fs = MakeTestTree(stream, docs, policy, alice_public);
    server = std::make_unique<HttpServer>(fs, &api, &auth, opts);
    auto p = server->Start();
    port = p.ok() ? *p : 0;
  }
  static HttpOptions Small() {
    HttpOptions o;
    o.port = 0;
    o.max_body_bytes = 64 * 1024;
    o.max_import_bytes = 256 * 1024;
    o.threads = 8;
    o.keep_alive_timeout_s = 1;  // teardown waits for idle keep-alive connections
    return o;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  // A client of this server; token "" sends no Authorization header.
  httplib::Client Client(const std::string& token = "admin-token") const {
    httplib::Client c("127.0.0.1", port);
    c.set_url_encode(false);
    c.set_read_timeout(10, 0);
    if (!token.empty()) c.set_bearer_token_auth(token);
    return c;
  }

  std::shared_ptr<Stream> stream = std::make_shared<Stream>();
  std::shared_ptr<MemDocStore> docs = std::make_shared<MemDocStore>();
  std::shared_ptr<std::string> policy = std::make_shared<std::string>("{\"max\":1}");
  std::shared_ptr<std::atomic<bool>> alice_public = std::make_shared<std::atomic<bool>>(false);
  FakeApi api;
  FakeAuth auth;
  std::shared_ptr<FileService> fs;
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

}  // namespace agent9::testing
