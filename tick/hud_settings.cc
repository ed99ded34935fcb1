#include "tick/hud_settings.h"

#include "tick/agents.h"
#include "tick/agents_internal.h"

namespace agent9 {

bool AgentService::IsPublic(std::string_view id) const {
  auto a = Get(id);
  return a.ok() && a->is_public;
}

Result<Json> AgentService::GetHudSettings(std::string_view id) const {
  Json out{{"public", false}, {"embed_allowed", false}, {"redaction_policy", "default"}};
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT body FROM docs WHERE agent=? AND ns='hud' AND name='settings'"));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) {
      auto j = ParseJson(s->Text(0));
      if (j.ok()) out.update(*j);
    }
    return Status::OK();
  }));
  return out;
}

Result<Json> CleanHudSettings(const Json& settings) {
  if (!settings.is_object()) return Status::InvalidArgument("hud/settings must be a JSON object");
  Json clean{{"public", false}, {"embed_allowed", false}, {"redaction_policy", "default"}};
  for (const auto& [k, v] : settings.items()) {
    if (k == "public" || k == "embed_allowed") {
      if (!v.is_boolean())
        return Status::InvalidArgument("hud/settings: " + k + " must be true or false");
    } else if (k == "redaction_policy") {
      std::string p = v.is_string() ? v.get<std::string>() : "";
      if (p != "default" && p != "strict" && p != "none") {
        return Status::InvalidArgument(
            "hud/settings: redaction_policy must be default, strict or none");
      }
    } else {
      return Status::InvalidArgument("hud/settings: unknown field", k);
    }
    clean[k] = v;
  }
  return clean;
}

Status AgentService::SetHudSettings(std::string_view id, const Json& settings) {
  AGENT9_ASSIGN_OR_RETURN(Json clean, CleanHudSettings(settings));
  std::string text = DumpJson(clean);
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * u, c.Prepare("UPDATE agents SET is_public=? WHERE id=?"));
    u->Bind(1, clean["public"].get<bool>() ? 1 : 0).Bind(2, id);
    AGENT9_RETURN_IF_ERROR(u->Run());
    if (c.Changes() == 0) return Status::NotFound("no such agent", id);
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("INSERT INTO docs(agent, ns, name, body, updated_at) VALUES(?, 'hud', "
                            "'settings', ?, ?) "
                            "ON CONFLICT(agent, ns, name) DO UPDATE SET body=excluded.body, "
                            "updated_at=excluded.updated_at"));
    s->Bind(1, id).Bind(2, text).Bind(3, now);
    return s->Run();
  });
}

}  // namespace agent9
