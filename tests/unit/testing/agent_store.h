// AgentStoreFixture: a real SQLite store in a private temp dir with the core schema, an
// AgentService over it and a FakeClock. Tests derive from it.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "tests/unit/testing/temp_dir.h"
#include "tick/agents.h"

namespace agent9::testing {

class AgentStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(); }
  // (Re)opens the database file and the service over it.
  void OpenStore() {
    agents_.reset();
    db_.reset();
    auto db = Database::Open(dir_.File("agent9.db"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(AgentService::Migrate(*db_).ok());
    agents_ = std::make_unique<AgentService>(db_.get(), &clock_);
    agents_->SetChangeFeed(&changes_);
  }

  TempDir dir_;
  FakeClock clock_;
  ChangeFeed changes_;  // where agents_ announces deletions
  std::unique_ptr<Database> db_;
  std::unique_ptr<AgentService> agents_;
};

}  // namespace agent9::testing
