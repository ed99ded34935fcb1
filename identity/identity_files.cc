#include "identity/identity_files.h"

#include "fs/base/json.h"
#include "identity/nip19.h"

namespace agent9::identity {
namespace {

constexpr Access kOwnerRead{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};
// Call files: only the agent itself and the admin (DESIGN section 3).
constexpr Access kOwnerCall{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};
constexpr Access kAdminCtl{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody};

// Checks that obj has only the given keys, each a string; returns them in order.
Result<std::vector<std::string>> StringFields(std::string_view text, std::string_view what,
                                              std::initializer_list<std::string_view> keys) {
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, what, 8));
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (auto key : keys) known = known || k == key;
    if (!known) return Status::InvalidArgument(std::string(what) + ": unknown field", k);
  }
  std::vector<std::string> out;
  for (auto key : keys) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return Status::InvalidArgument(std::string(what) + ": want \"" + std::string(key) +
                                     "\" as a string");
    }
    out.push_back(it->get<std::string>());
  }
  return out;
}

Result<Bytes32> PeerKey(std::string_view what, std::string_view field, std::string_view v) {
  auto k = ParsePubkey(v);
  if (!k.ok()) {
    return Status::InvalidArgument(std::string(what) + ": \"" + std::string(field) +
                                   "\" is not a public key (64 hex digits or npub1...)");
  }
  return *k;
}

// One traced, counted call: fn's result, with a record in the agent's trace.
CallFn Traced(AgentHost* host, std::string agent, const char* op,
              std::function<Result<std::string>(std::string_view request)> fn) {
  return [host, agent = std::move(agent), op, fn = std::move(fn)](
             const Caller& who, std::string request) -> Result<std::string> {
    Result<std::string> r = fn(request);
    Json rec{{"type", "identity"},
             {"op", op},
             {"caller", who.Name()},
             {"bytes", request.size()},
             {"result", r.ok() ? "ok" : "error"}};
    if (!r.ok()) rec["error"] = CodeName(r.status().code());
    host->Trace(agent, std::move(rec));
    return r;
  };
}

std::shared_ptr<Node> Call(NodeId id, const std::string& agent, AgentHost* host,
                           const std::shared_ptr<CallCache>& calls, const char* op,
                           std::function<Result<std::string>(std::string_view)> fn) {
  return std::make_shared<CallFile>(id, agent, kOwnerCall, Traced(host, agent, op, std::move(fn)),
                                    calls);
}

std::shared_ptr<Node> KeyFile(NodeId id, const std::string& agent, Identity* identity, bool npub) {
  return std::make_shared<SnapshotFile>(
      id, agent, kOwnerRead, [identity, agent, npub]() -> Result<std::string> {
        AGENT9_ASSIGN_OR_RETURN(Bytes32 pub, identity->Pubkey(agent));
        return (npub ? EncodeNpub(pub) : HexEncode(pub)) + "\n";
      });
}

std::shared_ptr<Node> Ctl(NodeId id, const std::string& agent, Identity* identity,
                          AgentHost* host) {
  auto table = std::make_shared<std::vector<CtlCommand>>();
  table->push_back(CtlCommand{
      "rotate", 0, 0, "rotate",
      [identity, host, agent](const Caller& who, const std::vector<std::string>&) -> Status {
        AGENT9_ASSIGN_OR_RETURN(Bytes32 pub, identity->Rotate(agent));
        host->Trace(agent, Json{{"type", "identity"},
                                {"op", "rotate"},
                                {"caller", who.Name()},
                                {"pubkey", HexEncode(pub)}});
        return Status::OK();
      }});
  return std::make_shared<CtlFile>(id, agent, kAdminCtl, std::move(table));
}

}  // namespace

Result<VerifyRequest> ParseVerifyRequest(std::string_view text) {
  constexpr std::string_view kWhat = "identity/verify request";
  AGENT9_ASSIGN_OR_RETURN(auto f, StringFields(text, kWhat, {"pubkey", "sig", "message"}));
  VerifyRequest r;
  AGENT9_ASSIGN_OR_RETURN(r.pubkey, PeerKey(kWhat, "pubkey", f[0]));
  auto sig = HexDecode(f[1]);
  if (!sig.ok() || sig->size() != r.sig.size()) {
    return Status::InvalidArgument(std::string(kWhat) + ": \"sig\" must be 128 hex digits");
  }
  std::copy(sig->begin(), sig->end(), r.sig.begin());
  r.message = std::move(f[2]);
  return r;
}

Result<CryptRequest> ParseCryptRequest(std::string_view text, bool encrypt) {
  std::string_view what = encrypt ? "identity/encrypt request" : "identity/decrypt request";
  std::string_view peer = encrypt ? "to" : "from";
  std::string_view body = encrypt ? "plaintext" : "ciphertext";
  AGENT9_ASSIGN_OR_RETURN(auto f, StringFields(text, what, {peer, body}));
  CryptRequest r;
  AGENT9_ASSIGN_OR_RETURN(r.peer, PeerKey(what, peer, f[0]));
  r.text = std::move(f[1]);
  return r;
}

std::vector<TableEntry> IdentityEntries(Identity* identity, AgentHost* host,
                                        std::shared_ptr<CallCache> calls) {
  auto files = std::make_shared<std::vector<TableEntry>>();
  files->push_back({"pubkey", NodeType::kFile, [identity](NodeId id, const std::string& a) {
                      return KeyFile(id, a, identity, false);
                    }});
  files->push_back({"npub", NodeType::kFile, [identity](NodeId id, const std::string& a) {
                      return KeyFile(id, a, identity, true);
                    }});
  files->push_back(
      {"sign", NodeType::kFile, [identity, host, calls](NodeId id, const std::string& a) {
         return Call(id, a, host, calls, "sign",
                     [identity, a](std::string_view req) -> Result<std::string> {
                       AGENT9_ASSIGN_OR_RETURN(Sig64 sig, identity->Sign(a, req));
                       return HexEncode(sig) + "\n";
                     });
       }});
  files->push_back(
      {"verify", NodeType::kFile, [identity, host, calls](NodeId id, const std::string& a) {
         return Call(
             id, a, host, calls, "verify", [identity](std::string_view req) -> Result<std::string> {
               AGENT9_ASSIGN_OR_RETURN(VerifyRequest r, ParseVerifyRequest(req));
               return std::string(identity->Verify(r.pubkey, r.sig, r.message) ? "ok\n"
                                                                               : "invalid\n");
             });
       }});
  files->push_back(
      {"encrypt", NodeType::kFile, [identity, host, calls](NodeId id, const std::string& a) {
         return Call(id, a, host, calls, "encrypt",
                     [identity, a](std::string_view req) -> Result<std::string> {
                       AGENT9_ASSIGN_OR_RETURN(CryptRequest r, ParseCryptRequest(req, true));
                       AGENT9_ASSIGN_OR_RETURN(std::string p, identity->Encrypt(a, r.peer, r.text));
                       return p + "\n";
                     });
       }});
  files->push_back(
      {"decrypt", NodeType::kFile, [identity, host, calls](NodeId id, const std::string& a) {
         return Call(id, a, host, calls, "decrypt",
                     [identity, a](std::string_view req) -> Result<std::string> {
                       AGENT9_ASSIGN_OR_RETURN(CryptRequest r, ParseCryptRequest(req, false));
                       return identity->Decrypt(a, r.peer, r.text);
                     });
       }});
  files->push_back({"ctl", NodeType::kFile, [identity, host](NodeId id, const std::string& a) {
                      return Ctl(id, a, identity, host);
                    }});
  std::shared_ptr<const std::vector<TableEntry>> table = std::move(files);
  return {TableEntry{"identity", NodeType::kDir,
                     [table](NodeId id, const std::string& a) -> std::shared_ptr<Node> {
                       return std::make_shared<TableDir>(id, a, kOwnerRead, table);
                     }}};
}

}  // namespace agent9::identity
