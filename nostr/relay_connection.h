// RelayConnection: the pool's long-lived state for one relay URL: the current RelaySession,
// reconnects with jittered exponential backoff, subscriptions re-sent on every connect, NIP-42
// AUTH, and the publishes waiting for the relay's OK. Private to nostr/.
// Thread-safety: I/O thread only. It calls the user's callbacks and ConnectionOwner::OnStatus
// directly, holding no lock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nostr/relay_message.h"
#include "nostr/relay_pool.h"
#include "nostr/relay_url.h"

namespace agent9::nostr {

namespace net = boost::asio;
class RelaySession;
using SteadyTime = std::chrono::steady_clock::time_point;

// One Publish() call: a result per URL, done called once when the last one is in.
struct PublishOp {
  std::vector<PublishResult> results;
  std::vector<bool> finished;
  size_t remaining = 0;
  std::function<void(std::vector<PublishResult>)> done;
  SteadyTime deadline;
  std::unique_ptr<net::steady_timer> timer;

  // Records URL index i's result unless it has one; calls done after the last. I/O thread only.
  void Finish(size_t i, bool ok, std::string message);
};

// A PublishOp's event waiting for one relay's OK.
struct PendingPublish {
  std::shared_ptr<PublishOp> op;
  size_t index = 0;
  std::string event_id;
  std::string frame;     // ["EVENT", event]
  bool sent = false;     // on the current connection
  bool retried = false;  // re-sent once after "auth-required:"
  bool awaiting_auth = false;
  std::string rejection;  // the relay's OK false message, reported on timeout
  bool Done() const { return op->finished[index]; }
};

class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // Called on every status change; state_changed when status.state or last_error changed.
  virtual void OnStatus(const RelayStatus& status, bool state_changed) = 0;
};

class RelayConnection : public std::enable_shared_from_this<RelayConnection> {
 public:
  // Everything referenced must outlive the connection (the pool's Impl owns it all).
  RelayConnection(net::io_context& ioc, net::ssl::context& tls, RelayUrl url,
                  const RelayPoolOptions& opts, const RelayPool::Callbacks& cb,
                  ConnectionOwner& owner);
  ~RelayConnection();

  void Start();  // the first attempt
  // Ends the connection for good (a close handshake if graceful); pending publishes get
  // "closed". Nothing is reported afterwards but the "closed" status.
  void Close(bool graceful);
  void Subscribe(const std::string& sub_id, std::string req_frame);
  void Unsubscribe(const std::string& sub_id);
  void AddPublish(PendingPublish p);
  // What to report for op's URL index i when its timeout passes.
  std::string PendingReason(const PublishOp* op, size_t i) const;
  const RelayStatus& status() const { return status_; }

 private:
  struct Sub {
    std::string frame;  // ["REQ", id, filters...]
    bool awaiting_auth = false;
    bool retried = false;  // re-sent once after a refusal that raced our AUTH
  };

  void Connect();
  void OnOpen();
  void OnText(std::string_view text);
  void OnMalformed();
  void OnError(std::string why);
  void EnterBackoff(std::string why);
  void OnOk(const RelayMessage& m);
  void OnAuthOk(bool ok, const std::string& message);
  void OnChallenge(const std::string& challenge);
  void OnClosed(const RelayMessage& m);
  void FailAwaitingAuth(const std::string& why);
  void Send(std::string frame);
  void SetError(std::string_view why);
  void Report(bool state_changed);
  void Purge();

  net::io_context& ioc_;
  net::ssl::context& tls_;
  RelayUrl url_;
  const RelayPoolOptions& opts_;
  const RelayPool::Callbacks& cb_;
  ConnectionOwner& owner_;
  net::steady_timer retry_timer_;
  std::shared_ptr<RelaySession> session_;
  uint64_t gen_ = 0;  // bumps per attempt; older sessions' events are ignored
  bool closed_ = false;
  RelayStatus status_;
  int backoff_level_ = 0;  // doublings of the backoff cap; reset by a stable connection
  SteadyTime retry_at_{};
  SteadyTime connected_at_{};
  std::map<std::string, Sub> subs_;
  std::vector<PendingPublish> publishes_;
  std::set<std::string> auth_ids_;  // our AUTH events waiting for OK
  bool challenge_seen_ = false;
  std::mt19937_64 rng_;
};

}  // namespace agent9::nostr
