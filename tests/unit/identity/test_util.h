// Helpers for the identity tests: locating and reading the shared conformance vectors
// (AGENT9_VECTORS_DIR). A missing file is a test failure, never a skip.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/json.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity::testing {

std::string VectorsDir();
// Whole file under the vectors dir; empty with an ADD_FAILURE when it cannot be read.
std::string ReadVectorFile(std::string_view rel);
// The parsed JSON file (null with an ADD_FAILURE on error).
Json LoadJson(std::string_view rel);
// One Json per non-empty line.
std::vector<Json> LoadJsonLines(std::string_view rel);
// Lines of generated/nostr-cases.golden-v1.jsonl with "type" == type.
std::vector<Json> GoldenCases(std::string_view type);
// Rows of a simple CSV (no quoted fields), header row included.
std::vector<std::vector<std::string>> LoadCsv(std::string_view rel);

std::vector<uint8_t> Hex(std::string_view hex);  // ADD_FAILURE on bad hex
Bytes32 Hex32(std::string_view hex);
SecretBytes SecretHex(std::string_view hex);
std::string Lower(std::string s);

}  // namespace agent9::identity::testing
