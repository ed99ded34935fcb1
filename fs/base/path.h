// Path: a validated, normalized file path inside the FileService tree, parsed once at the
// edge (FUSE names, HTTP URLs, CLI arguments). Past the edge, code passes Path values or
// resolved Nodes, never raw strings.
// Rules: no "." or ".." segments, no empty segments (one leading and one trailing slash are
// tolerated), no NUL, no '/' inside a segment (percent-encoded slashes included), at most
// kMaxSegment bytes a segment and kMaxPath bytes in all.
// Thread-safety: value type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fs/base/status.h"

namespace agent9 {

class Path {
 public:
  static constexpr size_t kMaxSegment = 255;
  static constexpr size_t kMaxPath = 4096;

  Path() = default;  // the root

  // Parses a decoded path such as "/agents/alice/status".
  static Result<Path> Parse(std::string_view raw);
  // Parses a percent-encoded URL path; "%2F", "%00" and "%2e%2e" are rejected.
  static Result<Path> ParseUrl(std::string_view raw);
  // Checks one name (a FUSE lookup/create/mkdir argument).
  static Status ValidateName(std::string_view name);

  const std::vector<std::string>& segments() const { return segs_; }
  bool empty() const { return segs_.empty(); }
  size_t size() const { return segs_.size(); }
  const std::string& operator[](size_t i) const { return segs_[i]; }
  // All but the last segment; the root's parent is the root.
  Path Parent() const;
  const std::string& Base() const;          // requires !empty()
  Path Child(std::string_view name) const;  // name must already be valid
  std::string ToString() const;             // "/a/b"; "/" for the root

  bool operator==(const Path&) const = default;

 private:
  std::vector<std::string> segs_;
};

// Strict %XX decoding; '+' is a space only when plus_is_space (query strings).
// kInvalidArgument on a truncated or non-hex escape.
Result<std::string> PercentDecode(std::string_view s, bool plus_is_space = false);

// Agent names: [a-z0-9][a-z0-9._-]{0,62}.
Status ValidateAgentId(std::string_view id);

}  // namespace agent9
