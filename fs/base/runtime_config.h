// RuntimeConfig: the daemon's TOML runtime configuration (`agent9 serve --config FILE`, by
// default <data dir>/agent9.toml; docs/CONFIG.md). Parsed once with toml++; each module reads
// its own section through typed getters that name the file, line and key in every error, and
// remember what they read, so that once every module has read its part CheckAllRead() can
// refuse the start on the first key nobody knows. Secrets are never in the file: only the
// names of environment variables or files that hold them.
// Thread-safety: a RuntimeConfig and its sections are read during start-up by one thread;
// after that they are immutable and may be read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/status.h"

namespace agent9 {

namespace config_internal {
struct Doc;
struct NodeRef;
}  // namespace config_internal

// One table of the configuration: `[identity]`, or one `[[compute.providers]]` entry.
// An absent section behaves as an empty one: every getter returns its default.
class ConfigSection {
 public:
  // Absent keys give def; a value of the wrong type or out of range is kInvalidArgument with
  // "FILE:LINE: KEY: <what was wanted>".
  Result<std::string> String(std::string_view key, std::string def = "") const;
  Result<int64_t> Int(std::string_view key, int64_t def, int64_t min, int64_t max) const;
  Result<double> Number(std::string_view key, double def, double min, double max) const;
  Result<bool> Bool(std::string_view key, bool def) const;
  // An array of strings (absent: empty).
  Result<std::vector<std::string>> Strings(std::string_view key) const;
  // An array of tables (`[[section.key]]`; absent: empty).
  Result<std::vector<ConfigSection>> Tables(std::string_view key) const;
  // A sub-table (`[section.key]`; absent: an empty section).
  Result<ConfigSection> Table(std::string_view key) const;
  bool Has(std::string_view key) const;
  // "FILE:LINE" of key (or of the section when key is empty), for messages of the caller's own
  // checks; "FILE" when unknown.
  std::string Where(std::string_view key = {}) const;
  // The dotted name of this section ("identity", "compute.providers[0]").
  const std::string& name() const { return name_; }

 private:
  friend class RuntimeConfig;
  ConfigSection(std::shared_ptr<config_internal::Doc> doc, const void* table, std::string name)
      : doc_(std::move(doc)), table_(table), name_(std::move(name)) {}
  // The value at key, marking it read; nullptr when absent.
  const void* Find(std::string_view key) const;
  Status Bad(std::string_view key, std::string_view want) const;

  std::shared_ptr<config_internal::Doc> doc_;
  const void* table_ = nullptr;  // toml::table*, or nullptr for an absent section
  std::string name_;
};

class RuntimeConfig {
 public:
  // An empty configuration (no file).
  RuntimeConfig();
  // Parses path. A missing file is OK (an empty configuration) unless must_exist; a syntax
  // error is kInvalidArgument "FILE:LINE:COLUMN: <parser message>".
  static Result<RuntimeConfig> Load(const std::string& path, bool must_exist);
  // Parses text (tests); name stands for the file in messages.
  static Result<RuntimeConfig> Parse(std::string_view text, const std::string& name);

  // The top-level table `[name]`; absent → an empty section. Marks the section as known.
  ConfigSection Section(std::string_view name) const;
  // kInvalidArgument "FILE:LINE: unknown key 'a.b'" for the first key (in file order) that no
  // getter read; call once every module has read its section.
  Status CheckAllRead() const;
  // The file the configuration came from ("" for an empty one).
  const std::string& path() const;

 private:
  std::shared_ptr<config_internal::Doc> doc_;
};

}  // namespace agent9
