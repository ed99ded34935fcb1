// ImportAgent (tick/agent_bundle.h): an agent bundle (a tar) uploaded to POST
// /v1/agents/import is hostile input. One store per process (a temp-dir SQLite database and
// an AgentService). Invariants: a rejected bundle leaves every table exactly as it was; an
// accepted one can also be imported as a clone, and its re-export imports again; deleting
// the imported agents brings the store back to where it was.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "fs/base/clock.h"
#include "fs/base/path.h"
#include "fs/base/sqlite.h"
#include "fuzz/fuzz_util.h"
#include "tick/agent_bundle.h"
#include "tick/agents.h"

namespace agent9::fuzz {
namespace {

struct Store {
  Store() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "agent9-fuzz-bundle-XXXXXX").string();
    Require(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    dir = tmpl;
    auto opened = Database::Open(dir + "/agent9.db", DatabaseOptions{SyncMode::kOff});
    Require(opened.ok(), "open the database", opened.status().ToString());
    db = std::move(opened).value();
    Require(AgentService::Migrate(*db).ok(), "migrate");
    agents = std::make_unique<AgentService>(db.get(), &clock);
  }
  ~Store() {
    agents.reset();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  FakeClock clock{1'800'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<AgentService> agents;
};

Store& TheStore() {
  static Store store;  // destroyed at exit, which removes the temp dir
  return store;
}

// Row count of every table but SQLite's own.
std::map<std::string, int64_t> Counts(Database& db) {
  std::map<std::string, int64_t> out;
  Status st = db.Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * t, c.Prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE "
                            "'sqlite_%' ORDER BY name"));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, t->Step());
      if (!row) break;
      out[t->Text(0)] = 0;
    }
    for (auto& [name, n] : out) {
      AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT count(*) FROM \"" + name + "\""));
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (row) n = s->Int(0);
    }
    return Status::OK();
  });
  Require(st.ok(), "count rows", st.ToString());
  return out;
}

}  // namespace
}  // namespace agent9::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  Store& s = TheStore();
  std::string_view tar = AsText(data, size);
  auto before = Counts(*s.db);
  auto id = ImportAgent(*s.agents, tar, ImportMode::kRestore);
  if (!id.ok()) {
    Require(Counts(*s.db) == before, "a rejected bundle left rows behind", id.status().ToString());
    return 0;
  }
  Require(ValidateAgentId(*id).ok(), "imported under a bad id", *id);
  auto exists = s.agents->Exists(*id);
  Require(exists.ok() && *exists, "the imported agent does not exist", *id);

  // New ids no seed uses; a bundle naming one of them is only restored.
  const std::string kClone = "zz-fuzz-clone", kReimport = "zz-fuzz-reimport";
  if (*id == kClone || *id == kReimport) {
    Require(s.agents->Delete(*id).ok(), "delete", *id);
    return 0;
  }
  auto clone = ImportAgent(*s.agents, tar, ImportMode::kClone, kClone);
  Require(clone.ok() && *clone == kClone, "a restorable bundle cannot be cloned",
          clone.ok() ? *clone : clone.status().ToString());
  auto again = ImportAgent(*s.agents, tar, ImportMode::kRestore);
  Require(!again.ok() && again.status().code() == Code::kAlreadyExists,
          "restoring an existing agent did not fail with kAlreadyExists",
          again.ok() ? *again : again.status().ToString());

  auto exported = ExportAgent(*s.agents, *id);
  Require(exported.ok(), "an imported agent cannot be exported",
          exported.ok() ? "" : exported.status().ToString());
  auto reimported = ImportAgent(*s.agents, *exported, ImportMode::kClone, kReimport);
  Require(reimported.ok(), "the export of an imported agent does not import",
          reimported.ok() ? "" : reimported.status().ToString());

  for (const std::string& a : {*id, kClone, kReimport}) {
    Require(s.agents->Delete(a).ok(), "delete", a);
  }
  Require(Counts(*s.db) == before, "deleting the imported agents left rows behind");
  return 0;
}
