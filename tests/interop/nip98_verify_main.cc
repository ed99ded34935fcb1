// nip98_verify: runs VerifyNip98 (identity/nip98.h) on one Authorization header, for the
// interop test (tests/interop/nip98_interop.sh). Now is the system clock.
// Usage: nip98_verify HEADER_FILE METHOD URL BODY_FILE
// Prints "ok <pubkey hex> <event id>" and exits 0, or prints the error and exits 1 (2 on
// usage or I/O errors). The header may carry the "Nostr " scheme, as the HTTP layer sees it.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>

#include "identity/encoding.h"
#include "identity/nip98.h"
#include "identity/sodium.h"

namespace {

bool ReadFile(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace agent9::identity;
  if (argc != 5) {
    std::cerr << "usage: nip98_verify HEADER_FILE METHOD URL BODY_FILE\n";
    return 2;
  }
  std::string header;
  std::string body;
  if (!ReadFile(argv[1], &header) || !ReadFile(argv[4], &body)) {
    std::cerr << "nip98_verify: cannot read input files\n";
    return 2;
  }
  if (!InitSodium().ok()) return 2;
  std::string_view credentials = header;
  constexpr std::string_view kScheme = "Nostr ";
  if (credentials.substr(0, kScheme.size()) == kScheme) credentials.remove_prefix(kScheme.size());

  Nip98Request req;
  req.credentials = credentials;
  req.method = argv[2];
  req.url = argv[3];
  req.body = body;
  req.now_s = static_cast<int64_t>(std::time(nullptr));
  auto auth = VerifyNip98(req);
  if (!auth.ok()) {
    std::cout << auth.status().ToString() << "\n";
    return 1;
  }
  std::cout << "ok " << HexEncode(auth->pubkey) << " " << auth->event_id << "\n";
  return 0;
}
