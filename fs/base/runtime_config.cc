#include "fs/base/runtime_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

// Header-only, with errors as values (parse_result) rather than exceptions; only this file
// includes it (Debian's shared libtomlplusplus is built for the exception ABI).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace agent9 {
namespace config_internal {

struct Doc {
  std::string path;
  toml::table root;
  std::set<const toml::node*> read;  // nodes some getter asked for
};

}  // namespace config_internal

using config_internal::Doc;

namespace {

const toml::table* AsTable(const void* p) { return static_cast<const toml::table*>(p); }
const toml::node* AsNode(const void* p) { return static_cast<const toml::node*>(p); }

std::string Located(const Doc& doc, const toml::source_region& src) {
  if (src.begin.line == 0) return doc.path;
  return doc.path + ":" + std::to_string(src.begin.line);
}

std::string Dotted(const std::string& section, std::string_view key) {
  if (section.empty()) return std::string(key);
  return section + "." + std::string(key);
}

}  // namespace

// ---- ConfigSection --------------------------------------------------------------------------

const void* ConfigSection::Find(std::string_view key) const {
  if (!table_) return nullptr;
  const toml::node* n = AsTable(table_)->get(key);
  if (n) doc_->read.insert(n);
  return n;
}

bool ConfigSection::Has(std::string_view key) const {
  return table_ && AsTable(table_)->contains(key);
}

std::string ConfigSection::Where(std::string_view key) const {
  if (!table_) return doc_ ? doc_->path : "";
  if (key.empty()) return Located(*doc_, AsTable(table_)->source());
  const toml::node* n = AsTable(table_)->get(key);
  return n ? Located(*doc_, n->source()) : Located(*doc_, AsTable(table_)->source());
}

Status ConfigSection::Bad(std::string_view key, std::string_view want) const {
  return Status::InvalidArgument(Where(key) + ": " + Dotted(name_, key) + ": " + std::string(want));
}

Result<std::string> ConfigSection::String(std::string_view key, std::string def) const {
  const toml::node* n = AsNode(Find(key));
  if (!n) return def;
  if (!n->is_string()) return Bad(key, "want a string");
  return std::string(*n->value<std::string_view>());
}

Result<int64_t> ConfigSection::Int(std::string_view key, int64_t def, int64_t min,
                                   int64_t max) const {
  const toml::node* n = AsNode(Find(key));
  if (!n) return def;
  if (!n->is_integer()) return Bad(key, "want an integer");
  int64_t v = *n->value<int64_t>();
  if (v < min || v > max) {
    return Bad(key, "want " + std::to_string(min) + ".." + std::to_string(max) + ", not " +
                        std::to_string(v));
  }
  return v;
}

Result<double> ConfigSection::Number(std::string_view key, double def, double min,
                                     double max) const {
  const toml::node* n = AsNode(Find(key));
  if (!n) return def;
  if (!n->is_number()) return Bad(key, "want a number");
  double v = *n->value<double>();
  if (!std::isfinite(v) || v < min || v > max) {
    std::ostringstream want;
    want << "want a number in " << min << ".." << max;
    return Bad(key, want.str());
  }
  return v;
}

Result<bool> ConfigSection::Bool(std::string_view key, bool def) const {
  const toml::node* n = AsNode(Find(key));
  if (!n) return def;
  if (!n->is_boolean()) return Bad(key, "want true or false");
  return *n->value<bool>();
}

Result<std::vector<std::string>> ConfigSection::Strings(std::string_view key) const {
  const toml::node* n = AsNode(Find(key));
  std::vector<std::string> out;
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) return Bad(key, "want an array of strings");
  for (const toml::node& e : *arr) {
    if (!e.is_string()) return Bad(key, "want an array of strings");
    out.emplace_back(*e.value<std::string_view>());
  }
  return out;
}

Result<std::vector<ConfigSection>> ConfigSection::Tables(std::string_view key) const {
  const toml::node* n = AsNode(Find(key));
  std::vector<ConfigSection> out;
  if (!n) return out;
  const toml::array* arr = n->as_array();
  if (!arr) return Bad(key, "want an array of tables ([[" + Dotted(name_, key) + "]])");
  size_t i = 0;
  for (const toml::node& e : *arr) {
    const toml::table* t = e.as_table();
    if (!t) return Bad(key, "want an array of tables ([[" + Dotted(name_, key) + "]])");
    doc_->read.insert(t);
    out.push_back(ConfigSection(doc_, t, Dotted(name_, key) + "[" + std::to_string(i++) + "]"));
  }
  return out;
}

Result<ConfigSection> ConfigSection::Table(std::string_view key) const {
  const toml::node* n = AsNode(Find(key));
  if (!n) return ConfigSection(doc_, nullptr, Dotted(name_, key));
  const toml::table* t = n->as_table();
  if (!t) return Bad(key, "want a table ([" + Dotted(name_, key) + "])");
  return ConfigSection(doc_, t, Dotted(name_, key));
}

// ---- RuntimeConfig --------------------------------------------------------------------------

RuntimeConfig::RuntimeConfig() : doc_(std::make_shared<Doc>()) {}

Result<RuntimeConfig> RuntimeConfig::Parse(std::string_view text, const std::string& name) {
  toml::parse_result r = toml::parse(text, name);
  if (!r) {
    const toml::parse_error& e = r.error();
    return Status::InvalidArgument(name + ":" + std::to_string(e.source().begin.line) + ":" +
                                   std::to_string(e.source().begin.column) + ": " +
                                   std::string(e.description()));
  }
  RuntimeConfig c;
  c.doc_->path = name;
  c.doc_->root = std::move(r).table();
  return c;
}

Result<RuntimeConfig> RuntimeConfig::Load(const std::string& path, bool must_exist) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    if (must_exist) return Status::InvalidArgument("cannot read the runtime config", path);
    RuntimeConfig c;
    return c;
  }
  std::ostringstream text;
  text << f.rdbuf();
  if (f.bad()) return Status::InvalidArgument("cannot read the runtime config", path);
  return Parse(text.str(), path);
}

ConfigSection RuntimeConfig::Section(std::string_view name) const {
  const toml::node* n = doc_->root.get(name);
  const toml::table* t = n ? n->as_table() : nullptr;
  if (n) doc_->read.insert(n);
  // A top-level key that is not a table stays unread if nobody asks for it as a value, and
  // CheckAllRead names it; a getter on this (absent) section returns defaults.
  if (n && !t) doc_->read.erase(n);
  return ConfigSection(doc_, t, std::string(name));
}

Status RuntimeConfig::CheckAllRead() const {
  const Doc& doc = *doc_;
  // Depth-first in file order: the first unread key is the one a person fixes first.
  std::function<Status(const toml::table&, const std::string&)> walk =
      [&](const toml::table& t, const std::string& prefix) -> Status {
    std::vector<std::pair<const toml::key*, const toml::node*>> items;
    for (const auto& [k, v] : t) items.emplace_back(&k, &v);
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.first->source().begin < b.first->source().begin;
    });
    for (const auto& [k, v] : items) {
      std::string name = Dotted(prefix, k->str());
      if (!doc.read.count(v)) {
        return Status::InvalidArgument(Located(doc, k->source()) + ": unknown key '" + name + "'");
      }
      if (const toml::table* sub = v->as_table()) {
        AGENT9_RETURN_IF_ERROR(walk(*sub, name));
      } else if (const toml::array* arr = v->as_array()) {
        size_t i = 0;
        for (const toml::node& e : *arr) {
          if (const toml::table* et = e.as_table()) {
            AGENT9_RETURN_IF_ERROR(walk(*et, name + "[" + std::to_string(i) + "]"));
          }
          ++i;
        }
      }
    }
    return Status::OK();
  };
  return walk(doc.root, "");
}

const std::string& RuntimeConfig::path() const { return doc_->path; }

}  // namespace agent9
