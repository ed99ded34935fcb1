// Agent bundles (DESIGN section 8): one agent as a tar file, behind `memory/export`,
// GET /v1/agents/{id}/export and POST /v1/agents/import. ExportAgent reads the agent in one
// read transaction, so a bundle is a consistent snapshot; ImportAgent treats the bundle as
// hostile input, validates all of it first and writes the agent in one write transaction, so
// a bad bundle leaves nothing behind. A bundle never holds a token, nor a secret key unless
// the admin asks for it encrypted under a passphrase.
// Thread-safety: free functions over the (thread-safe) AgentService.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fs/base/status.h"
#include "tick/agents.h"

namespace agent9 {

// The bundle layout version ExportAgent writes and ImportAgent reads (manifest "format").
inline constexpr int64_t kBundleFormat = 1;
// The largest bundle either side handles; also the import request body limit over HTTP.
inline constexpr size_t kMaxBundleBytes = size_t{64} << 20;

// restore: the agent keeps its id (kAlreadyExists when it exists). clone: a new id.
enum class ImportMode : uint8_t { kRestore, kClone };

// "restore" | "clone"; anything else is kInvalidArgument.
Result<ImportMode> ParseImportMode(std::string_view mode);
std::string_view ImportModeName(ImportMode mode);

// The tar bundle of agent `id`: manifest.json, config.json, state.json, goals/,
// memory/conversations/, memory/patterns/, inbox.jsonl, events.jsonl, deadletter.jsonl,
// outbox.jsonl, trajectory.jsonl, alarms.json (docs/FILESYSTEM.md describes each).
// Each module adds its manifest fields and files (fs/module.h): the identity module adds the
// pubkey and, when req.key_passphrase is set, key.ncryptsec.
// kNotFound; kTooLarge when the bundle would exceed kMaxBundleBytes (it could not be
// imported).
Result<std::string> ExportAgent(const AgentService& agents, std::string_view id,
                                const ExportRequest& req = {});

// Creates an agent from a bundle and returns its id. restore: the bundle's id; clone: new_id
// when given, else "<old id>-<6 hex>". new_id with restore is kInvalidArgument. The agent
// keeps its lifecycle state, queues (in order), alarms, documents and trajectory; the init
// tick is not run again. Calls agents.NotifyEnqueued after the commit. Errors:
// kInvalidArgument (not a tar, a bad entry, a bad document: the message names the entry),
// kTooLarge (the bundle or one entry over its limit), kAlreadyExists. Modules check their own
// entries (a key in key.ncryptsec needs key_passphrase) before anything is written.
Result<std::string> ImportAgent(AgentService& agents, std::string_view tar, ImportMode mode,
                                std::optional<std::string> new_id = std::nullopt,
                                const std::string& key_passphrase = "");

}  // namespace agent9
