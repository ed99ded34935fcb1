// NIP-98 HTTP auth: verifying the kind-27235 event a client sends base64-encoded in
// `Authorization: Nostr <credentials>`, and a guard that accepts each event id only once.
// Pure domain code: the HTTP layer extracts the credentials, builds the URL and maps the
// kUnauthenticated / kResourceExhausted results. Thread-safety: VerifyNip98 is a pure
// function; a Nip98ReplayGuard may be shared by any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fs/base/mutex.h"
#include "fs/base/status.h"
#include "identity/encoding.h"

namespace agent9::identity {

inline constexpr int kNip98Kind = 27235;
// Longest credentials accepted (the base64 text); longer ones are refused before decoding.
inline constexpr size_t kNip98MaxCredentials = 64 * 1024;
inline constexpr int64_t kNip98DefaultWindow = 60;  // seconds
inline constexpr size_t kNip98MaxReplayEntries = 100000;

struct Nip98Request {
  // What follows "Nostr " in the Authorization header: standard padded base64 (RFC 4648
  // section 4) of the event JSON. Surrounding spaces and tabs are ignored.
  std::string_view credentials;
  std::string_view method;  // the request's method, e.g. "POST"
  // The absolute URL the client must have signed, including the query string, e.g.
  // "http://127.0.0.1:7909/v1/agents/alice/send?x=1". Compared byte for byte with the u tag.
  std::string url;
  std::string_view body;  // the request body ("" when none)
  int64_t now_s = 0;      // the server's clock, Unix seconds
  int64_t window_s = kNip98DefaultWindow;
};

struct Nip98Auth {
  Bytes32 pubkey{};      // the signer: x-only secp256k1 key
  std::string event_id;  // 64 lowercase hex; feed it to a Nip98ReplayGuard
  int64_t created_at = 0;
};

// Verifies req.credentials as a NIP-98 authorization for the request described by req.
// Checks, in this order, each failing with kUnauthenticated and a message naming the check:
//   credentials at most kNip98MaxCredentials ("nip98: credentials are too large"), base64
//   ("nip98: credentials are not base64"), one JSON object ("nip98: not a JSON event"), a
//   well-formed NIP-01 event ("nip98: <EventFromJson's message>"), kind 27235, the id, the
//   signature, |now_s - created_at| <= window_s, the u tag, the method tag, the payload tag.
// Decisions where NIP-98 leaves room:
//   - u: exact byte equality with req.url (NIP-98: "exactly the same as the absolute request
//     URL (including query parameters)"); no normalisation of case, port, slashes or escapes.
//   - method: ASCII case-insensitive, as nostr-tools' validateEventMethodTag does.
//   - payload: required when the body is non-empty (a signature must cover what it
//     authorises); when present it must be the hex SHA-256 of the body (either hex case),
//     also for an empty body. nostr-tools' getToken hashes JSON.stringify(payload), so its
//     clients must send exactly that string as the body.
//   - A missing u or method tag, or one given twice, is refused; other tags are ignored.
//   - content is not checked (NIP-98: it SHOULD be empty).
// Replay is not checked here: pass the result to Nip98ReplayGuard::Accept.
Result<Nip98Auth> VerifyNip98(const Nip98Request& req);

// Remembers the ids of accepted NIP-98 events so each is accepted once. Memory is bounded:
// an id is dropped once its created_at is more than 2 * window_s before now_s (by then the
// event itself is stale), and at most max_entries ids are held; past that, new events are
// refused rather than forgetting ids still inside the window. Thread-safe.
class Nip98ReplayGuard {
 public:
  explicit Nip98ReplayGuard(int64_t window_s = kNip98DefaultWindow,
                            size_t max_entries = kNip98MaxReplayEntries);
  Nip98ReplayGuard(const Nip98ReplayGuard&) = delete;
  Nip98ReplayGuard& operator=(const Nip98ReplayGuard&) = delete;

  // Records event_id (of an event VerifyNip98 accepted). kUnauthenticated "nip98: event
  // already used" when it was accepted before, "nip98: created_at is outside ±N s" when
  // created_at is not within window_s of now_s (such an id could not be remembered long
  // enough); kResourceExhausted "nip98: too many recent auth events" when full.
  Status Accept(const std::string& event_id, int64_t created_at, int64_t now_s) EXCLUDES(mu_);

  // Number of ids held (after the last Accept's pruning).
  size_t size() const EXCLUDES(mu_);

 private:
  void PruneLocked(int64_t now_s) REQUIRES(mu_);

  const int64_t window_s_;
  const size_t max_entries_;
  mutable Mutex mu_;
  std::map<std::string, int64_t, std::less<>> by_id_ GUARDED_BY(mu_);  // id -> created_at
  // (created_at, id) ordered oldest first; the views point at by_id_'s keys.
  std::set<std::pair<int64_t, std::string_view>> by_time_ GUARDED_BY(mu_);
};

}  // namespace agent9::identity
