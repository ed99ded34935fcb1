// ComputeService's private parts, shared by its two files: compute_service.cc (submitting,
// running and ending jobs) and compute_queries.cc (reading them: status, result, stream,
// listings, policy, usage, metrics).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "compute/compute_service.h"

namespace agent9::compute {

struct ComputeService::Live {
  std::string agent;
  std::shared_ptr<Stream> stream = std::make_shared<Stream>(size_t{64} << 20);
  std::atomic<bool> cancel{false};
  // The first delta arrived. Kept in memory only: `streaming` is `running` with output
  // flowing, and a restart ends either the same way, so it costs the stream no fsync.
  std::atomic<bool> streaming{false};
};

struct ComputeService::Lane {
  Provider* provider = nullptr;
  int64_t max_workers = 1;
  std::condition_variable cv;
  std::deque<std::string> queue;  // guarded by mu_
  int64_t idle = 0;               // guarded by mu_
  std::vector<std::thread> workers;
  std::atomic<int64_t> running{0};
};

struct ComputeService::Row {
  std::string id, agent, provider, model, kind, state, error;
  Json request, result;
  int64_t attempts = 0, reserved = 0, cost = 0, tick = 0, created_at = 0;
  bool has_cost = false, has_started = false, has_ended = false;
  int64_t started_at = 0, ended_at = 0;
};

}  // namespace agent9::compute
