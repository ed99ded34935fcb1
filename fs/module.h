// The module seam (DESIGN section 9; docs/MODULES.md): how a domain module (identity, nostr,
// and later compute, wallet, containers) joins the runtime without the tick engine or the
// agent tree knowing it. A module is one top-level folder with one library; controlplane/
// adds it to the Modules registry with one line, and from then on
//   - its per-agent entries (identity/, nostr/) appear in every agent's directory and its
//     global entries at the root of the admin view, each listed in the agent's `mounts`;
//   - its hooks run inside the core's own transactions: agent creation (a key made in the
//     creating transaction), the status document (pubkey, npub), export and import bundles,
//     and outbound messages to addresses the module owns (a send to `npub1...`);
//   - it reaches agents only through AgentHost (deliver into an inbox, queue an event
//     trigger, emit into outbox/, trace), never through another module or the engine.
// Domain code never sees paths or errno: a module's `*_files.cc` turns its API into Nodes.
// Thread-safety: Modules is filled before traffic starts and read-only afterwards. A module's
// hooks may be called from any thread at once (ticks, FUSE and HTTP workers).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/agent_kind.h"
#include "fs/base/clock.h"
#include "fs/base/json.h"
#include "fs/base/runtime_config.h"
#include "fs/base/sqlite.h"
#include "fs/files/files.h"

namespace agent9 {

// What the runtime offers modules (implemented over the agent registry in controlplane/).
// Every method is thread-safe and may block on the store; none may be called inside a
// Database::Write callback.
class AgentHost {
 public:
  virtual ~AgentHost() = default;
  // Writes bytes into agent's inbox as a message from `from` (DESIGN 4.1: a JSON object with
  // "body" is a whole envelope, its "id" making the delivery idempotent). Returns the message
  // id. kNotFound, kResourceExhausted (inbox full).
  virtual Result<std::string> Deliver(std::string_view agent, std::string_view bytes,
                                      std::string_view from) = 0;
  // Queues an `event` trigger for agent (work that finished later: a job, a payment).
  virtual Result<int64_t> AddEvent(std::string_view agent, const Json& event) = 0;
  // AddEvent inside the caller's write transaction, so the event commits with the work that
  // raised it (a job's end: no event lost or doubled by a crash, and one fsync for both);
  // call EventAdded(agent) once that transaction committed, to wake the agent. These two are
  // the AgentHost methods a module may call inside its own Database::Write.
  virtual Result<int64_t> AddEventInTransaction(Conn& c, std::string_view agent,
                                                const Json& event) = 0;
  virtual void EventAdded(std::string_view agent) = 0;
  // Appends an event to agent's outbox/ (and outbox/stream).
  virtual Status Emit(std::string_view agent, const Json& event) = 0;
  // A record in agent's logs/trace (never a payload or a secret).
  virtual void Trace(std::string_view agent, Json record) = 0;
  // The agent's config document (config file JSON). kNotFound.
  virtual Result<Json> AgentConfigJson(std::string_view agent) = 0;
  // Agent ids > after in id order, at most limit.
  virtual Result<std::vector<std::string>> ListAgents(std::string_view after, size_t limit) = 0;
};

// What a module gets when it opens. Everything outlives the module.
struct ModuleContext {
  Database* db = nullptr;
  const Clock* clock = nullptr;
  AgentHost* host = nullptr;
  std::string data_dir;
  std::shared_ptr<CallCache> calls;  // response cache shared by every call file
};

// One file of an export bundle that a module writes or reads (a tar entry name).
struct BundleFile {
  std::string name;
  std::string data;
};

// An HTTP request that carries credentials other than a bearer token
// (Authorization: <scheme> <credentials>), and what a signature over it must cover.
struct HttpAuth {
  std::string_view scheme;       // "Nostr"
  std::string_view credentials;  // what follows the scheme
  std::string_view method;
  std::string url;  // the absolute URL the client addressed (DESIGN 4.3)
  std::string_view body;
};

// What an export asks for beyond the core bundle.
struct ExportRequest {
  // Non-empty: include the agent's secret key, encrypted under this passphrase (NIP-49).
  std::string key_passphrase;
};

// An import, as each module sees it (the bundle was validated by the core already).
struct ImportRequest {
  bool clone = false;              // clone: a new agent (new id, new key)
  const Json* manifest = nullptr;  // manifest.json
  // Every tar entry the core does not know, by name (a module's own files).
  const std::map<std::string, std::string>* files = nullptr;
  std::string key_passphrase;  // from the importer; may be empty
};

// The tick an action belongs to (Module::Act).
struct TickActionContext {
  std::string_view agent;
  int64_t tick = 0;  // the tick's number (it commits with the action)
  int64_t now_ms = 0;
};

// Runs inside the import's write transaction, once the agent row exists.
using ImportApply = std::function<Status(Conn& c, std::string_view agent)>;

class Module {
 public:
  virtual ~Module() = default;
  // Short and unique: "identity". Also the provider column of `mounts`.
  virtual std::string_view name() const = 0;

  // Reads the module's section(s) of the runtime config. Called once, before Open.
  virtual Status Configure(const RuntimeConfig&) { return Status::OK(); }
  // Migrates the module's schema (its own Database::Migrate module name) and loads what it
  // needs. Called once, before any agent traffic.
  virtual Status Open(const ModuleContext& ctx) = 0;
  // After the transports are up (connect to relays, start workers), and before shutdown.
  virtual Status Start() { return Status::OK(); }
  virtual void Stop() {}

  // Entries of every agent's directory (names must not clash with the core's or another
  // module's) and of the global root.
  virtual std::vector<TableEntry> AgentEntries() { return {}; }
  virtual std::vector<TableEntry> GlobalEntries() { return {}; }

  // In the transaction that creates agent (create, and a clone or keyless import).
  virtual Status OnAgentCreated(Conn&, std::string_view /*agent*/) { return Status::OK(); }
  // After that transaction (or an import's) committed: the agent is visible to readers.
  virtual void AgentCreated(std::string_view /*agent*/) {}
  // Adds the module's fields to agent's status document (read transaction). The document is
  // served again until the next commit of the Database, so its fields must follow from the
  // store and the time only (a connection's state belongs in a file of the module's own). A
  // field that changes with the time alone lowers *expires_ms (ModuleContext::clock) to when
  // it does.
  virtual Status AddStatus(Conn&, std::string_view /*agent*/, Json* /*status*/,
                           int64_t* /*expires_ms*/) {
    return Status::OK();
  }
  // Adds to an export bundle, inside its read transaction: manifest fields and files.
  virtual Status Export(Conn&, std::string_view /*agent*/, const ExportRequest&, Json* /*manifest*/,
                        std::vector<BundleFile>* /*files*/) {
    return Status::OK();
  }
  // Checks the bundle's part for this module before any write (slow work such as decrypting
  // a key goes here, outside the write transaction) and returns what to do in it. The default
  // makes the agent as if created (OnAgentCreated).
  virtual Result<ImportApply> PrepareImport(const ImportRequest&) {
    return ImportApply(
        [this](Conn& c, std::string_view agent) { return OnAgentCreated(c, agent); });
  }
  // Bundle entries this module reads (so the core does not reject them as unknown).
  virtual bool OwnsBundleFile(std::string_view /*name*/) const { return false; }

  // Outbound messages: whether `to` (a send target or the sender a reply goes to) is an
  // address this module delivers, and, inside the tick's transaction, taking the message
  // (the envelope the receiver would get) for delivery after the commit.
  virtual bool Routes(std::string_view /*to*/) const { return false; }
  virtual Status Route(Conn&, std::string_view /*from_agent*/, std::string_view /*to*/,
                       const Json& /*envelope*/) {
    return Status::Unimplemented("this module delivers no messages");
  }
  // After a transaction that Route()d committed: start delivering.
  virtual void Routed() {}

  // Agent kinds this module provides (compute's `llm`), registered beside the built-ins.
  virtual std::vector<std::pair<std::string, std::shared_ptr<Agent>>> AgentKinds() { return {}; }

  // Tick actions: output keys this module takes from a tick (an exec program's
  // {"compute":[...]}). CheckAction runs before the tick's transaction (an error fails the
  // tick, naming what is wrong); Act runs inside it, so the action commits with the tick or
  // not at all; Acted runs after that transaction committed (start the work).
  virtual std::vector<std::string> ActionKeys() const { return {}; }
  virtual Status CheckAction(std::string_view /*key*/, const Json& /*value*/) const {
    return Status::OK();
  }
  virtual Status Act(Conn&, const TickActionContext&, std::string_view key, const Json&) {
    return Status::Unimplemented("this module takes no tick actions", key);
  }
  virtual void Acted() {}

  // HTTP authentication: whether this module verifies the Authorization scheme (NIP-98's
  // "Nostr"), and the identity the request proves ("npub1..."); kUnauthenticated naming the
  // failed check otherwise.
  virtual bool VerifiesHttpAuth(std::string_view /*scheme*/) const { return false; }
  virtual Result<std::string> VerifyHttpAuth(const HttpAuth&) {
    return Status::Unauthenticated("unsupported Authorization scheme");
  }

  // Prometheus text lines for /metrics (HELP/TYPE included); may be empty.
  virtual std::string MetricsText() { return {}; }
};

// The registry: every module, in the order added. Forwards each hook to every module.
class Modules {
 public:
  // Returns the module, for one that another builds on (nostr signs with identity's keys).
  template <typename T>
  T* Add(std::unique_ptr<T> m) {
    T* p = m.get();
    list_.push_back(std::move(m));
    return p;
  }
  const std::vector<std::unique_ptr<Module>>& list() const { return list_; }
  Module* Find(std::string_view name) const;

  Status Configure(const RuntimeConfig& config);
  Status Open(const ModuleContext& ctx);
  Status Start();
  void Stop();  // in reverse order

  Status OnAgentCreated(Conn& c, std::string_view agent) const;
  void AgentCreated(std::string_view agent) const;
  Status AddStatus(Conn& c, std::string_view agent, Json* status, int64_t* expires_ms) const;
  Status Export(Conn& c, std::string_view agent, const ExportRequest& req, Json* manifest,
                std::vector<BundleFile>* files) const;
  // Every module's PrepareImport, in order; the appliers run in the same order.
  Result<std::vector<ImportApply>> PrepareImport(const ImportRequest& req) const;
  bool OwnsBundleFile(std::string_view name) const;
  // The module that routes `to`, or nullptr.
  Module* RouterFor(std::string_view to) const;
  // The module that takes tick action key, or nullptr.
  Module* ActorFor(std::string_view key) const;
  // The module that verifies the HTTP Authorization scheme, or nullptr.
  Module* HttpAuthFor(std::string_view scheme) const;
  std::string MetricsText() const;

 private:
  std::vector<std::unique_ptr<Module>> list_;
};

}  // namespace agent9
