// ExecProvider: a local command as a compute backend. Each attempt runs cfg.command (argv,
// command[0] an absolute path, in its own process group, the daemon's environment) with one
// JSON request on stdin:
//   {"kind","model","input","max_output_tokens","stream"}
// and reads one JSON object from stdout:
//   {"text","finish_reason"?,"tool_calls"?,"vectors"?,"usage"?:{"input_tokens","output_tokens"}}
// or {"error":"..."} (a failed attempt with that message). Before the final object the program
// may print NDJSON lines {"delta":"text"}, one per line: with spec.stream they reach on_delta
// as they arrive (without it they are skipped); the final object's "text" is the answer, or,
// when it has none, the deltas joined. finish_reason defaults to "stop".
// A non-zero exit fails the attempt, naming the exit status and stderr's first line.
// The attempt's timeout and cancel kill the process group; stdout is capped at 16 MiB.
// Thread-safety: Run and Health may be called from several threads at once. Run sets SIGPIPE
// to ignored for the process (a program may exit without reading its input).
#pragma once

#include <atomic>

#include "compute/provider.h"

namespace agent9::compute {

class ExecProvider final : public Provider {
 public:
  static constexpr size_t kMaxOutputBytes = 16 << 20;

  explicit ExecProvider(ProviderConfig cfg) : cfg_(std::move(cfg)) {}

  const ProviderConfig& config() const override { return cfg_; }
  // OK when command[0] is an executable file; kUnavailable "not configured" (no command) or
  // "command not found: PATH".
  Status Health() override;
  // One run of the command (see the file comment): kDeadlineExceeded on timeout, kAborted
  // "cancelled", kUnavailable for a failed start, a non-zero exit, an {"error"} answer or
  // unparseable output.
  Attempt Run(const JobSpec& spec, const DeltaSink& on_delta,
              const std::atomic<bool>& cancel) override;

 private:
  const ProviderConfig cfg_;
};

}  // namespace agent9::compute
