#include "tick/agent_schema.h"

namespace agent9 {
namespace {

constexpr std::string_view kSchema[] = {
    // 1: the registry and its queues. Owners: agents, tick/agents.cc (the tick engine writes
    // state_json and the tick columns: tick/engine_tick.cc); inbox and message_ids,
    // tick/inbox.cc; deadletter, tick/deadletter.cc; docs, tick/agent_docs.cc (the
    // hud/settings row: tick/hud_settings.cc).
    R"sql(
CREATE TABLE agents(
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'active',
  config TEXT NOT NULL,
  max_depth INTEGER NOT NULL,
  overflow TEXT NOT NULL,
  state_json TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_tick_at INTEGER,
  last_tick_cause TEXT,
  tick_count INTEGER NOT NULL DEFAULT 0,
  next_seq INTEGER NOT NULL DEFAULT 1,
  is_public INTEGER NOT NULL DEFAULT 0,
  -- Kept by the triggers below, so depth and size are O(1) reads.
  inbox_count INTEGER NOT NULL DEFAULT 0,
  inbox_bytes INTEGER NOT NULL DEFAULT 0,
  dead_count INTEGER NOT NULL DEFAULT 0,
  dead_bytes INTEGER NOT NULL DEFAULT 0,
  doc_bytes INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE inbox(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  msg_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  ts INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(agent, seq)
) WITHOUT ROWID;
CREATE TABLE message_ids(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  msg_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(agent, msg_id)
) WITHOUT ROWID;
CREATE TABLE deadletter(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(agent, seq)
) WITHOUT ROWID;
CREATE TABLE docs(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  ns TEXT NOT NULL,
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY(agent, ns, name)
) WITHOUT ROWID;
CREATE TRIGGER inbox_add AFTER INSERT ON inbox BEGIN
  UPDATE agents SET inbox_count = inbox_count + 1,
                    inbox_bytes = inbox_bytes + length(NEW.envelope) WHERE id = NEW.agent;
END;
CREATE TRIGGER inbox_drop AFTER DELETE ON inbox BEGIN
  UPDATE agents SET inbox_count = inbox_count - 1,
                    inbox_bytes = inbox_bytes - length(OLD.envelope) WHERE id = OLD.agent;
END;
CREATE TRIGGER dead_add AFTER INSERT ON deadletter BEGIN
  UPDATE agents SET dead_count = dead_count + 1,
                    dead_bytes = dead_bytes + length(NEW.envelope) WHERE id = NEW.agent;
END;
CREATE TRIGGER dead_drop AFTER DELETE ON deadletter BEGIN
  UPDATE agents SET dead_count = dead_count - 1,
                    dead_bytes = dead_bytes - length(OLD.envelope) WHERE id = OLD.agent;
END;
CREATE TRIGGER doc_add AFTER INSERT ON docs BEGIN
  UPDATE agents SET doc_bytes = doc_bytes + length(NEW.body) WHERE id = NEW.agent;
END;
CREATE TRIGGER doc_change AFTER UPDATE OF body ON docs BEGIN
  UPDATE agents SET doc_bytes = doc_bytes + length(NEW.body) - length(OLD.body)
  WHERE id = NEW.agent;
END;
CREATE TRIGGER doc_drop AFTER DELETE ON docs BEGIN
  UPDATE agents SET doc_bytes = doc_bytes - length(OLD.body) WHERE id = OLD.agent;
END;
)sql",
    // 2: the tick engine's outbox and trajectory.
    // Owners: outbox and trajectory, tick/tick_store.cc (reads: tick/agent_status.cc).
    R"sql(
ALTER TABLE agents ADD COLUMN next_event INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN next_record INTEGER NOT NULL DEFAULT 1;
CREATE TABLE outbox(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(agent, seq)
) WITHOUT ROWID;
CREATE TABLE trajectory(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  n INTEGER NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY(agent, n)
) WITHOUT ROWID;
)sql",
    // 3: alarms.
    // Owner: alarms, tick/alarms.cc (the tick engine fires due ones: tick/tick_store.cc).
    R"sql(
ALTER TABLE agents ADD COLUMN next_alarm INTEGER NOT NULL DEFAULT 1;
CREATE TABLE alarms(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  id INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  every_ms INTEGER,
  payload TEXT NOT NULL,
  PRIMARY KEY(agent, id)
) WITHOUT ROWID;
CREATE INDEX alarms_due ON alarms(due_at);
)sql",
    // 4: the init and event triggers; attempts for every trigger that is not a message.
    // Owners: events_in, tick/alarms.cc (the tick engine consumes them: tick/tick_store.cc);
    // init_pending is set by tick/agents.cc and cleared by tick/tick_store.cc.
    R"sql(
ALTER TABLE agents ADD COLUMN init_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN init_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alarms ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE events_in(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(agent, seq)
) WITHOUT ROWID;
)sql",
    // 5: trajectory columns for tick ranges and metrics/apm (NULL for older records).
    // Owner: tick/tick_store.cc.
    R"sql(
ALTER TABLE trajectory ADD COLUMN tick INTEGER;
ALTER TABLE trajectory ADD COLUMN at INTEGER;
ALTER TABLE trajectory ADD COLUMN actions INTEGER;
ALTER TABLE trajectory ADD COLUMN ok INTEGER;
)sql",
    // 6: scale. Starting the engine looks for active agents of a kind that ticks: this
    // partial index holds only those, so hibernated (and kind none) agents cost nothing at
    // startup. The agent count (runtime status, metrics) is kept here instead of counting
    // every row.
    // Owner: agent_count, tick/agents.cc (Count).
    R"sql(
CREATE INDEX agents_runnable ON agents(id) WHERE state = 'active' AND kind != 'none';
CREATE TABLE agent_count(one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL);
INSERT INTO agent_count(one, n) SELECT 1, count(*) FROM agents;
CREATE TRIGGER agents_counted_add AFTER INSERT ON agents BEGIN
  UPDATE agent_count SET n = n + 1;
END;
CREATE TRIGGER agents_counted_drop AFTER DELETE ON agents BEGIN
  UPDATE agent_count SET n = n - 1;
END;
)sql",
    // 7: what `agent9 replay` re-runs: each committed tick's whole input (trigger, state,
    // config, the memory files it read) and the effects it asked for.
    // Owner: tick_records, tick/tick_record.cc.
    R"sql(
CREATE TABLE tick_records(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  tick INTEGER NOT NULL,
  input TEXT NOT NULL,
  output TEXT NOT NULL,
  PRIMARY KEY(agent, tick)
) WITHOUT ROWID;
)sql",
    // 8: the three logs a tick appends to become rowid tables (plain PRIMARY KEY, not WITHOUT
    // ROWID). A WITHOUT ROWID table stores each row in its key's place, so every agent's
    // records sat on that agent's own pages: a tick wrote one page per log for its agent,
    // and a replay record (over ~1,000 bytes, the most a WITHOUT ROWID row keeps in place)
    // spilled to an overflow page allocated and freed per tick. A rowid table appends rows in
    // the order they are written, so the ticks of one batch share the log's last page, and
    // only the small (agent, n) key lands on the agent's page. Echo ticks across 64 agents:
    // 4,253 -> 7,166 per second (bench/README.md).
    // Owners as in steps 2, 5 and 7.
    R"sql(
CREATE TABLE outbox_v8(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(agent, seq)
);
INSERT INTO outbox_v8(agent, seq, event, at)
  SELECT agent, seq, event, at FROM outbox ORDER BY at, agent, seq;
DROP TABLE outbox;
ALTER TABLE outbox_v8 RENAME TO outbox;
CREATE TABLE trajectory_v8(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  n INTEGER NOT NULL,
  record TEXT NOT NULL,
  tick INTEGER,
  at INTEGER,
  actions INTEGER,
  ok INTEGER,
  PRIMARY KEY(agent, n)
);
INSERT INTO trajectory_v8(agent, n, record, tick, at, actions, ok)
  SELECT agent, n, record, tick, at, actions, ok FROM trajectory ORDER BY at, agent, n;
DROP TABLE trajectory;
ALTER TABLE trajectory_v8 RENAME TO trajectory;
CREATE TABLE tick_records_v8(
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  tick INTEGER NOT NULL,
  input TEXT NOT NULL,
  output TEXT NOT NULL,
  PRIMARY KEY(agent, tick)
);
INSERT INTO tick_records_v8(agent, tick, input, output)
  SELECT agent, tick, input, output FROM tick_records ORDER BY agent, tick;
DROP TABLE tick_records;
ALTER TABLE tick_records_v8 RENAME TO tick_records;
)sql",
};

}  // namespace

std::span<const std::string_view> CoreSchemaSteps() { return kSchema; }

}  // namespace agent9
