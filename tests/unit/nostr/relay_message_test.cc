#include "nostr/relay_message.h"

#include <gtest/gtest.h>

#include <string>

#include "nostr/relay_url.h"

namespace agent9::nostr {
namespace {

TEST(RelayUrl, NormalizesSchemeHostAndDefaultPort) {
  auto u = ParseRelayUrl("WSS://Relay.Example.COM:443/path?x=1");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "relay.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/path?x=1");
  EXPECT_EQ(u->normalized, "wss://relay.example.com/path?x=1");
  EXPECT_EQ(u->host_header, "relay.example.com");

  auto plain = ParseRelayUrl("ws://127.0.0.1:7447");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->tls);
  EXPECT_EQ(plain->port, 7447);
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->normalized, "ws://127.0.0.1:7447");
  EXPECT_EQ(plain->host_header, "127.0.0.1:7447");

  auto v6 = ParseRelayUrl("ws://[::1]:8080/");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->normalized, "ws://[::1]:8080/");
  EXPECT_EQ(NormalizeRelayUrl("ws://HOST:80").value(), "ws://host");
}

TEST(RelayUrl, RejectsWhatIsNotWsHostPortPath) {
  for (const char* bad :
       {"", "http://x", "ws://", "ws://:80", "ws://x:0", "ws://x:65536", "ws://x:12a",
        "ws://x:", "ws://user@x", "ws://x/#frag", "ws://a b", "ws://x\n", "ws://[::1",
        "ws://[zz]:1", "ws://ex%41mple", "wss//x", "ftp://x"}) {
    auto u = ParseRelayUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_FALSE(ParseRelayUrl("ws://x/" + std::string(3000, 'a')).ok());
}

// The early check of nostr/relays at write(): the last URL of the list, still growing.
TEST(RelayUrl, PrefixCheckFailsAtTheByteThatMakesAUrlImpossible) {
  for (std::string good : {"WSS://Relay.Example.COM:443/path?x=1", "ws://127.0.0.1:00080",
                           "ws://[::1]:8080/", "ws://a_b-c.d?q", "wss://x:0001/#"}) {
    if (good.back() == '#') good.pop_back();  // a fragment is refused; the rest is fine
    ASSERT_TRUE(ParseRelayUrl(good).ok()) << good;
    for (size_t n = 0; n <= good.size(); ++n) {
      EXPECT_TRUE(CheckRelayUrlPrefix(good.substr(0, n)).ok()) << good.substr(0, n);
    }
  }
  const std::pair<std::string, size_t> bad[] = {
      {"http://x", 0},      {"wx", 1},         {"ws:x", 3},         {"ws://:", 5},
      {"ws:///", 5},        {"ws://a\x01", 6}, {"ws://a@", 6},      {"ws://a:x", 7},
      {"ws://a:70000", 11}, {"ws://a:0/", 8},  {"ws://a:/", 7},     {"ws://a/#", 7},
      {"ws://[]", 6},       {"ws://[g", 6},    {"ws://[::1]x", 10}, {"ws://a!", 6},
      {"ws://[::1/", 9},
  };
  for (const auto& [text, at] : bad) {
    for (size_t n = 0; n < at; ++n) {
      EXPECT_TRUE(CheckRelayUrlPrefix(text.substr(0, n)).ok()) << text.substr(0, n);
    }
    Status st = CheckRelayUrlPrefix(text.substr(0, at + 1));
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << text;
  }
  // Exact on random text: what it accepts some ending makes a URL; what it refuses, none of
  // them does.
  const std::string endings[] = {"",      "a",    "1",   "/",  "]",      "1]",
                                 "s://a", "://a", "//a", "/a", "ws://a", "S://a"};
  const char alphabet[] = "wsWS:/[]@#?.a1 0:";
  uint32_t seed = 1;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (int n = static_cast<int>((seed = seed * 1103515245 + 12345) >> 16) % 12; n > 0; --n) {
      seed = seed * 1103515245 + 12345;
      text += alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    bool some = false;
    for (const auto& e : endings) some = some || ParseRelayUrl(text + e).ok();
    EXPECT_EQ(CheckRelayUrlPrefix(text).ok(), some) << "[" << text << "]";
  }
}

TEST(RelayMessage, ParsesEveryKnownType) {
  auto ev = ParseRelayMessage(R"(["EVENT","s1",{"id":"ab","kind":1}])");
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->type, RelayMessage::Type::kEvent);
  EXPECT_EQ(ev->sub_id, "s1");
  EXPECT_EQ(ev->event["id"], "ab");

  auto ok = ParseRelayMessage(R"(["OK","ab",false,"auth-required: please"])");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->type, RelayMessage::Type::kOk);
  EXPECT_FALSE(ok->ok);
  EXPECT_TRUE(HasReasonPrefix(ok->message, "auth-required"));
  EXPECT_FALSE(HasReasonPrefix("auth-requiredx: no", "auth-required"));

  EXPECT_EQ(ParseRelayMessage(R"(["OK","ab",true])")->message, "");
  EXPECT_EQ(ParseRelayMessage(R"(["EOSE","s"])")->type, RelayMessage::Type::kEose);
  EXPECT_EQ(ParseRelayMessage(R"(["CLOSED","s","error: x"])")->message, "error: x");
  EXPECT_EQ(ParseRelayMessage(R"(["NOTICE","hi"])")->message, "hi");
  EXPECT_EQ(ParseRelayMessage(R"(["AUTH","chal"])")->challenge, "chal");
  EXPECT_EQ(ParseRelayMessage(R"(["COUNT","s",{"count":3}])")->type, RelayMessage::Type::kCount);
  auto other = ParseRelayMessage(R"(["NEG-MSG","s","00"])");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->type, RelayMessage::Type::kUnknown);
  EXPECT_EQ(other->verb, "NEG-MSG");
}

TEST(RelayMessage, RejectsMalformedFramesWithoutThrowing) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  for (const std::string& bad :
       {std::string("not json"), std::string("{}"), std::string("[]"), std::string("[1]"),
        std::string("\"EVENT\""), std::string("[\"EVENT\"]"), std::string("[\"EVENT\",\"s\",5]"),
        std::string("[\"EVENT\",1,{}]"), std::string("[\"OK\",\"x\"]"),
        std::string("[\"OK\",\"x\",\"true\"]"), std::string("[\"OK\",1,true]"),
        std::string("[\"EOSE\"]"), std::string("[\"NOTICE\",{}]"), std::string("[\"AUTH\",5]"),
        std::string("[\"CLOSED\"]"), std::string("[\"COUNT\",\"s\"]"), std::string("[\"a\","),
        std::string("\xff\xfe"), deep}) {
    EXPECT_FALSE(ParseRelayMessage(bad).ok()) << bad.substr(0, 40);
  }
}

}  // namespace
}  // namespace agent9::nostr
