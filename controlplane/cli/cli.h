// The `agent9` command line (DESIGN section 2): `agent9 serve` runs the daemon through the
// serve callback the caller passes in; every other subcommand is an HTTP client of a running
// daemon (controlplane/http/http_client.h). Exit codes: 0 success, 1 the daemon or the
// network failed the request, 2 usage errors (bad flags, arguments or local input files).
// Thread-safety: RunCli reads the process environment and is meant to run on the main
// thread; it keeps no global state.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/base/status.h"

namespace agent9 {

struct ServeOptions {
  std::string data_dir;                   // resolved: --data, $AGENT9_DATA, ~/.local/share/agent9
  std::string listen = "127.0.0.1:7909";  // host:port; port 0 picks a free port
  std::vector<std::string> mounts;        // --mount DIR (usually one)
  std::vector<std::pair<std::string, std::string>> agent_mounts;  // --mount-agent ID=DIR
  bool allow_other = false;
  std::string config_file;
  std::string sync = "full";  // full|normal|off
  // Tick engine threads (ticks of different agents in parallel). A worker spends most of a
  // tick waiting for the shared commit, and a commit holds the ticks that queued while the
  // previous one ran: with 8 workers about 4 ticks share each commit, with 32 about 16
  // (echo ticks across 64 agents: 5.3k/s at 8, 7.4k/s at 32; bench/README.md).
  unsigned tick_workers = 32;
  bool verbose = false;
};

// Parses argv; `serve` calls serve(opts) and returns its exit code; every other subcommand
// talks HTTP to the daemon. Writes to std::cout/std::cerr and reads std::cin.
int RunCli(int argc, char** argv, const std::function<int(const ServeOptions&)>& serve);
// The same with explicit streams (tests).
int RunCli(int argc, char** argv, const std::function<int(const ServeOptions&)>& serve,
           std::istream& in, std::ostream& out, std::ostream& err);

// Splits "host:port" or "[v6addr]:port"; kInvalidArgument when malformed.
Result<std::pair<std::string, int>> ParseListen(std::string_view listen);

// The data directory: $AGENT9_DATA, else $HOME/.local/share/agent9.
std::string DefaultDataDir();

}  // namespace agent9
