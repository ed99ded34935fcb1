// interop_tool: a test helper (not part of the product, never installed) that exposes the
// identity primitives to tests/interop/nostr_interop.mjs. `interop_tool CMD` reads one JSON
// object on stdin and writes one JSON object on stdout; on failure it writes
// {"error": message} and exits 1 (2 for a bad command line). Keys are hex; secret keys are
// handled in the clear, which is fine for throwaway test keys only.
#include <cstdio>
#include <exception>
#include <iostream>
#include <iterator>
#include <map>
#include <string>

#include "fs/base/json.h"
#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/event.h"
#include "identity/nip04.h"
#include "identity/nip19.h"
#include "identity/nip44.h"
#include "identity/nip59.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"

namespace agent9::identity {
namespace {

using Command = Result<Json> (*)(const Json&);

Result<std::string> Str(const Json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || !it->is_string()) {
    return Status::InvalidArgument(std::string(name) + " missing or not a string");
  }
  return it->get<std::string>();
}

Result<int64_t> Int(const Json& in, const char* name) {
  auto it = in.find(name);
  if (it == in.end() || !it->is_number_integer()) {
    return Status::InvalidArgument(std::string(name) + " missing or not an integer");
  }
  return it->get<int64_t>();
}

Result<SecretBytes> Sk(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(std::string hex, Str(in, "sk"));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 raw, HexDecode32(hex));
  SecretBytes sk = SecretBytes::Copy(raw);
  SecureZero(raw);
  if (!IsValidSecretKey(sk.span())) return Status::InvalidArgument("sk is not a secret key");
  return sk;
}

Result<Bytes32> Pk(const Json& in, const char* name) {
  AGENT9_ASSIGN_OR_RETURN(std::string text, Str(in, name));
  return ParsePubkey(text);
}

// {} -> {"sk","pk","npub"}
Result<Json> Keygen(const Json&) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, NewSecretKey());
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pk, XOnlyPubkey(sk));
  return Json{{"sk", HexEncode(sk.span())}, {"pk", HexEncode(pk)}, {"npub", EncodeNpub(pk)}};
}

// {"pk"} (hex or npub) -> {"pk","npub"}
Result<Json> Npub(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pk, Pk(in, "pk"));
  return Json{{"pk", HexEncode(pk)}, {"npub", EncodeNpub(pk)}};
}

// {"sk","pk","plaintext"} -> {"payload"}
Result<Json> Nip44Enc(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, Sk(in));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pk, Pk(in, "pk"));
  AGENT9_ASSIGN_OR_RETURN(std::string plaintext, Str(in, "plaintext"));
  AGENT9_ASSIGN_OR_RETURN(SecretBytes conv, Nip44ConversationKey(sk, pk));
  AGENT9_ASSIGN_OR_RETURN(std::string payload, Nip44Encrypt(plaintext, conv));
  return Json{{"payload", payload}};
}

// {"sk","pk","payload"} -> {"plaintext"}
Result<Json> Nip44Dec(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, Sk(in));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pk, Pk(in, "pk"));
  AGENT9_ASSIGN_OR_RETURN(std::string payload, Str(in, "payload"));
  AGENT9_ASSIGN_OR_RETURN(SecretBytes conv, Nip44ConversationKey(sk, pk));
  AGENT9_ASSIGN_OR_RETURN(std::string plaintext, Nip44Decrypt(payload, conv));
  return Json{{"plaintext", plaintext}};
}

// {"sk","pk","content"} -> {"plaintext"}
Result<Json> Nip04Dec(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, Sk(in));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pk, Pk(in, "pk"));
  AGENT9_ASSIGN_OR_RETURN(std::string content, Str(in, "content"));
  AGENT9_ASSIGN_OR_RETURN(std::string plaintext, Nip04Decrypt(content, sk, pk));
  return Json{{"plaintext", plaintext}};
}

// {"sk","kind","tags","content","created_at"} -> the signed event
Result<Json> SignEv(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, Sk(in));
  AGENT9_ASSIGN_OR_RETURN(int64_t kind, Int(in, "kind"));
  AGENT9_ASSIGN_OR_RETURN(int64_t created_at, Int(in, "created_at"));
  AGENT9_ASSIGN_OR_RETURN(std::string content, Str(in, "content"));
  if (kind < 0 || kind > 65535) return Status::InvalidArgument("kind out of range");
  Json tags = in.value("tags", Json::array());
  AGENT9_ASSIGN_OR_RETURN(Event e, SignEvent(sk, static_cast<int>(kind), std::move(tags),
                                             std::move(content), created_at));
  return EventToJson(e);
}

// {"event"} -> {"ok": bool, "error"?}
Result<Json> VerifyEv(const Json& in) {
  auto it = in.find("event");
  if (it == in.end()) return Status::InvalidArgument("event missing");
  Status st = EventFromJson(*it).status();
  if (st.ok()) st = VerifyEvent(*EventFromJson(*it));
  if (st.ok()) return Json{{"ok", true}};
  return Json{{"ok", false}, {"error", st.message()}};
}

// {"sk","recipient","content","created_at","reply_to"?} -> {"wrap","rumor"}: a NIP-17 chat
// message gift-wrapped to recipient.
Result<Json> WrapDm(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, Sk(in));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 sender, XOnlyPubkey(sk));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 recipient, Pk(in, "recipient"));
  AGENT9_ASSIGN_OR_RETURN(std::string content, Str(in, "content"));
  AGENT9_ASSIGN_OR_RETURN(int64_t now, Int(in, "created_at"));
  std::string reply_to = in.value("reply_to", "");
  Rumor rumor = MakeDmRumor(sender, recipient, std::move(content), now, reply_to);
  AGENT9_ASSIGN_OR_RETURN(Event wrap, SealAndWrap(sk, recipient, rumor, now));
  return Json{{"wrap", EventToJson(wrap)}, {"rumor", RumorToJson(rumor)}};
}

// {"sk","wrap"} -> {"rumor","seal"}
Result<Json> UnwrapDm(const Json& in) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, Sk(in));
  auto it = in.find("wrap");
  if (it == in.end()) return Status::InvalidArgument("wrap missing");
  AGENT9_ASSIGN_OR_RETURN(Event wrap, EventFromJson(*it));
  AGENT9_ASSIGN_OR_RETURN(Unwrapped u, Unwrap(sk, wrap));
  return Json{{"rumor", RumorToJson(u.rumor)}, {"seal", EventToJson(u.seal)}};
}

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"keygen", Keygen},          {"npub", Npub},
      {"nip44-encrypt", Nip44Enc}, {"nip44-decrypt", Nip44Dec},
      {"nip04-decrypt", Nip04Dec}, {"sign-event", SignEv},
      {"verify-event", VerifyEv},  {"wrap-dm", WrapDm},
      {"unwrap-dm", UnwrapDm},
  };
  return commands;
}

int Run(int argc, char** argv) {
  if (argc != 2 || Commands().count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: interop_tool CMD < request.json; CMD is one of:");
    for (const auto& [name, fn] : Commands()) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  if (!InitSodium().ok()) {
    std::fprintf(stderr, "interop_tool: sodium_init failed\n");
    return 1;
  }
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto in = ParseJsonObject(text, "request");
  Result<Json> out = in.ok() ? Commands().at(argv[1])(*in) : Result<Json>(in.status());
  if (!out.ok()) {
    std::cout << DumpJson(Json{{"error", out.status().message()}}) << "\n";
    return 1;
  }
  std::cout << DumpJson(*out) << "\n";
  return 0;
}

}  // namespace
}  // namespace agent9::identity

int main(int argc, char** argv) {
  try {
    return agent9::identity::Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interop_tool: %s\n", e.what());
    return 1;
  }
}
