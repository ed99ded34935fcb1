// ComputeService: the job service behind compute/ (DESIGN 4.2; docs/COMPUTE.md). A job is a
// row in compute_jobs from submit to end; its money is a hold in the budget ledger, reserved
// in the submitting transaction and settled or released in the finishing one. Each provider
// has a FIFO lane served by at most max_concurrent workers, so a model that thinks holds a
// compute worker, never a tick worker. Attempts that fail with 5xx, 429 or a refused
// connection are retried with jittered exponential backoff (429 waits at least its
// Retry-After), within the job's timeout. A job's deltas go to an in-memory stream that
// readers follow from its first line; the whole stream is stored when the job ends.
// When a job ends its agent gets an `event` trigger {"type":"compute.job", ...}. A job that
// was running when the daemon stopped (or died) ends `failed` with error "interrupted: ..."
// at the next start and its reservation is released: it is not resumed, since the provider
// may already have charged for it. Pending jobs keep their reservation and run after a
// restart.
// Thread-safety: all public methods are thread-safe. Act runs inside a tick's transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "compute/compute_config.h"
#include "compute/job.h"
#include "compute/ledger.h"
#include "compute/provider.h"
#include "fs/base/clock.h"
#include "fs/base/sqlite.h"
#include "fs/files/files.h"
#include "fs/module.h"

namespace agent9::compute {

class ComputeService {
 public:
  // providers: built from config.providers (same order). Everything must outlive the service.
  ComputeService(Database* db, const Clock* clock, AgentHost* host, ComputeConfig config,
                 std::vector<std::unique_ptr<Provider>> providers);
  ~ComputeService();  // Stop()

  static Status Migrate(Database& db);
  // Ends jobs a previous run left running (failed: interrupted; reservation released), sends
  // the events a crash lost, and starts the pending jobs.
  Status Start();
  // Stops taking work, ends running attempts (failed: interrupted) and joins the workers.
  void Stop();

  // compute/new: {"job_id","status","status_path","result_path","stream_path"}. An
  // idempotency_key already used by this agent returns that job (with "existing":true).
  // kInvalidArgument (bad request), kPermissionDenied (policy), kBudgetExceeded (with field
  // remaining_usd), kUnavailable (no provider configured), kNotFound (agent).
  Result<Json> Submit(std::string_view agent, std::string_view request_text);

  // The exec protocol's `compute` action: one job request or an array of them. CheckAction
  // parses and resolves them (an error fails the tick); Act inserts them in the tick's
  // transaction (a job the budget or policy refuses is inserted as failed, and its event
  // tells the agent why); Acted starts them after the commit.
  Status CheckAction(const Json& value) const;
  Status Act(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms, const Json& value);
  void Acted();

  Status Cancel(std::string_view agent, std::string_view job_id);
  Result<Json> JobStatus(std::string_view agent, std::string_view job_id);
  Result<Json> JobRequestDoc(std::string_view agent, std::string_view job_id);
  // The result document; kUnavailable "not finished (state running)" before the end.
  Result<Json> JobResult(std::string_view agent, std::string_view job_id);
  // The job's stream from its first line: live while it runs, closed once it ended.
  Result<std::shared_ptr<Stream>> JobStream(std::string_view agent, std::string_view job_id);
  // The agent's jobs, newest last (at most the retained ones).
  Result<std::vector<DirEntry>> ListJobs(std::string_view agent);
  Status JobExists(std::string_view agent, std::string_view job_id);

  Result<BudgetPolicy> Policy(std::string_view agent);
  Status SetPolicy(std::string_view agent, const BudgetPolicy& p);
  Result<BudgetUsage> Usage(std::string_view agent);

  const std::vector<std::unique_ptr<Provider>>& providers() const { return providers_; }
  Provider* FindProvider(std::string_view id) const;
  const ComputeConfig& config() const { return config_; }
  std::string MetricsText();

 private:
  struct Live;  // a job that has not ended: its stream and cancel flag
  struct Lane;  // one provider's queue and workers
  struct Resolved {
    Lane* lane = nullptr;
    ModelConfig model;
  };
  struct Row;  // a compute_jobs row

  Result<Resolved> Resolve(const JobRequest& r) const;
  // Inserts a job (pending with a hold, or failed when refused and refuse_as_failed) in c.
  // *id is set; *existing when the idempotency key named an earlier job.
  Status Insert(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms, const JobRequest& r,
                const Resolved& res, const std::string& origin, bool refuse_as_failed,
                std::string* id, bool* existing, bool* failed);
  void Enqueue(const std::string& id, Lane* lane);
  void WorkerLoop(Lane* lane);
  void RunJob(const std::string& id, Lane* lane);
  // Writes the job's end, settles its hold, closes its stream and notifies its agent.
  // pending_only: only a job that has not started (a cancel racing its worker's claim).
  // Returns whether this call ended the job.
  bool Finish(const std::string& id, const std::string& agent, const std::string& state,
              const Json& result, const std::string& error, int64_t cost,
              bool pending_only = false);
  void Notify(const std::string& id);
  std::shared_ptr<Live> LiveFor(const std::string& id, const std::string& agent);
  Result<Row> LoadRow(std::string_view agent, std::string_view job_id);
  Json SubmitAnswer(const std::string& id, const std::string& state, bool existing) const;

  Database* db_;
  const Clock* clock_;
  AgentHost* host_;
  const ComputeConfig config_;
  std::vector<std::unique_ptr<Provider>> providers_;
  std::vector<std::unique_ptr<Lane>> lanes_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Live>> live_;
  bool stopping_ = false;
  std::atomic<int64_t> completed_{0}, failed_{0}, cancelled_{0}, retries_{0};
};

}  // namespace agent9::compute
