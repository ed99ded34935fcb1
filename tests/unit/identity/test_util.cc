#include "tests/unit/identity/test_util.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace agent9::identity::testing {
namespace {

// libsodium must be initialised once before any test, as main() does in the daemon.
class SodiumEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_GE(sodium_init(), 0) << "sodium_init failed"; }
};
[[maybe_unused]] ::testing::Environment* const kSodiumEnv =
    ::testing::AddGlobalTestEnvironment(new SodiumEnvironment);

}  // namespace

std::string VectorsDir() { return AGENT9_VECTORS_DIR; }

std::string ReadVectorFile(std::string_view rel) {
  std::string path = VectorsDir() + "/" + std::string(rel);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read vector file " << path;
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json LoadJson(std::string_view rel) {
  std::string text = ReadVectorFile(rel);
  auto j = ParseJson(text, rel);
  if (!j.ok()) {
    ADD_FAILURE() << j.status().ToString();
    return Json();
  }
  return *j;
}

std::vector<Json> LoadJsonLines(std::string_view rel) {
  std::vector<Json> out;
  std::istringstream in(ReadVectorFile(rel));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = ParseJson(line, rel);
    if (!j.ok()) {
      ADD_FAILURE() << j.status().ToString();
      continue;
    }
    out.push_back(std::move(*j));
  }
  return out;
}

std::vector<Json> GoldenCases(std::string_view type) {
  std::vector<Json> out;
  for (Json& j : LoadJsonLines("generated/nostr-cases.golden-v1.jsonl")) {
    if (j.value("type", "") == type) out.push_back(std::move(j));
  }
  return out;
}

std::vector<std::vector<std::string>> LoadCsv(std::string_view rel) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(ReadVectorFile(rel));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> row;
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      row.push_back(line.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<uint8_t> Hex(std::string_view hex) {
  auto v = HexDecode(hex);
  if (!v.ok()) {
    ADD_FAILURE() << "bad hex in test data: " << hex;
    return {};
  }
  return *v;
}

Bytes32 Hex32(std::string_view hex) {
  Bytes32 out{};
  std::vector<uint8_t> v = Hex(hex);
  if (v.size() != 32) {
    ADD_FAILURE() << "expected 32 bytes of hex: " << hex;
    return out;
  }
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

SecretBytes SecretHex(std::string_view hex) { return SecretBytes::Copy(Hex(hex)); }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TEST(VectorsTest, DirectoryExists) {
  EXPECT_TRUE(std::filesystem::is_directory(VectorsDir()))
      << "conformance vectors not found at " << VectorsDir();
  EXPECT_TRUE(std::filesystem::exists(VectorsDir() + "/MANIFEST.json"));
}

}  // namespace agent9::identity::testing
