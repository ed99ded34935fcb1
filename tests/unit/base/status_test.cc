#include "fs/base/status.h"

#include <gtest/gtest.h>

#include <set>

namespace agent9 {
namespace {

Result<int> Half(int v) {
  if (v % 2) return Status::InvalidArgument("odd", std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v) {
  AGENT9_ASSIGN_OR_RETURN(int h, Half(v));
  AGENT9_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status Check(int v) {
  AGENT9_RETURN_IF_ERROR(Half(v).status());
  AGENT9_RETURN_IF_ERROR(Half(v + 2).status());
  return Status::OK();
}

TEST(Status, OkAndFactories) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "ok");
  Status s = Status::NotFound("agent", "bob");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "agent: bob");
  EXPECT_EQ(s.ToString(), "not_found: agent: bob");
}

TEST(Status, MacrosPropagate) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Quarter(6).status().message(), "odd: 3");
  EXPECT_TRUE(Check(4).ok());
  EXPECT_FALSE(Check(3).ok());
}

TEST(Status, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(Code::kInternal); ++c) {
    auto n = CodeName(static_cast<Code>(c));
    EXPECT_FALSE(n.empty());
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Code::kInternal) + 1);
}

}  // namespace
}  // namespace agent9
