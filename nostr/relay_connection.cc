#include "nostr/relay_connection.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "fs/base/log.h"
#include "nostr/relay_session.h"

namespace agent9::nostr {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr size_t kMaxErrorLength = 300;
// A connection that stayed up this long resets the backoff; after a shorter one the delay keeps
// growing, so a relay that accepts and drops at once is not hammered.
constexpr auto kStableConnection = std::chrono::seconds(5);

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs a user callback; an exception must not unwind through asio.
template <typename F>
void Guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    LogError(std::string("nostr: ") + what + " callback threw: " + e.what());
  } catch (...) {
    LogError(std::string("nostr: ") + what + " callback threw");
  }
}

}  // namespace

void PublishOp::Finish(size_t i, bool ok, std::string message) {
  if (i >= finished.size() || finished[i]) return;
  finished[i] = true;
  results[i].ok = ok;
  results[i].message = std::move(message);
  if (--remaining > 0) return;
  if (timer) timer->cancel();
  if (done) {
    auto callback = std::move(done);
    done = nullptr;
    Guarded("publish", [&] { callback(results); });
  }
}

RelayConnection::RelayConnection(net::io_context& ioc, net::ssl::context& tls, RelayUrl url,
                                 const RelayPoolOptions& opts, const RelayPool::Callbacks& cb,
                                 ConnectionOwner& owner)
    : ioc_(ioc),
      tls_(tls),
      url_(std::move(url)),
      opts_(opts),
      cb_(cb),
      owner_(owner),
      retry_timer_(ioc),
      rng_(std::random_device{}()) {
  status_.url = url_.normalized;
  status_.state = "connecting";
}

RelayConnection::~RelayConnection() = default;

void RelayConnection::Start() { Connect(); }

void RelayConnection::Connect() {
  if (closed_) return;
  uint64_t gen = ++gen_;
  std::weak_ptr<RelayConnection> weak = weak_from_this();
  auto live = [weak, gen]() -> std::shared_ptr<RelayConnection> {
    auto c = weak.lock();
    return c && !c->closed_ && c->gen_ == gen ? c : nullptr;
  };
  SessionEvents ev;
  ev.on_open = [live] {
    if (auto c = live()) c->OnOpen();
  };
  ev.on_text = [live](std::string_view text) {
    if (auto c = live()) c->OnText(text);
  };
  ev.on_binary = [live] {
    if (auto c = live()) c->OnMalformed();
  };
  ev.on_error = [live](std::string why) {
    if (auto c = live()) c->OnError(std::move(why));
  };
  status_.state = "connecting";
  status_.retry_at_ms = 0;
  session_ = std::make_shared<RelaySession>(ioc_, tls_, url_, opts_, std::move(ev));
  Report(true);
  session_->Run();
}

void RelayConnection::OnOpen() {
  status_.state = "connected";
  status_.connected_since_ms = NowMs();
  status_.connects++;
  status_.attempts = 0;
  status_.authenticated = false;
  status_.last_error.clear();
  connected_at_ = steady_clock::now();
  challenge_seen_ = false;
  auth_ids_.clear();
  Report(true);
  for (auto& [id, sub] : subs_) {
    sub.awaiting_auth = false;
    sub.retried = false;
    Send(sub.frame);
  }
  Purge();
  for (auto& p : publishes_) {
    p.sent = true;
    p.awaiting_auth = false;
    Send(p.frame);
  }
}

void RelayConnection::OnError(std::string why) {
  session_.reset();
  if (status_.state == "connected" && steady_clock::now() - connected_at_ >= kStableConnection) {
    backoff_level_ = 0;
  }
  status_.connected_since_ms = 0;
  status_.authenticated = false;
  auth_ids_.clear();
  for (auto& p : publishes_) p.sent = false;
  EnterBackoff(std::move(why));
}

void RelayConnection::EnterBackoff(std::string why) {
  status_.attempts++;
  backoff_level_++;
  int64_t lo = std::max(1, opts_.backoff_min_ms);
  int64_t hi = std::max<int64_t>(lo, opts_.backoff_max_ms);
  int64_t cap = lo;
  for (int i = 1; i < backoff_level_ && cap < hi; ++i) cap *= 2;
  cap = std::min(cap, hi);
  int64_t delay = std::uniform_int_distribution<int64_t>(lo, cap)(rng_);
  status_.state = "backoff";
  SetError(why);
  status_.retry_at_ms = NowMs() + delay;
  retry_at_ = steady_clock::now() + milliseconds(delay);
  retry_timer_.expires_at(retry_at_);
  retry_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto c = weak.lock();
    if (!ec && c && !c->closed_) c->Connect();
  });
  Report(true);
  // Publishes whose deadline comes before the next attempt fail now rather than at the timeout.
  for (auto& p : publishes_) {
    if (!p.Done() && p.op->deadline < retry_at_) {
      p.op->Finish(p.index, false, "not connected: " + status_.last_error);
    }
  }
  Purge();
}

void RelayConnection::Close(bool graceful) {
  if (closed_) return;
  closed_ = true;
  ++gen_;
  retry_timer_.cancel();
  if (session_) {
    if (graceful) {
      session_->Close();
    } else {
      session_->Abort();
    }
    session_.reset();
  }
  status_.state = "closed";
  status_.connected_since_ms = 0;
  status_.retry_at_ms = 0;
  Report(true);
  for (auto& p : publishes_) p.op->Finish(p.index, false, "closed");
  publishes_.clear();
}

void RelayConnection::Subscribe(const std::string& sub_id, std::string req_frame) {
  subs_[sub_id] = Sub{req_frame, false, false};
  if (status_.state == "connected") Send(std::move(req_frame));
  Report(false);
}

void RelayConnection::Unsubscribe(const std::string& sub_id) {
  if (subs_.erase(sub_id) == 0) return;
  if (status_.state == "connected") Send(DumpJson(Json::array({"CLOSE", sub_id})));
  Report(false);
}

void RelayConnection::AddPublish(PendingPublish p) {
  Purge();
  if (closed_) return p.op->Finish(p.index, false, "closed");
  if (status_.state == "backoff" && p.op->deadline < retry_at_) {
    return p.op->Finish(p.index, false, "not connected: " + status_.last_error);
  }
  if (status_.state == "connected") {
    p.sent = true;
    Send(p.frame);
  }
  publishes_.push_back(std::move(p));
}

std::string RelayConnection::PendingReason(const PublishOp* op, size_t i) const {
  for (const auto& p : publishes_) {
    if (p.op.get() == op && p.index == i && !p.rejection.empty()) return p.rejection;
  }
  if (closed_) return "closed";
  if (status_.state != "connected") {
    return "not connected: " + (status_.last_error.empty() ? status_.state : status_.last_error);
  }
  return "timeout";
}

void RelayConnection::OnText(std::string_view text) {
  Result<RelayMessage> parsed = ParseRelayMessage(text);
  if (!parsed.ok()) return OnMalformed();
  RelayMessage& m = *parsed;
  switch (m.type) {
    case RelayMessage::Type::kEvent:
      if (subs_.count(m.sub_id) && cb_.on_event) {
        Guarded("on_event", [&] { cb_.on_event(url_.normalized, m.sub_id, m.event); });
      }
      return;
    case RelayMessage::Type::kEose:
      if (subs_.count(m.sub_id) && cb_.on_eose) {
        Guarded("on_eose", [&] { cb_.on_eose(url_.normalized, m.sub_id); });
      }
      return;
    case RelayMessage::Type::kOk:
      return OnOk(m);
    case RelayMessage::Type::kClosed:
      return OnClosed(m);
    case RelayMessage::Type::kNotice:
      SetError("notice: " + m.message);
      return Report(true);
    case RelayMessage::Type::kAuth:
      return OnChallenge(m.challenge);
    case RelayMessage::Type::kCount:
    case RelayMessage::Type::kUnknown:
      return;
  }
}

void RelayConnection::OnMalformed() {
  status_.malformed_frames++;
  Report(false);
}

void RelayConnection::OnOk(const RelayMessage& m) {
  if (auth_ids_.erase(m.event_id) > 0) return OnAuthOk(m.ok, m.message);
  auto it = std::find_if(publishes_.begin(), publishes_.end(), [&](const PendingPublish& p) {
    return p.sent && !p.awaiting_auth && !p.Done() && p.event_id == m.event_id;
  });
  if (it == publishes_.end()) return;
  PendingPublish& p = *it;
  p.sent = false;
  if (m.ok || !HasReasonPrefix(m.message, "auth-required") || p.retried) {
    p.op->Finish(p.index, m.ok, m.message);
    return Purge();
  }
  p.rejection = m.message;
  if (status_.authenticated) {
    p.retried = true;
    p.sent = true;
    Send(p.frame);
  } else if (!challenge_seen_ || !auth_ids_.empty()) {
    p.awaiting_auth = true;  // an AUTH may still come or is in flight
  } else {
    p.op->Finish(p.index, false, m.message);
    Purge();
  }
}

void RelayConnection::OnAuthOk(bool ok, const std::string& message) {
  if (!ok) {
    SetError("auth failed: " + message);
    Report(true);
    if (auth_ids_.empty() && !status_.authenticated) FailAwaitingAuth(message);
    return;
  }
  bool first = !status_.authenticated;
  status_.authenticated = true;
  Report(first);
  for (auto& [id, sub] : subs_) {
    if (!sub.awaiting_auth) continue;
    sub.awaiting_auth = false;
    Send(sub.frame);
  }
  for (auto& p : publishes_) {
    if (!p.awaiting_auth || p.Done()) continue;
    p.awaiting_auth = false;
    p.retried = true;
    p.sent = true;
    Send(p.frame);
  }
}

void RelayConnection::OnChallenge(const std::string& challenge) {
  challenge_seen_ = true;
  std::vector<Json> events;
  if (cb_.on_auth) {
    Guarded("on_auth", [&] { events = cb_.on_auth(url_.normalized, challenge); });
  }
  if (closed_ || !session_) return;  // the callback cannot close us, but stay safe
  for (const Json& ev : events) {
    if (!ev.is_object() || !ev.contains("id") || !ev["id"].is_string()) continue;
    auth_ids_.insert(ev["id"].get<std::string>());
    Send(DumpJson(Json::array({"AUTH", ev})));
  }
  if (auth_ids_.empty() && !status_.authenticated)
    FailAwaitingAuth("auth-required: no key to AUTH with");
}

void RelayConnection::OnClosed(const RelayMessage& m) {
  auto it = subs_.find(m.sub_id);
  if (it == subs_.end()) return;
  bool auth_expected = !status_.authenticated && (!challenge_seen_ || !auth_ids_.empty());
  if (HasReasonPrefix(m.message, "auth-required") && auth_expected) {
    it->second.awaiting_auth = true;  // re-sent once AUTH succeeds; not an error yet
    return;
  }
  // Authenticated, yet refused for want of it: the relay read the REQ before it applied our
  // AUTH (relays may handle a connection's frames concurrently). Asked again once, as a
  // publish is.
  if (HasReasonPrefix(m.message, "auth-required") && status_.authenticated && !it->second.retried) {
    it->second.retried = true;
    Send(it->second.frame);
    return;
  }
  SetError("closed " + m.sub_id + ": " + m.message);
  Report(true);
}

void RelayConnection::FailAwaitingAuth(const std::string& why) {
  for (auto& [id, sub] : subs_) {
    if (!sub.awaiting_auth) continue;
    sub.awaiting_auth = false;  // tried again on the next connection
    SetError("closed " + id + ": " + why);
    Report(true);
  }
  for (auto& p : publishes_) {
    if (p.awaiting_auth && !p.Done()) {
      p.op->Finish(p.index, false, p.rejection.empty() ? why : p.rejection);
    }
  }
  Purge();
}

void RelayConnection::Send(std::string frame) {
  if (session_) session_->Send(std::move(frame));
}

void RelayConnection::SetError(std::string_view why) {
  status_.last_error = std::string(why.substr(0, kMaxErrorLength));
}

void RelayConnection::Report(bool state_changed) {
  status_.subscriptions = static_cast<int>(subs_.size());
  owner_.OnStatus(status_, state_changed);
}

void RelayConnection::Purge() {
  std::erase_if(publishes_, [](const PendingPublish& p) { return p.Done(); });
}

}  // namespace agent9::nostr
