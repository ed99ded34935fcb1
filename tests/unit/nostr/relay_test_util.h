// Helpers for the nostr unit tests: the loopback relay (and misbehaving fakes) as child node
// processes on port 0, event signing through sign.mjs, and polling waits.
// Thread-safety: NodeProcess is for one test thread; Sign() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fs/base/json.h"

namespace agent9::nostr::testing {

// Where scripts/nostr-relay-setup installed the relay: $AGENT9_RELAY_DIR, else the build tree's
// nostr-relay/; "" when neither has node_modules (tests then skip).
std::string RelayDir();

class NodeProcess {
 public:
  // Runs `node <script> <args...>` (script relative to cwd) in cwd with extra environment and
  // waits up to 10 s for its "listening ws://..." line. nullptr on failure.
  static std::unique_ptr<NodeProcess> Start(
      const std::string& cwd, const std::string& script, const std::vector<std::string>& args,
      const std::vector<std::pair<std::string, std::string>>& env = {});
  ~NodeProcess();  // Kill()

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // Lines the process printed so far equal to line (reads what is pending, up to wait_ms).
  int CountLines(const std::string& line, int wait_ms = 0);
  void Kill(int sig = 9);

 private:
  bool ReadSome(int wait_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buf_;
  std::vector<std::string> lines_;
  std::string url_;
  int port_ = 0;
};

// The local relay: `node local-relay.mjs PORT` in RelayDir() (auth = LOCAL_RELAY_AUTH=1).
std::unique_ptr<NodeProcess> StartRelay(int port = 0, bool auth = false);
// A fake from fake-relay.mjs: "quiet", "garbage", "huge", "hang" or "tls" (args: key, cert).
std::unique_ptr<NodeProcess> StartFake(const std::string& mode,
                                       const std::vector<std::string>& args = {});
// Writes a self-signed EC key and certificate for CN/SAN localhost into dir (openssl CLI).
bool MakeSelfSignedCert(const std::string& dir);

// Signs event templates ({kind, content, tags, created_at?, key?}) with sign.mjs; empty on error.
std::vector<Json> Sign(const std::vector<Json>& templates);
Json SignOne(const Json& tmpl);
// The NIP-42 event answering challenge for url.
Json AuthEvent(const std::string& url, const std::string& challenge);

// Polls pred every 10 ms until true or timeout_ms passed; returns pred's last value.
inline bool WaitFor(const std::function<bool()>& pred, int timeout_ms = 5000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace agent9::nostr::testing
