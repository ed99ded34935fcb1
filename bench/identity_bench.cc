// identity_bench: Identity::Sign, Verify, Encrypt and Decrypt calls/s in one process, single
// thread: the in-process baseline of bench/identity.sh, which times the same calls through
// the identity/ call files over FUSE and HTTP. A real SQLite store in a private temp dir,
// opened like the daemon opens it, agents created through AgentService with the
// IdentityModule registered (so each key is made, sealed and stored as in the daemon), and
// the module's Identity service called directly: Sign and Encrypt open the agent's sealed key
// from SQLite for each call, as they do in the daemon; Verify needs no key.
// The requests have the sizes bench/identity.sh sends (--msg-bytes). Also Identity::Pubkey
// (one key-table read, no crypto), to show what opening a key costs.
// Human-readable lines go to stderr; stdout gets one flat JSON object, one "key": value per
// line (bench/identity.sh parses it with sed). Exit 0, 1 on a failed call, 2 on bad flags.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fs/base/clock.h"
#include "fs/base/runtime_config.h"
#include "fs/base/sqlite.h"
#include "fs/module.h"
#include "identity/encoding.h"
#include "identity/identity.h"
#include "identity/identity_module.h"
#include "identity/sodium.h"
#include "tick/agents.h"

namespace agent9 {
namespace {

using Steady = std::chrono::steady_clock;

void Say(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "identity_bench: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

struct Flags {
  double secs = 1;     // per op
  int msg_bytes = 64;  // the signed message and the encrypted plaintext
  std::string dir;     // parent of the temp dir
};

// Calls fn back to back for secs (after a short warm-up); calls/s, or -1 when a call failed.
double Rate(const char* name, double secs, const std::function<bool()>& fn) {
  for (int i = 0; i < 50; i++) {
    if (!fn()) {
      Say("%s failed", name);
      return -1;
    }
  }
  int64_t n = 0;
  Steady::time_point t0 = Steady::now();
  Steady::time_point end =
      t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(secs));
  Steady::time_point now = t0;
  while (now < end) {
    for (int i = 0; i < 16; i++) {  // check the clock every 16 calls
      if (!fn()) {
        Say("%s failed", name);
        return -1;
      }
    }
    n += 16;
    now = Steady::now();
  }
  double rate = static_cast<double>(n) / std::chrono::duration<double>(now - t0).count();
  Say("%-8s %10.0f calls/s (%lld calls, %.1f us each)", name, rate, static_cast<long long>(n),
      1e6 / rate);
  return rate;
}

int Run(const Flags& f) {
  if (Status st = identity::InitSodium(); !st.ok()) {  // as agent9 serve does first
    Say("%s", st.ToString().c_str());
    return 1;
  }
  std::string parent = f.dir.empty() ? std::filesystem::temp_directory_path().string() : f.dir;
  std::string tmpl = parent + "/agent9-identity-bench.XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    Say("cannot create a temp dir under %s", parent.c_str());
    return 1;
  }
  const std::string dir = tmpl;
  int rc = 1;
  {
    SystemClock clock;
    auto db = Database::Open(dir + "/agent9.db", DatabaseOptions{});
    if (!db.ok()) {
      Say("open: %s", db.status().ToString().c_str());
      return 1;
    }
    if (Status st = AgentService::Migrate(**db); !st.ok()) {
      Say("migrate: %s", st.ToString().c_str());
      return 1;
    }
    AgentService agents(db->get(), &clock);
    // The module as the runtime opens it (master key file in the data dir).
    auto config = RuntimeConfig::Parse("", "identity_bench.toml");
    auto module = std::make_unique<identity::IdentityModule>();
    ModuleContext ctx;
    ctx.db = db->get();
    ctx.clock = &clock;
    ctx.data_dir = dir;
    ctx.calls = std::make_shared<CallCache>();
    if (!config.ok() || !module->Configure(*config).ok()) {
      Say("configure failed");
      return 1;
    }
    if (Status st = module->Open(ctx); !st.ok()) {
      Say("module open: %s", st.ToString().c_str());
      return 1;
    }
    Modules mods;
    identity::IdentityModule* m = mods.Add(std::move(module));
    agents.SetModules(&mods);
    for (const char* id : {"a", "b"}) {
      if (Status st = agents.Create(id, AgentConfig{}, false).status(); !st.ok()) {
        Say("create %s: %s", id, st.ToString().c_str());
        return 1;
      }
    }
    identity::Identity* idn = m->identity();
    auto pa = idn->Pubkey("a");
    auto pb = idn->Pubkey("b");
    if (!pa.ok() || !pb.ok()) {
      Say("pubkey failed");
      return 1;
    }
    const identity::Bytes32 pub_a = *pa, pub_b = *pb;
    const std::string msg(static_cast<size_t>(f.msg_bytes), 'm');
    auto sig = idn->Sign("a", msg);
    auto payload = idn->Encrypt("b", pub_a, msg);  // from b to a: what a decrypts
    if (!sig.ok() || !payload.ok()) {
      Say("sign / encrypt failed");
      return 1;
    }
    const identity::Sig64 s = *sig;
    const std::string ct = *payload;
    Say("store in %s; %d-byte message and plaintext, %zu-byte NIP-44 payload, %.1f s per op",
        dir.c_str(), f.msg_bytes, ct.size(), f.secs);

    double pubkey = Rate("pubkey", f.secs, [&] { return idn->Pubkey("a").ok(); });
    double sign = Rate("sign", f.secs, [&] { return idn->Sign("a", msg).ok(); });
    double verify = Rate("verify", f.secs, [&] { return idn->Verify(pub_a, s, msg); });
    double encrypt = Rate("encrypt", f.secs, [&] { return idn->Encrypt("a", pub_b, msg).ok(); });
    double decrypt = Rate("decrypt", f.secs, [&] {
      auto p = idn->Decrypt("a", pub_b, ct);
      return p.ok() && *p == msg;
    });
    if (pubkey > 0 && sign > 0 && verify > 0 && encrypt > 0 && decrypt > 0) rc = 0;
    std::printf("{\n");
    std::printf("  \"msg_bytes\": %d,\n", f.msg_bytes);
    std::printf("  \"payload_bytes\": %zu,\n", ct.size());
    std::printf("  \"pubkey.per_s\": %.1f,\n", pubkey);
    std::printf("  \"sign.per_s\": %.1f,\n", sign);
    std::printf("  \"verify.per_s\": %.1f,\n", verify);
    std::printf("  \"encrypt.per_s\": %.1f,\n", encrypt);
    std::printf("  \"decrypt.per_s\": %.1f\n", decrypt);
    std::printf("}\n");
    agents.SetModules(nullptr);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}

}  // namespace
}  // namespace agent9

int main(int argc, char** argv) {
  agent9::Flags f;
  CLI::App app{"agent9 identity benchmark: Identity::Sign/Verify/Encrypt/Decrypt calls/s"};
  app.add_option("--secs", f.secs, "seconds per op")->check(CLI::Range(0.05, 600.0));
  app.add_option("--msg-bytes", f.msg_bytes, "bytes signed and encrypted")
      ->check(CLI::Range(1, 65535));
  app.add_option("--dir", f.dir, "where the temp store goes (default: $TMPDIR or /tmp)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return agent9::Run(f);
}
