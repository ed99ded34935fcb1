// agent9: one binary. `agent9 serve` is the daemon; every other subcommand is an HTTP client
// of a running daemon (controlplane/cli).
#include "controlplane/cli/cli.h"
#include "controlplane/daemon.h"

int main(int argc, char** argv) { return agent9::RunCli(argc, argv, agent9::RunDaemon); }
