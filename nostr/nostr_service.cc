#include "nostr/nostr_service.h"

#include "fs/base/log.h"
#include "identity/nip19.h"
#include "nostr/relay_url.h"

namespace agent9::nostr {

using identity::Bytes32;

NostrService::NostrService(Database* db, const Clock* clock, identity::Identity* identity,
                           AgentHost* host, NostrOptions opts)
    : db_(db), clock_(clock), identity_(identity), host_(host), opts_(std::move(opts)), store_(db) {
  RelayPool::Callbacks cb;
  cb.on_event = [this](const std::string& url, const std::string& sub, const Json& ev) {
    OnEvent(url, sub, ev);
  };
  cb.on_eose = [this](const std::string& url, const std::string& sub) { OnEose(url, sub); };
  cb.on_auth = [this](const std::string& url, const std::string& challenge) {
    return OnAuth(url, challenge);
  };
  pool_ = std::make_unique<RelayPool>(opts_.pool, std::move(cb));
}

NostrService::~NostrService() { Stop(); }

Status NostrService::Open() {
  AGENT9_RETURN_IF_ERROR(store_.Migrate());
  return store_.SeedDefaultRelays(opts_.default_relays);
}

Status NostrService::Start() {
  AGENT9_RETURN_IF_ERROR(pool_->Start());
  {
    std::lock_guard<std::mutex> l(mu_);
    if (work_thread_.joinable()) return Status::OK();
    stop_ = false;
    dirty_ = wake_ = true;
  }
  inbound_thread_ = std::thread([this] { InboundLoop(); });
  work_thread_ = std::thread([this] { WorkLoop(); });
  return Status::OK();
}

void NostrService::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  in_cv_.notify_all();
  if (work_thread_.joinable()) work_thread_.join();
  if (inbound_thread_.joinable()) inbound_thread_.join();
  pool_->Stop();
}

void NostrService::MarkDirty() {
  {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = wake_ = true;
  }
  cv_.notify_all();
}

void NostrService::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

NostrCounts NostrService::counts() const {
  return NostrCounts{received_.load(), delivered_.load(),  duplicates_.load(),
                     rejected_.load(), refused_.load(),    published_.load(),
                     dms_sent_.load(), dms_failed_.load(), deferred_.load()};
}

// ---- relays --------------------------------------------------------------------------------

Result<std::vector<std::string>> NostrService::RelaysOf(std::string_view agent) const {
  AGENT9_ASSIGN_OR_RETURN(auto own, store_.AgentRelays(agent));
  if (own) return *own;
  return store_.DefaultRelays();
}

Result<std::string> NostrService::DescribeRelays(std::string_view agent) const {
  std::vector<std::string> urls;
  bool is_default = agent.empty();
  if (!agent.empty()) {
    AGENT9_ASSIGN_OR_RETURN(auto own, store_.AgentRelays(agent));
    if (own) {
      urls = *own;
    } else {
      is_default = true;
    }
  }
  if (is_default) {
    AGENT9_ASSIGN_OR_RETURN(urls, store_.DefaultRelays());
  }
  std::map<std::string, RelayStatus> states;
  for (auto& s : pool_->Statuses()) states[s.url] = std::move(s);
  std::string out;
  for (const auto& url : urls) {
    out += url;
    auto it = states.find(url);
    if (it == states.end()) {
      out += " idle";
    } else {
      out += " " + it->second.state;
      if (it->second.authenticated) out += " authenticated";
      if (!it->second.last_error.empty()) out += " error=" + DumpJson(it->second.last_error);
    }
    if (is_default && !agent.empty()) out += " default";
    out += "\n";
  }
  return out;
}

Status NostrService::CheckRelaysPrefix(std::string_view text) const {
  size_t nl = text.rfind('\n');
  std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (line.empty() || line.front() == '#' || line.find_first_of(" \t\r") != line.npos) {
    return ParseRelayList(text).status();  // the last URL, if any, is whole
  }
  AGENT9_RETURN_IF_ERROR(ParseRelayList(text.substr(0, text.size() - line.size())).status());
  Status st = CheckRelayUrlPrefix(line);
  if (!st.ok()) return Status::InvalidArgument("nostr/relays: " + st.message());
  return Status::OK();
}

Result<std::vector<std::string>> NostrService::ParseRelayList(std::string_view text) const {
  std::vector<std::string> urls;
  for (const auto& raw : SplitLines(text)) {
    std::string_view line = raw;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    std::string_view word = line.substr(0, line.find_first_of(" \t\r"));
    auto url = NormalizeRelayUrl(word);
    if (!url.ok()) return Status::InvalidArgument("nostr/relays: " + url.status().message());
    if (std::find(urls.begin(), urls.end(), *url) == urls.end()) urls.push_back(*url);
    if (urls.size() > opts_.max_relays) {
      return Status::InvalidArgument("nostr/relays: more than " + std::to_string(opts_.max_relays) +
                                     " relays");
    }
  }
  return urls;
}

Status NostrService::SetRelays(std::string_view agent, std::string_view text) {
  AGENT9_ASSIGN_OR_RETURN(auto urls, ParseRelayList(text));
  if (agent.empty()) {
    AGENT9_RETURN_IF_ERROR(store_.SetDefaultRelays(urls));
  } else {
    AGENT9_RETURN_IF_ERROR(store_.SetAgentRelays(agent, urls));
    host_->Trace(agent, Json{{"type", "nostr"}, {"op", "relays"}, {"relays", urls}});
  }
  MarkDirty();
  return Status::OK();
}

// ---- publish -------------------------------------------------------------------------------

Json NostrService::PublishResults(const std::vector<PublishResult>& results) const {
  Json relays = Json::object();
  for (const auto& r : results) relays[r.url] = Json{{"ok", r.ok}, {"message", r.message}};
  return relays;
}

Result<Json> NostrService::Publish(std::string_view agent, std::string_view request) {
  constexpr std::string_view kWhat = "nostr/publish request";
  AGENT9_ASSIGN_OR_RETURN(Json t, ParseJsonObject(request, kWhat, 16));
  for (const auto& [k, v] : t.items()) {
    if (k != "kind" && k != "content" && k != "tags") {
      return Status::InvalidArgument(std::string(kWhat) + ": unknown field", k);
    }
  }
  if (!t.contains("kind") || !t["kind"].is_number_integer() || t["kind"].get<int64_t>() < 0 ||
      t["kind"].get<int64_t>() > 65535) {
    return Status::InvalidArgument(std::string(kWhat) + ": \"kind\" must be an integer 0..65535");
  }
  if (t.contains("content") && !t["content"].is_string()) {
    return Status::InvalidArgument(std::string(kWhat) + ": \"content\" must be a string");
  }
  Json tags = t.value("tags", Json::array());
  if (!tags.is_array()) {
    return Status::InvalidArgument(std::string(kWhat) + ": \"tags\" must be an array of arrays");
  }
  AGENT9_ASSIGN_OR_RETURN(auto relays, RelaysOf(agent));
  if (relays.empty()) {
    return Status::InvalidArgument(
        "no relays: write nostr/relays (or the global nostr/relays) first");
  }
  auto ev = identity_->SignEvent(agent, t["kind"].get<int>(), std::move(tags),
                                 t.value("content", std::string()), clock_->NowMs() / 1000);
  if (!ev.ok()) {
    return Status(ev.status().code(), std::string(kWhat) + ": " + ev.status().message());
  }
  Json event = identity::EventToJson(*ev);
  auto results = pool_->PublishSync(relays, event);
  published_.fetch_add(1);
  host_->Trace(agent, Json{{"type", "nostr"},
                           {"op", "publish"},
                           {"kind", ev->kind},
                           {"event_id", ev->id},
                           {"relays", PublishResults(results)}});
  return Json{{"event", event}, {"relays", PublishResults(results)}};
}

// ---- NIP-98 -------------------------------------------------------------------------------

Result<std::string> NostrService::VerifyHttpAuth(const HttpAuth& req) {
  identity::Nip98Request r;
  r.credentials = req.credentials;
  r.method = req.method;
  r.url = req.url;
  r.body = req.body;
  r.now_s = clock_->NowMs() / 1000;
  AGENT9_ASSIGN_OR_RETURN(identity::Nip98Auth auth, identity::VerifyNip98(r));
  AGENT9_RETURN_IF_ERROR(nip98_guard_.Accept(auth.event_id, auth.created_at, r.now_s));
  AGENT9_ASSIGN_OR_RETURN(bool fresh, store_.MarkSeen("nip98:" + auth.event_id, clock_->NowMs()));
  if (!fresh) return Status::Unauthenticated("nip98: event already used");
  return identity::EncodeNpub(auth.pubkey);
}

// ---- outbound ------------------------------------------------------------------------------

bool NostrService::IsAddress(std::string_view to) { return to.starts_with("npub1"); }

Status NostrService::Route(Conn& c, std::string_view from_agent, std::string_view to,
                           const Json& envelope) {
  AGENT9_ASSIGN_OR_RETURN(Bytes32 recipient, identity::ParsePubkey(to));
  OutgoingDm dm;
  dm.id = envelope.value("id", std::string());
  if (dm.id.empty()) return Status::InvalidArgument("a message without an id");
  dm.agent = std::string(from_agent);
  dm.recipient = identity::HexEncode(recipient);
  dm.envelope = envelope;
  return store_.AddOutgoing(c, dm, clock_->NowMs());
}

}  // namespace agent9::nostr
