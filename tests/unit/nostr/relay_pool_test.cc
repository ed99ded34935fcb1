// RelayPool against the real loopback relay (../shared/tools/nostr-relay, installed by the
// nostr.relay_setup fixture) and against misbehaving fakes from fake-relay.mjs.
#include "nostr/relay_pool.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <set>

#include "fs/base/mutex.h"
#include "tests/unit/nostr/relay_test_util.h"

namespace agent9::nostr {
namespace {

using testing::RelayDir;
using testing::StartFake;
using testing::StartRelay;
using testing::WaitFor;
using Clock = std::chrono::steady_clock;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Collects what the pool's callbacks deliver (they run on the pool's I/O thread).
class Recorder {
 public:
  RelayPool::Callbacks Callbacks() {
    RelayPool::Callbacks cb;
    cb.on_event = [this](const std::string&, const std::string& sub, const Json& ev) {
      MutexLock l(&mu_);
      events_.push_back({sub, ev});
    };
    cb.on_eose = [this](const std::string&, const std::string& sub) {
      MutexLock l(&mu_);
      eose_.insert(sub);
    };
    return cb;
  }
  bool HasEvent(const std::string& sub, const std::string& id) {
    MutexLock l(&mu_);
    for (const auto& [s, ev] : events_) {
      if (s == sub && ev.value("id", "") == id) return true;
    }
    return false;
  }
  size_t EventCount() {
    MutexLock l(&mu_);
    return events_.size();
  }
  bool HasEose(const std::string& sub) {
    MutexLock l(&mu_);
    return eose_.count(sub) > 0;
  }

 private:
  Mutex mu_;
  std::vector<std::pair<std::string, Json>> events_ GUARDED_BY(mu_);
  std::set<std::string> eose_ GUARDED_BY(mu_);
};

RelayStatus StatusOf(const RelayPool& pool, const std::string& url) {
  for (const auto& s : pool.Statuses()) {
    if (s.url == url) return s;
  }
  return RelayStatus{};
}

RelayPoolOptions FastOptions() {
  RelayPoolOptions o;
  o.connect_timeout_ms = 2000;
  o.backoff_min_ms = 50;
  o.backoff_max_ms = 400;
  o.publish_timeout_ms = 3000;
  return o;
}

class RelayPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RelayDir().empty()) GTEST_SKIP() << "no relay: run scripts/nostr-relay-setup";
  }
};

TEST_F(RelayPoolTest, PublishThenReadBackThroughSubscription) {
  auto relay = StartRelay();
  ASSERT_TRUE(relay);
  Recorder rec;
  RelayPool pool(FastOptions(), rec.Callbacks());
  ASSERT_TRUE(pool.Start().ok());
  Json ev = testing::SignOne({{"kind", 1}, {"content", "hello relay"}});
  ASSERT_TRUE(ev.is_object());
  std::vector<PublishResult> r = pool.PublishSync({relay->url()}, ev);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].message;
  EXPECT_EQ(r[0].url, relay->url());

  pool.Subscribe(relay->url(), "s1", Json::array({{{"ids", {ev["id"]}}}}));
  EXPECT_TRUE(WaitFor([&] { return rec.HasEvent("s1", ev["id"]) && rec.HasEose("s1"); }));
  RelayStatus st = StatusOf(pool, relay->url());
  EXPECT_EQ(st.state, "connected");
  EXPECT_GT(st.connected_since_ms, 0);
  EXPECT_EQ(st.subscriptions, 1);

  // A live event reaches the open subscription; after Unsubscribe nothing more arrives.
  pool.Subscribe(relay->url(), "live", Json{{"kinds", {7}}, {"since", Now() - 5}});
  ASSERT_TRUE(WaitFor([&] { return rec.HasEose("live"); }));
  std::vector<Json> more =
      testing::Sign({{{"kind", 7}, {"content", "a"}}, {{"kind", 7}, {"content", "b"}}});
  ASSERT_EQ(more.size(), 2u);
  EXPECT_TRUE(pool.PublishSync({relay->url()}, more[0])[0].ok);
  EXPECT_TRUE(WaitFor([&] { return rec.HasEvent("live", more[0]["id"]); }));
  pool.Unsubscribe(relay->url(), "live");
  EXPECT_TRUE(pool.PublishSync({relay->url()}, more[1])[0].ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(rec.HasEvent("live", more[1]["id"]));
}

TEST_F(RelayPoolTest, OneConnectionPerUrlWhateverItsSpelling) {
  auto fake = StartFake("quiet");
  ASSERT_TRUE(fake);
  Recorder rec;
  RelayPool pool(FastOptions(), rec.Callbacks());
  ASSERT_TRUE(pool.Start().ok());
  std::string upper = "WS://127.0.0.1:" + std::to_string(fake->port());
  ASSERT_TRUE(pool.Ensure(fake->url()).ok());
  ASSERT_TRUE(pool.Ensure(upper).ok());
  pool.Subscribe(fake->url(), "a", Json{{"kinds", {1}}});
  pool.Subscribe(upper, "b", Json{{"kinds", {1}}});
  EXPECT_TRUE(WaitFor([&] { return rec.HasEose("a") && rec.HasEose("b"); }));
  ASSERT_EQ(pool.Statuses().size(), 1u);
  EXPECT_EQ(pool.Statuses()[0].connects, 1);
  EXPECT_EQ(pool.Statuses()[0].subscriptions, 2);
  EXPECT_EQ(fake->CountLines("connection", 200), 1);

  EXPECT_EQ(pool.Ensure("http://127.0.0.1:1").code(), Code::kInvalidArgument);
  EXPECT_EQ(pool.Ensure("ws://").code(), Code::kInvalidArgument);
  pool.Drop(upper);
  EXPECT_TRUE(WaitFor([&] { return pool.Statuses().empty(); }));
}

TEST_F(RelayPoolTest, ReconnectsAfterRelayRestartAndResubscribes) {
  auto relay = StartRelay();
  ASSERT_TRUE(relay);
  const int port = relay->port();
  const std::string url = relay->url();
  Recorder rec;
  std::atomic<int> backoffs{0};
  RelayPool::Callbacks cb = rec.Callbacks();
  cb.on_state = [&](const RelayStatus& s) { backoffs += s.state == "backoff" ? 1 : 0; };
  RelayPool pool(FastOptions(), cb);
  ASSERT_TRUE(pool.Start().ok());
  pool.Subscribe(url, "notes", Json{{"kinds", {1}}, {"since", Now() - 5}});
  ASSERT_TRUE(WaitFor([&] { return rec.HasEose("notes"); }));

  relay->Kill();  // SIGKILL: no close frame
  ASSERT_TRUE(WaitFor([&] { return StatusOf(pool, url).state == "backoff"; }));
  RelayStatus down = StatusOf(pool, url);
  EXPECT_FALSE(down.last_error.empty());
  EXPECT_GT(down.retry_at_ms, 0);
  EXPECT_GE(down.attempts, 1);
  EXPECT_GE(backoffs.load(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a few refused attempts
  EXPECT_NE(StatusOf(pool, url).last_error.find("refused"), std::string::npos)
      << StatusOf(pool, url).last_error;

  relay = StartRelay(port);
  ASSERT_TRUE(relay);
  ASSERT_TRUE(WaitFor([&] { return StatusOf(pool, url).state == "connected"; }));
  EXPECT_EQ(StatusOf(pool, url).connects, 2);
  // Another client publishes; the re-sent subscription delivers it.
  Json ev = testing::SignOne({{"kind", 1}, {"content", "after restart"}});
  RelayPool other(FastOptions(), {});
  ASSERT_TRUE(other.Start().ok());
  EXPECT_TRUE(other.PublishSync({url}, ev)[0].ok);
  EXPECT_TRUE(WaitFor([&] { return rec.HasEvent("notes", ev["id"]); }));
}

TEST_F(RelayPoolTest, Nip42AuthThenPublishAndSubscribe) {
  auto relay = StartRelay(0, /*auth=*/true);
  ASSERT_TRUE(relay);
  Recorder rec;
  std::atomic<int> challenges{0};
  RelayPool::Callbacks cb = rec.Callbacks();
  cb.on_auth = [&](const std::string& url, const std::string& challenge) {
    ++challenges;
    return std::vector<Json>{testing::AuthEvent(url, challenge)};
  };
  RelayPool pool(FastOptions(), cb);
  ASSERT_TRUE(pool.Start().ok());
  // Both go out before AUTH completes: the relay refuses, the pool retries after AUTH.
  pool.Subscribe(relay->url(), "mine", Json{{"kinds", {1}}});
  Json ev = testing::SignOne({{"kind", 1}, {"content", "authed"}});
  std::vector<PublishResult> r = pool.PublishSync({relay->url()}, ev);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok) << r[0].message;
  // The event may come live before the stored-events query ends, so wait for both.
  EXPECT_TRUE(WaitFor([&] { return rec.HasEvent("mine", ev["id"]) && rec.HasEose("mine"); }));
  EXPECT_TRUE(StatusOf(pool, relay->url()).authenticated);
  EXPECT_EQ(challenges.load(), 1);

  // Without a key to AUTH with, a publish fails with the relay's reason, not a timeout.
  RelayPool anon(FastOptions(), {});
  ASSERT_TRUE(anon.Start().ok());
  auto t0 = Clock::now();
  r = anon.PublishSync({relay->url()}, testing::SignOne({{"kind", 1}, {"content", "anon"}}));
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].message.rfind("auth-required:", 0), 0u) << r[0].message;
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(2500));
  EXPECT_FALSE(StatusOf(anon, relay->url()).authenticated);
}

TEST_F(RelayPoolTest, ASubscriptionRefusedAfterAuthSucceededIsAskedAgainOnce) {
  // The relay answers our AUTH with OK, then refuses the REQ it had read before applying it.
  auto fake = StartFake("authrace");
  ASSERT_TRUE(fake);
  Recorder rec;
  RelayPool::Callbacks cb = rec.Callbacks();
  cb.on_auth = [&](const std::string& url, const std::string& challenge) {
    return std::vector<Json>{testing::AuthEvent(url, challenge)};
  };
  RelayPool pool(FastOptions(), cb);
  ASSERT_TRUE(pool.Start().ok());
  pool.Subscribe(fake->url(), "dm0", Json{{"kinds", {1059}}});
  ASSERT_TRUE(WaitFor([&] { return rec.HasEose("dm0"); }));
  RelayStatus st = StatusOf(pool, fake->url());
  EXPECT_TRUE(st.authenticated);
  EXPECT_EQ(st.state, "connected");
  EXPECT_EQ(st.last_error, "");
}

TEST_F(RelayPoolTest, PublishToDownRelayFailsClearlyWithinTimeout) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(s);  // nothing listens there now
  std::string down = "ws://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  RelayPoolOptions o = FastOptions();
  o.publish_timeout_ms = 1000;
  o.backoff_min_ms = 2000;  // the retry comes after the deadline: fail at the first refusal
  o.backoff_max_ms = 4000;
  RelayPool pool(o, {});
  ASSERT_TRUE(pool.Start().ok());
  auto t0 = Clock::now();
  auto r = pool.PublishSync({down, "ftp://nope"}, testing::SignOne({{"kind", 1}}));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_FALSE(r[0].ok);
  EXPECT_EQ(r[0].message, "not connected: connection refused");
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].message.rfind("invalid url:", 0), 0u) << r[1].message;
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1100));

  // An event without an id never goes out.
  EXPECT_EQ(pool.PublishSync({down}, Json{{"kind", 1}})[0].message, "event has no id");
  pool.Stop();
  EXPECT_EQ(pool.PublishSync({down}, testing::SignOne({{"kind", 1}}))[0].message, "closed");
}

TEST_F(RelayPoolTest, MalformedFramesAreCountedAndIgnored) {
  auto fake = StartFake("garbage");
  ASSERT_TRUE(fake);
  Recorder rec;
  RelayPool pool(FastOptions(), rec.Callbacks());
  ASSERT_TRUE(pool.Start().ok());
  pool.Subscribe(fake->url(), "g", Json{{"kinds", {1}}});
  ASSERT_TRUE(WaitFor([&] { return rec.HasEose("g"); }));
  EXPECT_TRUE(rec.HasEvent("g", "ab"));
  EXPECT_EQ(rec.EventCount(), 1u);
  RelayStatus st = StatusOf(pool, fake->url());
  EXPECT_EQ(st.state, "connected");
  EXPECT_GE(st.malformed_frames, 17);
  EXPECT_EQ(st.connects, 1);
}

TEST_F(RelayPoolTest, OversizedFrameDropsTheConnection) {
  auto fake = StartFake("huge");
  ASSERT_TRUE(fake);
  RelayPool pool(FastOptions(), {});
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(pool.Ensure(fake->url()).ok());
  EXPECT_TRUE(WaitFor([&] { return StatusOf(pool, fake->url()).last_error == "frame too large"; }));
  EXPECT_TRUE(WaitFor([&] { return StatusOf(pool, fake->url()).connects >= 2; }));
}

TEST_F(RelayPoolTest, StopReturnsPromptlyWithAHangingServer) {
  auto fake = StartFake("hang");
  ASSERT_TRUE(fake);
  RelayPoolOptions o = FastOptions();
  o.connect_timeout_ms = 300;
  o.publish_timeout_ms = 10000;
  auto pool = std::make_unique<RelayPool>(o, RelayPool::Callbacks{});
  ASSERT_TRUE(pool->Start().ok());
  ASSERT_TRUE(pool->Ensure(fake->url()).ok());
  EXPECT_TRUE(
      WaitFor([&] { return StatusOf(*pool, fake->url()).last_error == "connect timeout"; }));
  std::promise<std::vector<PublishResult>> done;
  pool->Publish({fake->url()}, testing::SignOne({{"kind", 1}}),
                [&done](std::vector<PublishResult> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(WaitFor([&] { return StatusOf(*pool, fake->url()).state == "connecting"; }));
  auto t0 = Clock::now();
  pool->Stop();
  pool->Stop();  // idempotent
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1000));
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get()[0].message, "closed");
  EXPECT_EQ(StatusOf(*pool, fake->url()).state, "closed");
  pool.reset();
}

TEST_F(RelayPoolTest, WssVerifiesCertificatesUnlessTurnedOff) {
  char tmpl[] = "/tmp/agent9-nostr-tls-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  if (!testing::MakeSelfSignedCert(dir)) GTEST_SKIP() << "no openssl CLI";
  auto fake = StartFake("tls", {dir + "/key.pem", dir + "/cert.pem"});
  ASSERT_TRUE(fake);
  std::string url = "wss://localhost:" + std::to_string(fake->port());

  RelayPool strict(FastOptions(), {});  // verify_tls = true: a self-signed certificate fails
  ASSERT_TRUE(strict.Start().ok());
  ASSERT_TRUE(strict.Ensure(url).ok());
  EXPECT_TRUE(WaitFor([&] {
    return StatusOf(strict, url).last_error.rfind("tls handshake failed", 0) == 0;
  })) << StatusOf(strict, url).last_error;
  EXPECT_EQ(StatusOf(strict, url).connects, 0);

  RelayPoolOptions o = FastOptions();
  o.verify_tls = false;
  Recorder rec;
  RelayPool lax(o, rec.Callbacks());
  ASSERT_TRUE(lax.Start().ok());
  lax.Subscribe(url, "t", Json{{"kinds", {1}}});
  EXPECT_TRUE(WaitFor([&] { return rec.HasEose("t"); }));
  EXPECT_EQ(StatusOf(lax, url).state, "connected");
  std::filesystem::remove_all(dir);
}

TEST_F(RelayPoolTest, PublishThroughput) {
  auto relay = StartRelay();
  ASSERT_TRUE(relay);
  std::vector<Json> templates;
  constexpr int kEvents = 500;
  for (int i = 0; i < kEvents; ++i)
    templates.push_back({{"kind", 1}, {"content", std::to_string(i)}});
  std::vector<Json> events = testing::Sign(templates);
  ASSERT_EQ(events.size(), static_cast<size_t>(kEvents));
  RelayPoolOptions o = FastOptions();
  o.publish_timeout_ms = 30000;  // the last of the burst waits for the relay to verify the rest
  RelayPool pool(o, {});
  ASSERT_TRUE(pool.Start().ok());
  ASSERT_TRUE(pool.PublishSync({relay->url()}, events[0])[0].ok);  // connected now
  std::atomic<int> ok{0}, answered{0};
  auto t0 = Clock::now();
  for (int i = 1; i < kEvents; ++i) {
    pool.Publish({relay->url()}, events[i], [&](std::vector<PublishResult> r) {
      ok += r[0].ok ? 1 : 0;
      ++answered;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return answered.load() == kEvents - 1; }, 20000));
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(ok.load(), kEvents - 1);
  std::printf("published %d events in %.3f s: %.0f events/s\n", kEvents - 1, secs,
              (kEvents - 1) / secs);
  RecordProperty("events_per_second", static_cast<int>((kEvents - 1) / secs));
  // Stop() with a live connection: a close handshake the relay answers at once.
  auto s0 = Clock::now();
  pool.Stop();
  auto stop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s0).count();
  std::printf("Stop() with one live connection took %lld ms\n", static_cast<long long>(stop_ms));
  EXPECT_LT(stop_ms, 1000);  // bounded by stop_grace_ms + 200 ms
}

}  // namespace
}  // namespace agent9::nostr
