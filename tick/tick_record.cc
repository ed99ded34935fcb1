#include "tick/tick_record.h"

#include "tick/tick_store.h"

namespace agent9 {

Json TickOutputToJson(const TickOutput& out) {
  Json sends = Json::array();
  for (const auto& s : out.send) {
    Json j{{"to", s.to}, {"body", s.body}};
    if (!s.reply_to.empty()) j["reply_to"] = s.reply_to;
    sends.push_back(std::move(j));
  }
  Json alarms = Json::array();
  for (const auto& a : out.alarms) {
    Json j{{"in_ms", a.in_ms}, {"payload", a.payload}};
    if (a.every_ms) j["every_ms"] = *a.every_ms;
    alarms.push_back(std::move(j));
  }
  Json actions = Json::object();
  for (const auto& [k, v] : out.actions) actions[k] = v;
  Json appends = Json::array();
  for (const auto& m : out.memory_append)
    appends.push_back(Json{{"path", m.path}, {"data", m.data}});
  return Json{{"state", out.state ? *out.state : Json(nullptr)},
              {"emit", out.emit},
              {"send", std::move(sends)},
              {"reply", out.reply ? *out.reply : Json(nullptr)},
              {"alarms", std::move(alarms)},
              {"hibernate", out.hibernate},
              {"actions", std::move(actions)},
              {"memory_append", std::move(appends)}};
}

Json TickInputToJson(const TickInput& in, const std::map<std::string, Json>& memory_reads) {
  Json memory = Json::object();
  for (const auto& [path, v] : memory_reads) memory[path] = v;
  return Json{{"agent", in.agent},          {"tick", in.tick},   {"now", in.now_ms},
              {"trigger", in.trigger},      {"state", in.state}, {"config", in.config.ToJson()},
              {"memory", std::move(memory)}};
}

Status RecordTick(Conn& c, std::string_view agent, int64_t tick, std::string_view input_json,
                  std::string_view output_json, int64_t retain) {
  if (retain <= 0) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO tick_records(agent, tick, input, output) VALUES(?,?,?,?) "
                          "ON CONFLICT(agent, tick) DO UPDATE SET input=excluded.input, "
                          "output=excluded.output"));
  s->Bind(1, agent).Bind(2, tick).Bind(3, input_json).Bind(4, output_json);
  AGENT9_RETURN_IF_ERROR(s->Run());
  return TrimLog(c, "DELETE FROM tick_records WHERE agent=? AND tick<=?", agent, tick, retain);
}

Result<Json> LoadTickRecord(Conn& c, std::string_view agent, int64_t tick) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("SELECT input, output FROM tick_records WHERE agent=? AND tick=?"));
  s->Bind(1, agent).Bind(2, tick);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  std::string input = row ? s->Text(0) : "", output = row ? s->Text(1) : "";
  s->Reset();
  if (!row) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * r, c.Prepare("SELECT min(tick), max(tick) FROM tick_records WHERE agent=?"));
    r->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool any, r->Step());
    std::string kept = any && !r->IsNull(0)
                           ? "ticks " + std::to_string(r->Int(0)) + ".." +
                                 std::to_string(r->Int(1)) + " are kept (config retention.replay)"
                           : "no ticks are kept (config retention.replay)";
    r->Reset();
    return Status::NotFound("no record of tick " + std::to_string(tick) + ": " + kept);
  }
  AGENT9_ASSIGN_OR_RETURN(Json in, ParseJson(input, "tick record"));
  AGENT9_ASSIGN_OR_RETURN(Json out, ParseJson(output, "tick record"));
  return Json{{"input", std::move(in)}, {"output", std::move(out)}};
}

}  // namespace agent9
