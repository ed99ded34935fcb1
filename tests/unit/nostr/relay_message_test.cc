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
