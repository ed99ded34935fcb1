// NostrService, inbound: subscriptions for the local agents' DMs and mentions, and what
// arrives on them (nostr_service.h).
#include "fs/base/log.h"
#include "identity/nip19.h"
#include "identity/nip59.h"
#include "nostr/nostr_service.h"

namespace agent9::nostr {
namespace {

using identity::Bytes32;

// NIP-59 randomises created_at up to two days into the past.
constexpr int64_t kWrapWindowS = 2 * 24 * 3600;
constexpr size_t kMaxQueued = 100'000;
constexpr std::string_view kDmSub = "dm";
constexpr std::string_view kQuerySub = "q";

}  // namespace

struct NostrService::Query {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Json> events;
  size_t pending = 0;  // relays yet to send EOSE
};

void NostrService::OnEvent(const std::string&, const std::string& sub, const Json& event) {
  if (sub.starts_with(kQuerySub)) {
    std::shared_ptr<Query> q;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = queries_.find(sub);
      if (it != queries_.end()) q = it->second;
    }
    if (q) {
      std::lock_guard<std::mutex> l(q->mu);
      if (q->events.size() < 100) q->events.push_back(event);
    }
    return;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    // Past the cap the event is dropped here; the relay still has it, and the next
    // re-subscription (since = cursor - 2 days) brings it back.
    if (inbound_.size() >= kMaxQueued) return;
    inbound_.push_back(event);
  }
  in_cv_.notify_one();
}

void NostrService::OnEose(const std::string&, const std::string& sub) {
  if (!sub.starts_with(kQuerySub)) return;
  std::shared_ptr<Query> q;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = queries_.find(sub);
    if (it != queries_.end()) q = it->second;
  }
  if (!q) return;
  {
    std::lock_guard<std::mutex> l(q->mu);
    if (q->pending > 0) --q->pending;
  }
  q->cv.notify_all();
}

std::vector<Json> NostrService::RunQuery(const std::vector<std::string>& urls, const Json& filter) {
  if (urls.empty()) return {};
  auto q = std::make_shared<Query>();
  q->pending = urls.size();
  std::array<uint8_t, 8> rnd{};
  identity::RandomBytes(rnd);
  std::string sub = std::string(kQuerySub) + identity::HexEncode(rnd);
  {
    std::lock_guard<std::mutex> l(mu_);
    queries_[sub] = q;
  }
  for (const auto& url : urls) pool_->Subscribe(url, sub, Json::array({filter}));
  std::vector<Json> out;
  {
    std::unique_lock<std::mutex> l(q->mu);
    q->cv.wait_for(l, std::chrono::milliseconds(opts_.query_timeout_ms),
                   [&] { return q->pending == 0; });
    out = q->events;
  }
  for (const auto& url : urls) pool_->Unsubscribe(url, sub);
  std::lock_guard<std::mutex> l(mu_);
  queries_.erase(sub);
  return out;
}

void NostrService::InboundLoop() {
  for (;;) {
    Json ev;
    {
      std::unique_lock<std::mutex> l(mu_);
      in_cv_.wait(l, [&] { return stop_ || !inbound_.empty(); });
      if (stop_) return;
      ev = std::move(inbound_.front());
      inbound_.pop_front();
    }
    Receive(ev);
  }
}

void NostrService::Receive(const Json& json) {
  received_.fetch_add(1);
  auto parsed = identity::EventFromJson(json);
  Status ok = parsed.ok() ? identity::VerifyEvent(*parsed) : parsed.status();
  // Local agents the event names (p tags): whom a rejection is traced to.
  std::vector<std::string> agents;
  if (parsed.ok()) {
    for (const auto& tag : parsed->tags) {
      if (tag.size() < 2 || tag[0] != "p") continue;
      auto pub = identity::HexDecode32(tag[1].get<std::string>());
      if (!pub.ok()) continue;
      auto agent = identity_->AgentFor(*pub);
      if (agent.ok() && *agent &&
          std::find(agents.begin(), agents.end(), **agent) == agents.end()) {
        agents.push_back(**agent);
      }
    }
  }
  auto reject = [&](const std::string& agent, const std::string& why) {
    rejected_.fetch_add(1);
    LogWarn("nostr: rejected event " + (parsed.ok() ? parsed->id : std::string("?")) + ": " + why);
    if (!agent.empty()) {
      host_->Trace(agent, Json{{"type", "nostr"},
                               {"op", "rejected"},
                               {"event_id", parsed.ok() ? parsed->id : ""},
                               {"reason", why}});
    }
  };
  if (!ok.ok()) {
    reject(agents.empty() ? "" : agents[0], ok.message());
    return;
  }
  const identity::Event& ev = *parsed;
  auto settle = [&](bool pending) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!pending) {
        deferred_ids_.erase(ev.id);
        return;
      }
      if (deferred_ids_.size() < kMaxQueued) deferred_ids_.insert(ev.id);
      wake_ = true;  // the worker plans the next fetch
    }
    cv_.notify_all();
  };
  auto seen = store_.Seen(ev.id);
  if (seen.ok() && *seen) {
    duplicates_.fetch_add(1);
    settle(false);
    return;
  }
  bool deferred = false;
  for (const auto& agent : agents) {
    Bytes32 sender{};
    std::string text, msg_id = "nostr-" + ev.id;
    if (ev.kind == 1059) {
      auto u = identity_->UnwrapDm(agent, ev);
      if (!u.ok()) {
        reject(agent, u.status().message());
        continue;
      }
      if (u->rumor.kind != 14) {
        reject(agent, "a gift wrap of kind " + std::to_string(u->rumor.kind) + ", not 14");
        continue;
      }
      auto s = identity::HexDecode32(u->rumor.pubkey);
      if (!s.ok()) {
        reject(agent, "bad rumor pubkey");
        continue;
      }
      sender = *s;
      text = u->rumor.content;
      msg_id = "nostr-" + u->rumor.id;
    } else {
      auto s = identity::HexDecode32(ev.pubkey);
      if (!s.ok()) continue;
      sender = *s;
      if (ev.kind == 4) {
        auto plain = identity_->Decrypt(agent, sender, ev.content);
        if (!plain.ok()) {
          reject(agent, plain.status().message());
          continue;
        }
        text = std::move(plain).value();
      } else if (ev.kind == 1) {
        text = ev.content;
      } else {
        continue;
      }
    }
    // An agent that accepts no strangers hears only from local agents.
    auto config = host_->AgentConfigJson(agent);
    if (config.ok() && !config->value("accept_strangers", true)) {
      auto local = identity_->AgentFor(sender);
      if (!local.ok() || !*local) {
        refused_.fetch_add(1);
        host_->Trace(agent, Json{{"type", "nostr"},
                                 {"op", "refused"},
                                 {"event_id", ev.id},
                                 {"from", identity::EncodeNpub(sender)}});
        continue;
      }
    }
    Json body{{"text", text}};
    if (ev.kind == 1) body["mention"] = ev.id;
    Json envelope{{"id", msg_id}, {"body", body}};
    auto id = host_->Deliver(agent, DumpJson(envelope), identity::EncodeNpub(sender));
    if (!id.ok()) {
      // Not marked seen: a full inbox (or a failed write) must not lose the message. A
      // re-subscription (after redeliver_ms) fetches it from the relay again; the message id
      // keeps a delivery that did land from happening twice.
      deferred = true;
      deferred_.fetch_add(1);
      LogWarn("nostr: delivering " + ev.id + " to " + agent + ": " + id.status().ToString());
      host_->Trace(agent, Json{{"type", "nostr"},
                               {"op", "deferred"},
                               {"event_id", ev.id},
                               {"error", CodeName(id.status().code())},
                               {"message", id.status().message()}});
      continue;
    }
    delivered_.fetch_add(1);
    host_->Trace(agent, Json{{"type", "nostr"},
                             {"op", "received"},
                             {"kind", ev.kind},
                             {"event_id", ev.id},
                             {"from", identity::EncodeNpub(sender)}});
  }
  settle(deferred);
  if (deferred) return;
  Status st = store_.Accepted(ev.id, ev.created_at, clock_->NowMs());
  if (!st.ok()) LogWarn("nostr: recording " + ev.id + " as seen: " + st.ToString());
}

Status NostrService::Resubscribe(bool force) {
  AGENT9_ASSIGN_OR_RETURN(auto own, store_.AgentsWithRelays());
  AGENT9_ASSIGN_OR_RETURN(auto defaults, store_.DefaultRelays());
  std::map<std::string, std::vector<std::string>> keys;    // relay -> pubkeys (hex)
  std::map<std::string, std::vector<std::string>> agents;  // relay -> agents
  if (!defaults.empty() || !own.empty()) {
    std::string after;
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(auto page, identity_->Keys(after, 1000));
      if (page.empty()) break;
      for (const auto& [agent, pub] : page) {
        auto it = own.find(agent);
        const auto& relays = it == own.end() ? defaults : it->second;
        for (const auto& url : relays) {
          keys[url].push_back(identity::HexEncode(pub));
          agents[url].push_back(agent);
        }
      }
      after = page.back().first;
    }
  }
  // Unchanged since the last plan: the live subscriptions already cover it.
  std::string sig;
  for (const auto& [url, pubs] : keys) {
    sig += url + "\n";
    for (const auto& p : pubs) sig += p;
  }
  if (!force && sig == plan_sig_) return Status::OK();
  plan_sig_ = std::move(sig);
  AGENT9_ASSIGN_OR_RETURN(int64_t cursor, store_.Cursor());
  int64_t since = (cursor > 0 ? cursor : clock_->NowMs() / 1000) - kWrapWindowS;
  std::map<std::string, std::set<std::string>> subs;
  for (const auto& [url, pubs] : keys) {
    for (size_t i = 0, n = 0; i < pubs.size(); i += opts_.keys_per_subscription, ++n) {
      size_t end = std::min(pubs.size(), i + opts_.keys_per_subscription);
      Json p(std::vector<std::string>(pubs.begin() + static_cast<std::ptrdiff_t>(i),
                                      pubs.begin() + static_cast<std::ptrdiff_t>(end)));
      Json filters = Json::array({Json{{"kinds", {1059}}, {"#p", p}, {"since", since}},
                                  Json{{"kinds", {4, 1}}, {"#p", p}, {"since", since}}});
      std::string sub = std::string(kDmSub) + std::to_string(n);
      pool_->Subscribe(url, sub, filters);
      subs[url].insert(sub);
    }
  }
  std::map<std::string, std::set<std::string>> old;
  {
    std::lock_guard<std::mutex> l(mu_);
    old = std::move(subscribed_);
    subscribed_ = subs;
    relay_agents_ = std::move(agents);
  }
  for (const auto& [url, ids] : old) {
    if (!subs.count(url)) {
      pool_->Drop(url);
      continue;
    }
    for (const auto& id : ids) {
      if (!subs[url].count(id)) pool_->Unsubscribe(url, id);
    }
  }
  return Status::OK();
}

std::vector<Json> NostrService::OnAuth(const std::string& url, const std::string& challenge) {
  std::vector<std::string> agents;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = relay_agents_.find(url);
    if (it != relay_agents_.end()) agents = it->second;
  }
  if (agents.size() > opts_.max_auth_keys) agents.resize(opts_.max_auth_keys);
  std::vector<Json> out;
  for (const auto& agent : agents) {
    auto ev = identity_->SignEvent(
        agent, 22242,
        Json::array({Json::array({"relay", url}), Json::array({"challenge", challenge})}), "",
        clock_->NowMs() / 1000);
    if (ev.ok()) out.push_back(identity::EventToJson(*ev));
  }
  return out;
}

}  // namespace agent9::nostr
