#include "nostr/nostr_module.h"

#include "nostr/nostr_files.h"
#include "nostr/relay_url.h"

namespace agent9::nostr {

Status NostrModule::Configure(const RuntimeConfig& config) {
  ConfigSection s = config.Section("nostr");
  AGENT9_ASSIGN_OR_RETURN(auto relays, s.Strings("relays"));
  for (const auto& r : relays) {
    auto url = NormalizeRelayUrl(r);
    if (!url.ok()) {
      return Status::InvalidArgument(s.Where("relays") +
                                     ": nostr.relays: " + url.status().message());
    }
    opts_.default_relays.push_back(*url);
  }
  AGENT9_ASSIGN_OR_RETURN(opts_.pool.verify_tls, s.Bool("verify_tls", true));
  AGENT9_ASSIGN_OR_RETURN(int64_t min_ms, s.Int("reconnect_min_ms", 500, 10, 600'000));
  AGENT9_ASSIGN_OR_RETURN(int64_t max_ms, s.Int("reconnect_max_ms", 60'000, 10, 3'600'000));
  if (max_ms < min_ms) {
    return Status::InvalidArgument(s.Where("reconnect_max_ms") +
                                   ": nostr.reconnect_max_ms: less than reconnect_min_ms");
  }
  opts_.pool.backoff_min_ms = static_cast<int>(min_ms);
  opts_.pool.backoff_max_ms = static_cast<int>(max_ms);
  AGENT9_ASSIGN_OR_RETURN(int64_t publish_ms, s.Int("publish_timeout_ms", 5000, 100, 120'000));
  opts_.pool.publish_timeout_ms = static_cast<int>(publish_ms);
  AGENT9_ASSIGN_OR_RETURN(int64_t redeliver_ms, s.Int("redeliver_ms", 60'000, 100, 3'600'000));
  opts_.redeliver_ms = static_cast<int>(redeliver_ms);
  return Status::OK();
}

Status NostrModule::Open(const ModuleContext& ctx) {
  ctx_ = ctx;
  if (!identity_->identity()) return Status::Internal("nostr opened before identity");
  service_ =
      std::make_unique<NostrService>(ctx.db, ctx.clock, identity_->identity(), ctx.host, opts_);
  return service_->Open();
}

Status NostrModule::Start() { return service_->Start(); }

void NostrModule::Stop() {
  if (service_) service_->Stop();
}

std::vector<TableEntry> NostrModule::AgentEntries() {
  return NostrAgentEntries(service_.get(), ctx_.calls);
}

std::vector<TableEntry> NostrModule::GlobalEntries() { return NostrGlobalEntries(service_.get()); }

Status NostrModule::OnAgentCreated(Conn& c, std::string_view agent) {
  // Its relay lists go out with the creation, or not at all.
  return service_->MarkListsDue(c, agent);
}

// Once the agent is visible: subscribe to its DMs and publish its lists.
void NostrModule::AgentCreated(std::string_view) { service_->MarkDirty(); }

Status NostrModule::Route(Conn& c, std::string_view from_agent, std::string_view to,
                          const Json& envelope) {
  return service_->Route(c, from_agent, to, envelope);
}

void NostrModule::Routed() { service_->Wake(); }

bool NostrModule::VerifiesHttpAuth(std::string_view scheme) const {
  return scheme.size() == 5 && (scheme[0] == 'N' || scheme[0] == 'n') && scheme.substr(1) == "ostr";
}

Result<std::string> NostrModule::VerifyHttpAuth(const HttpAuth& req) {
  return service_->VerifyHttpAuth(req);
}

std::string NostrModule::MetricsText() {
  NostrCounts n = service_->counts();
  std::string out =
      "# HELP agent9_nostr_events_total Nostr events by what became of them.\n"
      "# TYPE agent9_nostr_events_total counter\n";
  auto line = [&](const char* what, int64_t v) {
    out += std::string("agent9_nostr_events_total{result=\"") + what + "\"} " + std::to_string(v) +
           "\n";
  };
  line("received", n.received);
  line("delivered", n.delivered);
  line("duplicate", n.duplicates);
  line("rejected", n.rejected);
  line("refused", n.refused);
  line("published", n.published);
  line("dm_sent", n.dms_sent);
  line("dm_failed", n.dms_failed);
  line("deferred", n.deferred);
  return out;
}

}  // namespace agent9::nostr
