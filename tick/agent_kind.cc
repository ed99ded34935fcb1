#include "tick/agent_kind.h"

namespace agent9 {

Result<TickOutput> EchoAgent::Tick(const TickInput& in) {
  TickOutput out;
  if (in.trigger.value("type", "") != "message") return out;
  const Json& msg = in.trigger["message"];
  if (msg.contains("reply_to")) return out;
  out.reply = msg.contains("body") ? msg["body"] : Json(nullptr);
  int64_t echoed = in.state.is_object() ? in.state.value("echoed", int64_t{0}) : 0;
  out.state = Json{{"echoed", echoed + 1}};
  return out;
}

AgentKinds AgentKinds::WithBuiltins() {
  AgentKinds k;
  k.Register("echo", std::make_shared<EchoAgent>());
  return k;
}

}  // namespace agent9
