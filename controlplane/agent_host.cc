#include "controlplane/agent_host.h"

#include "tick/alarms.h"
#include "tick/tick_store.h"

namespace agent9 {

Result<std::string> RuntimeHost::Deliver(std::string_view agent, std::string_view bytes,
                                         std::string_view from) {
  AGENT9_ASSIGN_OR_RETURN(EnqueueResult r, agents_->Enqueue(agent, bytes, from));
  return r.id;
}

Result<int64_t> RuntimeHost::AddEvent(std::string_view agent, const Json& event) {
  return agents_->AddEvent(agent, event);
}

Result<int64_t> RuntimeHost::AddEventInTransaction(Conn& c, std::string_view agent,
                                                   const Json& event) {
  if (!event.is_object()) return Status::InvalidArgument("an event must be a JSON object");
  return agent9::AddEventInTransaction(c, agent, event, agents_->clock()->NowMs());
}

void RuntimeHost::EventAdded(std::string_view agent) { agents_->NotifyEnqueued(agent); }

Status RuntimeHost::Emit(std::string_view agent, const Json& event) {
  AGENT9_ASSIGN_OR_RETURN(AgentConfig config, agents_->GetConfig(agent));
  std::string text = DumpJson(event);
  std::string id(agent);
  AGENT9_RETURN_IF_ERROR(agents_->db()->Write([&](Conn& c) -> Status {
    return AppendEvent(c, id, text, agents_->clock()->NowMs(), config.retain_events).status();
  }));
  outbox_->Get(id)->Append(text + "\n");
  return Status::OK();
}

void RuntimeHost::Trace(std::string_view agent, Json record) {
  Json j{{"ts", Rfc3339(agents_->clock()->NowMs())}};
  j.update(record);
  trace_->Record(std::string(agent), j);
}

Result<Json> RuntimeHost::AgentConfigJson(std::string_view agent) {
  AGENT9_ASSIGN_OR_RETURN(AgentConfig config, agents_->GetConfig(agent));
  return config.ToJson();
}

Result<std::vector<std::string>> RuntimeHost::ListAgents(std::string_view after, size_t limit) {
  AGENT9_ASSIGN_OR_RETURN(auto list, agents_->List(after, limit));
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto& a : list) out.push_back(std::move(a.id));
  return out;
}

}  // namespace agent9
