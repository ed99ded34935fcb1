#include "containers/nostr_auth.h"

#include "identity/encoding.h"
#include "identity/event.h"
#include "identity/identity.h"

namespace agent9::containers {

Result<Json> NostrAuth::Authenticate(std::string_view agent) {
  if (!identity_) {
    return Status::Unimplemented("Nostr auth needs the identity module, which is not loaded");
  }
  Json out = Json::object();
  for (const auto& p : svc_->providers()) {
    if (!p->AcceptsNostrAuth()) continue;
    Json entry;
    Json st{{"authenticated", false}, {"at", Rfc3339(clock_->NowMs())}};
    auto challenge = p->AuthChallenge();
    if (!challenge.ok()) {
      entry = Json{{"ok", false}, {"error", "challenge: " + challenge.status().message()}};
      st["error"] = entry["error"];
    } else {
      std::string url = p->Info().value("base_url", std::string());
      auto ev = identity_->SignEvent(
          agent, 22242,
          Json::array({Json::array({"challenge", *challenge}), Json::array({"u", url})}), "",
          clock_->NowMs() / 1000);
      if (!ev.ok()) return ev.status();
      entry = Json{{"challenge", *challenge}, {"event_id", ev->id}, {"pubkey", ev->pubkey}};
      st["pubkey"] = ev->pubkey;
      auto answer = p->AuthSubmit(identity::EventToJson(*ev));
      if (answer.ok()) {
        entry["ok"] = true;
        entry["answer"] = *answer;
        st["authenticated"] = true;
      } else {
        entry["ok"] = false;
        entry["error"] = answer.status().message();
        st["error"] = answer.status().message();
      }
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      status_[{std::string(agent), p->id()}] = st;
    }
    out[p->id()] = entry;
  }
  if (out.empty()) {
    return Status::Unimplemented("no container provider accepts Nostr auth",
                                 "set nostr_auth = true on a [[containers.providers]] entry");
  }
  return out;
}

Json NostrAuth::AuthStatus(std::string_view agent) {
  Json out = Json::object();
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& p : svc_->providers()) {
    if (!p->AcceptsNostrAuth()) continue;
    auto it = status_.find({std::string(agent), p->id()});
    out[p->id()] = it == status_.end() ? Json{{"authenticated", false}} : it->second;
  }
  return out;
}

}  // namespace agent9::containers
