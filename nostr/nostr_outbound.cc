// NostrService, outbound: the worker that re-plans subscriptions, publishes agents' relay
// lists and sends queued DMs as NIP-17 gift wraps (nostr_service.h).
#include "fs/base/log.h"
#include "identity/nip19.h"
#include "identity/nip59.h"
#include "nostr/nostr_service.h"
#include "nostr/relay_url.h"

namespace agent9::nostr {
namespace {

using identity::Bytes32;

constexpr int64_t kDmRelayCacheMs = 10 * 60 * 1000;
constexpr int64_t kSeenRetentionMs = 7LL * 24 * 3600 * 1000;
constexpr int64_t kMaxRetryMs = 5 * 60 * 1000;

// What a message body says as DM text: {"text": "..."} is its text, a string is itself, any
// other JSON is sent as JSON.
std::string BodyText(const Json& body) {
  if (body.is_string()) return body.get<std::string>();
  if (body.is_object() && body.size() == 1 && body.contains("text") && body["text"].is_string()) {
    return body["text"].get<std::string>();
  }
  return DumpJson(body);
}

std::vector<std::string> Union(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const auto& x : b) {
    if (std::find(a.begin(), a.end(), x) == a.end()) a.push_back(x);
  }
  return a;
}

}  // namespace

void NostrService::WorkLoop() {
  int64_t last_plan = 0, last_prune = 0, last_redeliver = 0;
  for (;;) {
    bool force = false;
    int64_t wait_ms = opts_.resync_ms;
    // Read before taking mu_: the relays' I/O thread takes it for every event.
    auto next = store_.NextOutgoingAt();
    if (next.ok() && *next) wait_ms = std::clamp<int64_t>(**next - clock_->NowMs(), 0, wait_ms);
    if (Redelivering()) {
      wait_ms =
          std::clamp<int64_t>(last_redeliver + opts_.redeliver_ms - clock_->NowMs(), 0, wait_ms);
    }
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(wait_ms), [&] { return stop_ || wake_ || dirty_; });
      if (stop_) return;
      force = dirty_;
      dirty_ = wake_ = false;
    }
    int64_t now = clock_->NowMs();
    // Deferred events (a full inbox) come back by asking the relays again.
    if (Redelivering() && now - last_redeliver >= opts_.redeliver_ms) {
      last_redeliver = now;
      force = true;
    }
    if (force || now - last_plan >= opts_.resync_ms) {
      Status st = Resubscribe(force);
      if (!st.ok()) LogWarn("nostr: planning subscriptions: " + st.ToString());
      last_plan = now;
    }
    PublishDueLists();
    SendDueDms();
    if (now - last_prune >= 3'600'000) {
      (void)store_.PruneSeen(now - kSeenRetentionMs);
      last_prune = now;
    }
  }
}

bool NostrService::Redelivering() {
  std::lock_guard<std::mutex> l(mu_);
  return !deferred_ids_.empty();
}

void NostrService::PublishDueLists() {
  auto due = store_.ListsDue(100);
  if (!due.ok()) return;
  for (const auto& agent : *due) {
    auto relays = RelaysOf(agent);
    if (!relays.ok() || relays->empty()) {
      (void)store_.ClearListsDue(agent);
      continue;
    }
    Json r = Json::array(), dm = Json::array();
    for (const auto& url : *relays) {
      r.push_back(Json::array({"r", url}));
      dm.push_back(Json::array({"relay", url}));
    }
    int64_t now_s = clock_->NowMs() / 1000;
    bool any = false;
    Json results = Json::object();
    for (const auto& [kind, tags] : {std::pair{10002, r}, std::pair{10050, dm}}) {
      auto ev = identity_->SignEvent(agent, kind, tags, "", now_s);
      if (!ev.ok()) break;
      auto res = pool_->PublishSync(*relays, identity::EventToJson(*ev));
      published_.fetch_add(1);
      for (const auto& x : res) any = any || x.ok;
      results[std::to_string(kind)] = PublishResults(res);
    }
    host_->Trace(agent, Json{{"type", "nostr"}, {"op", "relay_lists"}, {"relays", results}});
    // Relays that took none of it get the lists again at the next round.
    if (any) (void)store_.ClearListsDue(agent);
  }
}

std::vector<std::string> NostrService::DmRelaysOf(const Bytes32& recipient,
                                                  const std::vector<std::string>& ask) {
  std::string hex = identity::HexEncode(recipient);
  int64_t now = clock_->NowMs();
  auto cached = dm_relays_.find(hex);
  if (cached != dm_relays_.end() && now - cached->second.second < kDmRelayCacheMs) {
    return cached->second.first;
  }
  Json filter{{"kinds", {10050}}, {"authors", {hex}}, {"limit", 1}};
  std::optional<identity::Event> newest;
  for (const auto& j : RunQuery(ask, filter)) {
    auto ev = identity::EventFromJson(j);
    if (!ev.ok() || ev->kind != 10050 || ev->pubkey != hex || !identity::VerifyEvent(*ev).ok()) {
      continue;
    }
    if (!newest || ev->created_at > newest->created_at) newest = *ev;
  }
  std::vector<std::string> urls;
  if (newest) {
    for (const auto& tag : newest->tags) {
      if (tag.size() < 2 || tag[0] != "relay") continue;
      auto url = NormalizeRelayUrl(tag[1].get<std::string>());
      if (url.ok() && urls.size() < opts_.max_relays) urls = Union(urls, {*url});
    }
  }
  dm_relays_[hex] = {urls, now};
  return urls;
}

void NostrService::SendDueDms() {
  auto due = store_.DueOutgoing(clock_->NowMs(), 50);
  if (!due.ok()) {
    LogWarn("nostr: reading the outgoing queue: " + due.status().ToString());
    return;
  }
  for (const auto& dm : *due) SendDm(dm);
}

void NostrService::SendDm(const OutgoingDm& dm) {
  auto recipient = identity::HexDecode32(dm.recipient);
  std::string npub = recipient.ok() ? identity::EncodeNpub(*recipient) : dm.recipient;
  std::string reply_to = dm.envelope.value("reply_to", std::string());
  Json report{{"type", "nostr_dm"}, {"to", npub}, {"message_id", dm.id}};
  if (!reply_to.empty()) report["in_reply_to"] = reply_to;
  auto finish = [&](bool sent, const std::string& error, Json relays) {
    report["status"] = sent ? "sent" : "failed";
    if (!error.empty()) report["error"] = error;
    if (!relays.is_null()) report["relays"] = std::move(relays);
    (sent ? dms_sent_ : dms_failed_).fetch_add(1);
    Status st = host_->Emit(dm.agent, report);
    if (!st.ok()) LogWarn("nostr: outbox of " + dm.agent + ": " + st.ToString());
    (void)store_.DropOutgoing(dm.id);
  };
  auto own = RelaysOf(dm.agent);
  if (!recipient.ok() || !own.ok()) return finish(false, "bad recipient or sender", nullptr);
  std::vector<std::string> relays = DmRelaysOf(*recipient, *own);
  report["relay_source"] = relays.empty() ? "sender" : "recipient";
  if (relays.empty()) relays = *own;
  if (relays.empty()) {
    return finish(false,
                  "no relays: the recipient publishes no kind-10050 list and the "
                  "sender has no nostr/relays",
                  nullptr);
  }
  auto sender = identity_->Pubkey(dm.agent);
  if (!sender.ok()) return finish(false, sender.status().message(), nullptr);
  // A reply to a message that came over Nostr names it (NIP-17 "e" tag).
  std::string reply_event;
  if (reply_to.starts_with("nostr-") && reply_to.size() == 6 + 64) reply_event = reply_to.substr(6);
  identity::Rumor rumor = identity::MakeDmRumor(*sender, *recipient, BodyText(dm.envelope["body"]),
                                                clock_->NowMs() / 1000, reply_event);
  auto wrap = identity_->WrapDm(dm.agent, *recipient, rumor);
  if (!wrap.ok()) return finish(false, wrap.status().message(), nullptr);
  auto results = pool_->PublishSync(relays, identity::EventToJson(*wrap));
  published_.fetch_add(1);
  bool any = false;
  std::string why;
  for (const auto& r : results) {
    any = any || r.ok;
    if (!r.ok && why.empty()) why = r.url + ": " + r.message;
  }
  report["event_id"] = wrap->id;
  report["rumor_id"] = rumor.id;
  if (any) return finish(true, "", PublishResults(results));
  if (dm.attempts + 1 >= opts_.max_dm_attempts) {
    return finish(
        false,
        "no relay took it after " + std::to_string(dm.attempts + 1) + " attempts; last: " + why,
        PublishResults(results));
  }
  int64_t delay =
      std::min<int64_t>(int64_t{1000} << std::min<int64_t>(dm.attempts, 16), kMaxRetryMs);
  (void)store_.RetryOutgoing(dm.id, clock_->NowMs() + delay);
}

}  // namespace agent9::nostr
