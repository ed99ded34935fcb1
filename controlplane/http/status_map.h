// The one place a Status becomes an HTTP response status (DESIGN section 6, STYLE 2.2).
// HttpStatusFor is a switch over every Code with no default, built with -Werror=switch, so a
// new Code does not compile until it is mapped here. ErrorBody renders the JSON error
// document every failed request answers with.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "fs/base/status.h"

namespace agent9 {

// 200 for kOk; the HTTP status for every error code.
int HttpStatusFor(Code code);

// {"error":"<CodeName(code)>","message":"<text>"} followed by a newline.
std::string ErrorBody(const Status& status);

}  // namespace agent9
