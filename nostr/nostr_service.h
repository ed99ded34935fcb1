// NostrService: agents on Nostr (docs/NOSTR.md). Over one RelayPool shared by every agent it
//   - keeps each agent's relay list (or the global default) and publishes the agent's NIP-65
//     (kind 10002) and NIP-17 DM relay (kind 10050) lists when they change;
//   - publishes event templates signed with an agent's key (nostr/publish);
//   - subscribes, on every relay in use, to NIP-17 gift wraps (1059), legacy kind-4 DMs and
//     kind-1 mentions addressed to local agents, verifies and unwraps them, drops what does not
//     verify or was seen before (by event id, persisted), and delivers the rest into the
//     agent's inbox from the sender's npub; a restart resumes from the last created_at minus
//     NIP-59's two-day randomisation window;
//   - sends an agent's messages to npubs (a tick's `send` or `reply`) as NIP-17 DMs to the
//     recipient's kind-10050 relays, falling back to the agent's own, with the result in the
//     agent's outbox/;
//   - answers NIP-42 AUTH with the keys of the agents that use the relay.
// Implementation: nostr_service.cc (relays, publish, lifecycle), nostr_inbound.cc,
// nostr_outbound.cc. Thread-safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fs/base/clock.h"
#include "fs/module.h"
#include "identity/identity.h"
#include "identity/nip98.h"
#include "nostr/nostr_store.h"
#include "nostr/relay_pool.h"

namespace agent9::nostr {

struct NostrOptions {
  std::vector<std::string> default_relays;  // [nostr] relays: the default until one is written
  RelayPoolOptions pool;
  int resync_ms = 30'000;        // re-plan subscriptions at least this often
  int redeliver_ms = 60'000;     // after a deferred event (a full inbox), ask relays again
  int query_timeout_ms = 3'000;  // waiting for a recipient's kind-10050 list
  int max_dm_attempts = 5;       // then the DM fails (outbox/ says why)
  size_t keys_per_subscription = 200;
  size_t max_auth_keys = 100;  // agents that AUTH on one connection
  size_t max_relays = 32;      // per list
};

struct NostrCounts {
  int64_t received = 0;    // events from relays
  int64_t delivered = 0;   // messages put into inboxes
  int64_t duplicates = 0;  // seen before (another relay, or before a restart)
  int64_t rejected = 0;    // bad id or signature, bad wrap or seal, undecryptable
  int64_t refused = 0;     // from strangers to an agent that accepts none
  int64_t published = 0;   // events signed and sent (publish, lists, DMs)
  int64_t dms_sent = 0;
  int64_t dms_failed = 0;
  int64_t deferred = 0;  // not deliverable now (inbox full): fetched again later
};

class NostrService {
 public:
  // Everything passed in must outlive the service.
  NostrService(Database* db, const Clock* clock, identity::Identity* identity, AgentHost* host,
               NostrOptions opts);
  ~NostrService();  // Stop()

  // Migrates the schema and seeds the default relays.
  Status Open();
  // Starts the pool and the workers (subscriptions, relay lists, outgoing DMs).
  Status Start();
  void Stop();

  // ---- relays ----
  // The relays agent uses: its own list, else the default.
  Result<std::vector<std::string>> RelaysOf(std::string_view agent) const;
  // What nostr/relays reads: one line per relay, "<url> <state>[ authenticated][ error=...]",
  // plus " default" when the agent sets no list of its own. agent "" = the global default.
  Result<std::string> DescribeRelays(std::string_view agent) const;
  // What nostr/relays takes: one URL per line (the first word of each line; blank lines and
  // lines starting with '#' skipped). Empty: the agent falls back to the default. kInvalidArgument
  // naming a bad URL. agent "" = the global default.
  Status SetRelays(std::string_view agent, std::string_view text);
  // The early check of a relay list being written: every whole line as SetRelays judges it,
  // and the last URL, still growing, by CheckRelayUrlPrefix. kInvalidArgument.
  Status CheckRelaysPrefix(std::string_view text) const;

  // ---- publish ----
  // Signs the template {"kind","content","tags"} as agent (pubkey, created_at, id, sig filled
  // in) and publishes it to the agent's relays. → {"event":{...},"relays":{url:{"ok","message"}}}.
  // kInvalidArgument for a bad template or no relays.
  Result<Json> Publish(std::string_view agent, std::string_view request);

  // ---- outbound DMs (the module's Route) ----
  // Whether `to` is a Nostr address (npub1...).
  static bool IsAddress(std::string_view to);
  // Inside the tick's transaction: queues envelope for delivery to `to` as a NIP-17 DM.
  Status Route(Conn& c, std::string_view from_agent, std::string_view to, const Json& envelope);
  // After the commit: start sending.
  void Wake();

  // ---- NIP-98 HTTP auth ----
  // The npub a request's `Authorization: Nostr <base64 event>` proves: the event is kind
  // 27235, its id and signature verify, created_at is within ±60 s, its u, method and payload
  // tags match the request, and its id was never accepted before (remembered in memory and
  // in the store, so a restart does not reopen the window). kUnauthenticated naming the check.
  Result<std::string> VerifyHttpAuth(const HttpAuth& req);

  // Inside agent's creating transaction: its relay lists are due for publication.
  Status MarkListsDue(Conn& c, std::string_view agent) const {
    return store_.MarkListsDue(c, agent);
  }

  // Marks the subscriptions for re-planning (an agent was created; its key rotated).
  void MarkDirty();
  NostrCounts counts() const;

 private:
  struct Query;
  // nostr_inbound.cc
  void OnEvent(const std::string& url, const std::string& sub, const Json& event);
  void OnEose(const std::string& url, const std::string& sub);
  void InboundLoop();
  void Receive(const Json& event);
  // Re-plans the DM subscriptions; unless force, only when the plan changed.
  Status Resubscribe(bool force);
  std::vector<Json> OnAuth(const std::string& url, const std::string& challenge);
  // nostr_outbound.cc
  void WorkLoop();
  void SendDueDms();
  void SendDm(const OutgoingDm& dm);
  void PublishDueLists();
  std::vector<std::string> DmRelaysOf(const identity::Bytes32& recipient,
                                      const std::vector<std::string>& ask);
  std::vector<Json> RunQuery(const std::vector<std::string>& urls, const Json& filter);
  // nostr_service.cc
  Result<std::vector<std::string>> ParseRelayList(std::string_view text) const;
  Json PublishResults(const std::vector<PublishResult>& results) const;

  Database* db_;
  const Clock* clock_;
  identity::Identity* identity_;
  AgentHost* host_;
  const NostrOptions opts_;
  NostrStore store_;
  std::unique_ptr<RelayPool> pool_;

  std::mutex mu_;
  std::condition_variable cv_;     // work for WorkLoop
  std::condition_variable in_cv_;  // events for InboundLoop
  std::deque<Json> inbound_;       // received, not yet processed
  bool stop_ = false;
  bool dirty_ = true;  // subscriptions need re-planning
  bool wake_ = false;  // DMs or lists due
  // relay -> the agents (ids) that use it, from the last plan; for AUTH.
  std::map<std::string, std::vector<std::string>> relay_agents_;
  std::map<std::string, std::set<std::string>> subscribed_;  // relay -> our sub ids
  std::map<std::string, std::shared_ptr<Query>> queries_;    // sub id -> pending query
  std::string plan_sig_;                                     // the last plan (WorkLoop only)
  // recipient pubkey hex -> (its kind-10050 relays, when looked up in ms)
  std::map<std::string, std::pair<std::vector<std::string>, int64_t>> dm_relays_;  // WorkLoop only
  identity::Nip98ReplayGuard nip98_guard_;
  std::thread inbound_thread_;
  std::thread work_thread_;

  std::atomic<int64_t> received_{0}, delivered_{0}, duplicates_{0}, rejected_{0}, refused_{0},
      published_{0}, dms_sent_{0}, dms_failed_{0}, deferred_{0};
  // Ids of deferred events not yet delivered: while any is left, the relays are asked again
  // every redeliver_ms. Guarded by mu_; at most kMaxQueued-ish ids.
  std::set<std::string> deferred_ids_;
  bool Redelivering();
};

}  // namespace agent9::nostr
