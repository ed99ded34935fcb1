// MemDocStore: an in-memory DocStore for tests; documents must be JSON objects.
#pragma once

#include <map>
#include <mutex>

#include "fs/base/json.h"
#include "fs/files/files.h"

namespace agent9::testing {

class MemDocStore final : public DocStore {
 public:
  Result<std::vector<DirEntry>> List() override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<DirEntry> out;
    for (const auto& [k, v] : docs_) out.push_back(DirEntry{k, NodeType::kFile, v.size(), 0});
    return out;
  }
  Result<DirEntry> StatDoc(std::string_view name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = docs_.find(std::string(name));
    if (it == docs_.end()) return Status::NotFound("no such file", name);
    return DirEntry{it->first, NodeType::kFile, it->second.size(), 0};
  }
  Result<std::string> Get(std::string_view name) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = docs_.find(std::string(name));
    if (it == docs_.end()) return Status::NotFound("no such file", name);
    return it->second;
  }
  Status Put(std::string_view name, std::string content) override {
    AGENT9_RETURN_IF_ERROR(ParseJsonObject(content).status());
    std::lock_guard<std::mutex> l(mu_);
    docs_[std::string(name)] = std::move(content);
    return Status::OK();
  }
  Status Remove(std::string_view name) override {
    std::lock_guard<std::mutex> l(mu_);
    return docs_.erase(std::string(name)) ? Status::OK() : Status::NotFound("no such file", name);
  }
  std::unique_ptr<PrefixCheck> NewPrefixCheck(std::string_view name) override {
    JsonDocRules rules;
    rules.what = "docs/" + std::string(name);
    rules.syntax.object = true;
    return JsonDocCheck(std::make_shared<const JsonDocRules>(std::move(rules)));
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> docs_;
};

}  // namespace agent9::testing
