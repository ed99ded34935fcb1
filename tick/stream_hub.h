// StreamHub: one in-memory stream per agent with a bounded backlog, for logs/trace (runtime
// events) and outbox/stream (emitted events), NDJSON. A stream exists only while an agent
// has recent events or a reader, and the hub holds at most kMaxStreams of them, so idle
// agents cost nothing here.
// Thread-safety: thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fs/base/json.h"
#include "fs/base/mutex.h"
#include "fs/files/files.h"

namespace agent9 {

class StreamHub {
 public:
  static constexpr size_t kMaxStreams = 4096;
  static constexpr size_t kRetainBytes = 64 * 1024;

  // The stream of agent (created on first use).
  std::shared_ptr<Stream> Get(const std::string& agent);
  // Appends one event as a JSON line.
  void Record(const std::string& agent, const Json& event);
  // Ends and forgets the agent's stream (agent deleted).
  void Drop(const std::string& agent);

 private:
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Stream>> streams_ GUARDED_BY(mu_);
};

}  // namespace agent9
