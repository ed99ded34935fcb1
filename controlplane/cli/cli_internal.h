// Internal to the agent9 CLI: the resolved client settings and one function per client
// subcommand (commands.cc). Each returns the process exit code and prints errors itself.
// Thread-safety: single-threaded.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/http/http_client.h"

namespace agent9::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the daemon or the network failed the request
inline constexpr int kExitUsage = 2;   // bad flags, arguments or local input

// Global flags after resolution (DESIGN section 2).
struct ClientEnv {
  std::string server;      // --server, $AGENT9_SERVER, http://127.0.0.1:7909
  std::string token;       // --token, $AGENT9_TOKEN, <data>/admin.token; may be empty
  std::string token_from;  // where the token came from, for hints ("" = none found)
  bool json = false;
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

// Arguments of the client subcommands, filled by CLI11.
struct ClientArgs {
  std::string id;
  std::string kind;
  std::string config_file;
  size_t limit = 100;
  bool all = false;
  std::vector<std::string> words;  // send MESSAGE..., tick REASON..., write/call DATA
  std::string msg_id;
  std::string path;
  bool follow = false;
  int64_t interval_ms = 1000;  // watch --interval
  int64_t count = 0;           // watch -n: stop after this many versions (0 = never)

  // export and import
  std::string output;            // export -o FILE ("" = stdout)
  std::string mode = "restore";  // import --mode
  std::string new_id;            // import --id
  bool with_key = false;         // export --with-key; import --with-key (ask for the passphrase)
  std::string passphrase_file;   // --passphrase-file FILE (its first line)

  // replay
  int64_t tick = 0;     // replay AGENT TICK
  std::string program;  // replay --program PATH
};

// The header that carries a key's passphrase (never the URL).
inline constexpr const char* kPassphraseHeader = "X-Agent9-Passphrase";
// The passphrase from the first line of file, or, with file "", asked on the terminal with
// echo off (twice when confirm). kInvalidArgument when there is no terminal, the file cannot
// be read, the passphrase is empty or the two entries differ.
Result<std::string> ReadPassphrase(const std::string& file, bool confirm);

// Prints a non-2xx answer as "agent9: <message> (<code>)" (plus a hint on 401 without a
// token) and returns kExitFailed.
int PrintApiError(const ClientEnv& env, const HttpResponse& r);

int CmdCreate(const ClientEnv& env, const ClientArgs& a);
int CmdList(const ClientEnv& env, const ClientArgs& a);
int CmdRemove(const ClientEnv& env, const ClientArgs& a);
int CmdStatus(const ClientEnv& env, const ClientArgs& a);
int CmdSend(const ClientEnv& env, const ClientArgs& a);
int CmdCat(const ClientEnv& env, const ClientArgs& a);
// watch PATH: follows a stream file over SSE; any other file or directory is re-read every
// a.interval_ms and printed each time its content changes.
int CmdWatch(const ClientEnv& env, const ClientArgs& a);
int CmdWrite(const ClientEnv& env, const ClientArgs& a);
int CmdCall(const ClientEnv& env, const ClientArgs& a);
int CmdToken(const ClientEnv& env, const ClientArgs& a);
// export ID [-o FILE]; import FILE|- [--mode restore|clone] [--id NEW] (a.path is FILE).
int CmdExport(const ClientEnv& env, const ClientArgs& a);
int CmdImport(const ClientEnv& env, const ClientArgs& a);
// replay ID TICK [--program PATH]: exits kExitOk when the replayed tick is identical,
// kExitFailed when it differs (like diff(1)), kExitUsage on any error.
int CmdReplay(const ClientEnv& env, const ClientArgs& a);
// verb: tick, hibernate or wake.
int CmdLifecycle(const ClientEnv& env, const ClientArgs& a, const std::string& verb);

}  // namespace agent9::cli
