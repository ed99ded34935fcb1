#include "tick/stream_hub.h"

namespace agent9 {

std::shared_ptr<Stream> StreamHub::Get(const std::string& agent) {
  MutexLock l(&mu_);
  auto it = streams_.find(agent);
  if (it != streams_.end()) return it->second;
  if (streams_.size() >= kMaxStreams) {
    // Evict streams nobody is reading (the hub holds the only reference).
    for (auto e = streams_.begin(); e != streams_.end();) {
      e = e->second.use_count() == 1 ? streams_.erase(e) : std::next(e);
    }
  }
  auto s = std::make_shared<Stream>(kRetainBytes);
  streams_.emplace(agent, s);
  return s;
}

void StreamHub::Record(const std::string& agent, const Json& event) {
  Get(agent)->Append(DumpJson(event) + "\n");
}

void StreamHub::Drop(const std::string& agent) {
  std::shared_ptr<Stream> s;
  {
    MutexLock l(&mu_);
    auto it = streams_.find(agent);
    if (it == streams_.end()) return;
    s = std::move(it->second);
    streams_.erase(it);
  }
  s->Close();
}

}  // namespace agent9
