#include "nostr/relay_pool.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <exception>
#include <future>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "fs/base/log.h"
#include "fs/base/mutex.h"
#include "nostr/relay_connection.h"
#include "nostr/relay_url.h"

namespace agent9::nostr {
namespace {

constexpr size_t kMaxSubIdLength = 64;

std::string EventFrame(const Json& event) { return DumpJson(Json::array({"EVENT", event})); }

}  // namespace

class RelayPool::Impl final : public ConnectionOwner {
 public:
  Impl(RelayPoolOptions opts, Callbacks cb)
      : opts_(opts), cb_(std::move(cb)), tls_(net::ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3);
  }
  ~Impl() override {
    Stop();
    if (thread_.joinable()) thread_.detach();  // only when Stop() ran on the I/O thread
  }

  Status Start() {
    MutexLock lock(&mu_);
    if (state_ == State::kRunning) return Status::OK();
    if (state_ == State::kStopped) return Status::Unavailable("relay pool", "stopped");
    state_ = State::kRunning;
    std::promise<void> exited;
    exited_ = exited.get_future();
    thread_ = std::thread([this, exited = std::move(exited)]() mutable {
      io_thread_id_ = std::this_thread::get_id();
      RunLoop();
      exited.set_value();
    });
    return Status::OK();
  }

  void Stop() {
    State prev;
    {
      MutexLock lock(&mu_);
      prev = state_;
      state_ = State::kStopped;
    }
    if (prev != State::kRunning) return;
    net::post(ioc_, [this] { Shutdown(); });
    if (OnIoThread()) {
      LogError("nostr: RelayPool::Stop called on its own I/O thread");
      return;  // ~Impl cannot join either; the thread is detached below
    }
    // Close handshakes get stop_grace_ms; a resolver or relay that hangs beyond that is cut off.
    auto grace = std::chrono::milliseconds(opts_.stop_grace_ms + 200);
    if (exited_.wait_for(grace) != std::future_status::ready) ioc_.stop();
    thread_.join();
  }

  Status Ensure(const std::string& url) {
    AGENT9_ASSIGN_OR_RETURN(RelayUrl parsed, ParseRelayUrl(url));
    if (!RunOnIo([this, parsed] { Connection(parsed); }, {parsed.normalized})) {
      return Status::Unavailable("relay pool", "stopped");
    }
    return Status::OK();
  }

  void Drop(const std::string& url) {
    Result<RelayUrl> parsed = ParseRelayUrl(url);
    if (!parsed.ok()) return;
    RunOnIo([this, key = parsed->normalized] {
      auto it = conns_.find(key);
      if (it != conns_.end()) {
        auto conn = it->second;
        conns_.erase(it);
        conn->Close(/*graceful=*/true);
      }
      MutexLock lock(&mu_);
      statuses_.erase(key);
    });
  }

  void Publish(const std::vector<std::string>& urls, const Json& event,
               std::function<void(std::vector<PublishResult>)> done) {
    auto op = std::make_shared<PublishOp>();
    op->results.resize(urls.size());
    op->finished.assign(urls.size(), false);
    op->remaining = urls.size();
    op->done = std::move(done);
    for (size_t i = 0; i < urls.size(); ++i) op->results[i].url = urls[i];
    if (urls.empty()) {
      if (op->done) op->done({});
      return;
    }
    if (!event.is_object() || !event.contains("id") || !event["id"].is_string()) {
      for (size_t i = 0; i < urls.size(); ++i) op->Finish(i, false, "event has no id");
      return;
    }
    std::string id = event["id"].get<std::string>();
    std::string frame = EventFrame(event);
    std::vector<std::string> keys;
    for (const auto& url : urls) {
      if (Result<std::string> key = NormalizeRelayUrl(url); key.ok()) keys.push_back(*key);
    }
    bool posted = RunOnIo([this, op, urls, id = std::move(id),
                           frame = std::move(frame)] { StartPublish(op, urls, id, frame); },
                          keys, /*need_running=*/true);
    if (!posted) {
      for (size_t i = 0; i < urls.size(); ++i) op->Finish(i, false, "closed");
    }
  }

  void Subscribe(const std::string& url, const std::string& sub_id, const Json& filters) {
    Result<RelayUrl> parsed = ParseRelayUrl(url);
    if (!parsed.ok()) return LogWarn("nostr: Subscribe: " + parsed.status().ToString());
    if (sub_id.empty() || sub_id.size() > kMaxSubIdLength) {
      return LogWarn("nostr: Subscribe: bad subscription id");
    }
    Json list = filters.is_object() ? Json::array({filters}) : filters;
    if (!list.is_array() || list.empty()) return LogWarn("nostr: Subscribe: bad filters");
    Json req = Json::array({"REQ", sub_id});
    for (const Json& f : list) {
      if (!f.is_object()) return LogWarn("nostr: Subscribe: a filter is not an object");
      req.push_back(f);
    }
    std::string key = parsed->normalized;
    RunOnIo(
        [this, parsed = std::move(*parsed), sub_id, frame = DumpJson(req)]() mutable {
          Connection(parsed)->Subscribe(sub_id, std::move(frame));
        },
        {key});
  }

  void Unsubscribe(const std::string& url, const std::string& sub_id) {
    Result<std::string> key = NormalizeRelayUrl(url);
    if (!key.ok()) return;
    RunOnIo([this, key = *key, sub_id] {
      auto it = conns_.find(key);
      if (it != conns_.end()) it->second->Unsubscribe(sub_id);
    });
  }

  std::vector<RelayStatus> Statuses() {
    MutexLock lock(&mu_);
    std::vector<RelayStatus> out;
    out.reserve(statuses_.size());
    for (const auto& [url, s] : statuses_) out.push_back(s);
    return out;
  }

  void OnStatus(const RelayStatus& status, bool state_changed) override {
    {
      MutexLock lock(&mu_);
      statuses_[status.url] = status;
    }
    if (state_changed && cb_.on_state) {
      try {
        cb_.on_state(status);
      } catch (...) {
        LogError("nostr: on_state callback threw");
      }
    }
  }

 private:
  enum class State { kNew, kRunning, kStopped };

  // Posts fn to the I/O thread unless the pool is stopped (then false). Posting under mu_
  // orders it before Shutdown, which Stop() posts after setting kStopped. need_running: also
  // refuse before Start() (a publish must not wait for a Start that may never come). Relays in
  // urls (normalised) the pool does not know yet show in Statuses() as "connecting" at once.
  template <typename F>
  bool RunOnIo(F&& fn, const std::vector<std::string>& urls = {}, bool need_running = false) {
    MutexLock lock(&mu_);
    if (state_ == State::kStopped || (need_running && state_ != State::kRunning)) return false;
    for (const auto& url : urls) {
      RelayStatus& s = statuses_[url];
      if (s.url.empty()) {
        s.url = url;
        s.state = "connecting";
      }
    }
    net::post(ioc_, std::forward<F>(fn));
    return true;
  }

 public:
  bool OnIoThread() const { return std::this_thread::get_id() == io_thread_id_.load(); }

 private:
  void RunLoop() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        LogError(std::string("nostr: I/O thread: ") + e.what());
      } catch (...) {
        LogError("nostr: I/O thread: unknown exception");
      }
    }
  }

  // I/O thread: the connection for url, created and started on first use.
  std::shared_ptr<RelayConnection> Connection(const RelayUrl& url) {
    auto it = conns_.find(url.normalized);
    if (it != conns_.end()) return it->second;
    auto conn = std::make_shared<RelayConnection>(ioc_, tls_, url, opts_, cb_, *this);
    conns_[url.normalized] = conn;
    conn->Start();
    return conn;
  }

  void StartPublish(const std::shared_ptr<PublishOp>& op, const std::vector<std::string>& urls,
                    const std::string& id, const std::string& frame) {
    op->deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.publish_timeout_ms);
    op->timer = std::make_unique<net::steady_timer>(ioc_, op->deadline);
    std::vector<std::string> keys(urls.size());
    for (size_t i = 0; i < urls.size(); ++i) {
      Result<RelayUrl> parsed = ParseRelayUrl(urls[i]);
      if (!parsed.ok()) {
        op->Finish(i, false, "invalid url: " + parsed.status().message());
        continue;
      }
      keys[i] = parsed->normalized;
      PendingPublish p;
      p.op = op;
      p.index = i;
      p.event_id = id;
      p.frame = frame;
      Connection(*parsed)->AddPublish(std::move(p));
    }
    if (op->remaining == 0) return;
    op->timer->async_wait([this, op, keys](boost::system::error_code ec) {
      if (ec) return;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (op->finished[i]) continue;
        auto it = conns_.find(keys[i]);
        op->Finish(i, false,
                   it == conns_.end() ? "closed" : it->second->PendingReason(op.get(), i));
      }
    });
  }

  void Shutdown() {
    auto conns = std::move(conns_);
    conns_.clear();
    for (auto& [url, conn] : conns) conn->Close(/*graceful=*/true);
    work_.reset();
  }

  const RelayPoolOptions opts_;
  const Callbacks cb_;
  net::ssl::context tls_;
  net::io_context ioc_;  // before everything holding timers or sockets: destroyed last
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(ioc_);
  std::map<std::string, std::shared_ptr<RelayConnection>> conns_;  // I/O thread only
  std::thread thread_;
  std::atomic<std::thread::id> io_thread_id_{};
  std::future<void> exited_;
  Mutex mu_;
  State state_ GUARDED_BY(mu_) = State::kNew;
  std::map<std::string, RelayStatus> statuses_ GUARDED_BY(mu_);
};

RelayPool::RelayPool(RelayPoolOptions opts, Callbacks cb)
    : impl_(std::make_unique<Impl>(opts, std::move(cb))) {}
RelayPool::~RelayPool() { impl_->Stop(); }
Status RelayPool::Start() { return impl_->Start(); }
void RelayPool::Stop() { impl_->Stop(); }
Status RelayPool::Ensure(const std::string& url) { return impl_->Ensure(url); }
void RelayPool::Drop(const std::string& url) { impl_->Drop(url); }
void RelayPool::Publish(const std::vector<std::string>& urls, const Json& event,
                        std::function<void(std::vector<PublishResult>)> done) {
  impl_->Publish(urls, event, std::move(done));
}
std::vector<PublishResult> RelayPool::PublishSync(const std::vector<std::string>& urls,
                                                  const Json& event) {
  if (impl_->OnIoThread()) {
    std::vector<PublishResult> out;
    for (const auto& url : urls) out.push_back({url, false, "called on the I/O thread"});
    return out;
  }
  auto promise = std::make_shared<std::promise<std::vector<PublishResult>>>();
  auto future = promise->get_future();
  impl_->Publish(urls, event,
                 [promise](std::vector<PublishResult> r) { promise->set_value(std::move(r)); });
  return future.get();
}
void RelayPool::Subscribe(const std::string& url, const std::string& sub_id, const Json& filters) {
  impl_->Subscribe(url, sub_id, filters);
}
void RelayPool::Unsubscribe(const std::string& url, const std::string& sub_id) {
  impl_->Unsubscribe(url, sub_id);
}
std::vector<RelayStatus> RelayPool::Statuses() const { return impl_->Statuses(); }

}  // namespace agent9::nostr
