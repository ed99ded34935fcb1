#include "fs/base/path.h"

namespace agent9 {
namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::vector<std::string>> ParseSegments(std::string_view raw, bool url) {
  if (raw.size() > Path::kMaxPath) return Status::InvalidArgument("path too long");
  size_t i = 0;
  if (!raw.empty() && raw[0] == '/') i = 1;
  std::vector<std::string> segs;
  segs.reserve(8);
  while (i < raw.size()) {
    size_t j = raw.find('/', i);
    if (j == std::string_view::npos) j = raw.size();
    std::string_view seg = raw.substr(i, j - i);
    bool last = j == raw.size() || j + 1 == raw.size();
    if (seg.empty()) return Status::InvalidArgument("empty path segment");
    std::string name;
    if (url) {
      AGENT9_ASSIGN_OR_RETURN(name, PercentDecode(seg, false));
    } else {
      name.assign(seg);
    }
    AGENT9_RETURN_IF_ERROR(Path::ValidateName(name));
    segs.push_back(std::move(name));
    if (last) break;
    i = j + 1;
  }
  return segs;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return Status::InvalidArgument("bad percent-encoding");
      int hi = HexVal(s[i + 1]), lo = HexVal(s[i + 2]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("bad percent-encoding");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<Path> Path::Parse(std::string_view raw) {
  Path p;
  AGENT9_ASSIGN_OR_RETURN(p.segs_, ParseSegments(raw, false));
  return p;
}

Result<Path> Path::ParseUrl(std::string_view raw) {
  Path p;
  AGENT9_ASSIGN_OR_RETURN(p.segs_, ParseSegments(raw, true));
  return p;
}

Status Path::ValidateName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty name");
  if (name.size() > kMaxSegment) return Status::InvalidArgument("name too long");
  if (name == "." || name == "..") return Status::InvalidArgument("'.' and '..' are not allowed");
  for (char c : name) {
    if (c == '\0') return Status::InvalidArgument("NUL in name");
    if (c == '/') return Status::InvalidArgument("'/' in name");
  }
  return Status::OK();
}

Path Path::Parent() const {
  Path p = *this;
  if (!p.segs_.empty()) p.segs_.pop_back();
  return p;
}

const std::string& Path::Base() const { return segs_.back(); }

Path Path::Child(std::string_view name) const {
  Path p;
  p.segs_.reserve(segs_.size() + 1);
  p.segs_ = segs_;
  p.segs_.emplace_back(name);
  return p;
}

std::string Path::ToString() const {
  if (segs_.empty()) return "/";
  std::string s;
  for (const auto& seg : segs_) {
    s += '/';
    s += seg;
  }
  return s;
}

Status ValidateAgentId(std::string_view id) {
  auto bad = [&] {
    return Status::InvalidArgument("bad agent name (want [a-z0-9][a-z0-9._-]{0,62})");
  };
  if (id.empty() || id.size() > 63) return bad();
  auto first_ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!first_ok(id[0])) return bad();
  for (char c : id.substr(1)) {
    if (!first_ok(c) && c != '.' && c != '_' && c != '-') return bad();
  }
  return Status::OK();
}

}  // namespace agent9
