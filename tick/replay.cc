#include "tick/replay.h"

#include <unistd.h>

#include <exception>
#include <set>

#include "fs/agent_config.h"
#include "fs/base/path.h"
#include "tick/tick_record.h"
#include "tick/tick_store.h"

namespace agent9 {
namespace {

Status CheckProgram(const std::string& program) {
  if (program.empty() || program[0] != '/') {
    return Status::InvalidArgument("program: want an absolute path", program);
  }
  if (access(program.c_str(), X_OK) != 0) {
    return Status::InvalidArgument("program: not an executable file", program);
  }
  return Status::OK();
}

// The recorded input document as a TickInput; reads of memory answer from `memory` only,
// and a path it does not hold is added to *unrecorded.
Result<TickInput> InputFromRecord(std::string_view agent, const Json& rec,
                                  const ReplayOptions& opts, std::set<std::string>* unrecorded) {
  if (!rec.is_object()) return Status::Internal("tick record: input is not an object");
  TickInput in;
  in.agent_id = std::string(agent);
  in.agent = rec.value("agent", Json::object());
  in.tick = rec.value("tick", int64_t{0});
  in.now_ms = rec.value("now", int64_t{0});
  in.trigger = rec.value("trigger", Json::object());
  in.state = rec.value("state", Json::object());
  auto config = AgentConfig::FromJson(rec.value("config", Json::object()));
  if (!config.ok()) {
    return Status::Internal("tick record: config: " + config.status().message());
  }
  in.config = std::move(config).value();
  if (!opts.program.empty()) in.config.program = opts.program;
  in.replay = true;
  Json memory = rec.value("memory", Json::object());
  in.read_memory = [memory = std::move(memory), unrecorded](
                       std::string_view path, size_t max_tail) -> Result<std::string> {
    auto it = memory.find(std::string(path));
    if (it == memory.end()) {
      unrecorded->insert(std::string(path));
      return Status::NotFound("memory file not read by the recorded tick", path);
    }
    if (it->is_string()) return std::string(TailLines(it->get_ref<const std::string&>(), max_tail));
    return Status::NotFound("memory file", path);
  };
  return in;
}

}  // namespace

Json DiffTickOutputs(const Json& recorded, const Json& replayed) {
  std::set<std::string> parts;
  for (const auto& [k, v] : recorded.items()) parts.insert(k);
  for (const auto& [k, v] : replayed.items()) parts.insert(k);
  Json out = Json::array();
  static const Json kNull;
  for (const auto& part : parts) {
    const Json& a = recorded.contains(part) ? recorded[part] : kNull;
    const Json& b = replayed.contains(part) ? replayed[part] : kNull;
    for (const auto& op : Json::diff(a, b)) {
      std::string path = op.value("path", "");
      Json d{{"part", part}, {"op", op.value("op", "")}, {"path", path}};
      Json::json_pointer ptr(path);
      if (a.contains(ptr)) d["recorded"] = a.at(ptr);
      if (op.contains("value")) d["replayed"] = op["value"];
      out.push_back(std::move(d));
    }
  }
  return out;
}

Result<Json> ReplayTick(Database* db, const AgentKinds& kinds, std::string_view agent, int64_t tick,
                        const ReplayOptions& opts) {
  if (!opts.program.empty()) AGENT9_RETURN_IF_ERROR(CheckProgram(opts.program));
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(agent));
  Json record;
  AGENT9_RETURN_IF_ERROR(db->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(bool exists, AgentExists(c, std::string(agent)));
    if (!exists) return Status::NotFound("no such agent", agent);
    AGENT9_ASSIGN_OR_RETURN(record, LoadTickRecord(c, agent, tick));
    return Status::OK();
  }));
  std::set<std::string> unrecorded;
  AGENT9_ASSIGN_OR_RETURN(TickInput in, InputFromRecord(agent, record["input"], opts, &unrecorded));
  const std::string kind = in.config.kind;
  std::shared_ptr<Agent> impl = kinds.Find(kind);
  if (!impl) return Status::NotFound("the tick's agent kind is not registered", kind);

  Result<TickOutput> out = Status::Internal("no output");
  try {
    out = impl->Tick(in);
  } catch (const std::exception& e) {
    out = Status::Internal("agent threw", e.what());
  }

  const Json& recorded = record["output"];
  Json result{{"agent", std::string(agent)}, {"tick", tick}, {"kind", kind}};
  if (!in.config.program.empty()) result["program"] = in.config.program;
  if (out.ok()) {
    Json replayed = TickOutputToJson(*out);
    Json diffs = DiffTickOutputs(recorded, replayed);
    result["identical"] = diffs.empty();
    result["differences"] = std::move(diffs);
    result["replayed"] = std::move(replayed);
  } else {
    result["identical"] = false;
    result["error"] = out.status().message();
    result["differences"] = Json::array();
    result["replayed"] = nullptr;
  }
  result["recorded"] = recorded;
  result["unrecorded_reads"] = Json(std::vector<std::string>(unrecorded.begin(), unrecorded.end()));
  return result;
}

}  // namespace agent9
