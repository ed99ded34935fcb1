#include "controlplane/http/status_map.h"

#include "fs/base/json.h"

namespace agent9 {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
      return 409;
    case Code::kInvalidArgument:
      return 400;
    case Code::kPermissionDenied:
      return 403;
    case Code::kUnauthenticated:
      return 401;
    case Code::kBudgetExceeded:
      return 402;
    case Code::kResourceExhausted:
      return 429;
    case Code::kAborted:
      return 409;
    case Code::kTooLarge:
      return 413;
    case Code::kIsDirectory:
      return 400;
    case Code::kNotDirectory:
      return 400;
    case Code::kUnimplemented:
      return 501;
    case Code::kUnavailable:
      return 503;
    case Code::kDeadlineExceeded:
      return 504;
    case Code::kInternal:
      return 500;
  }
  return 500;  // unreachable for valid enumerators
}

std::string ErrorBody(const Status& status) {
  Json j = {{"error", std::string(CodeName(status.code()))}, {"message", status.message()}};
  for (const auto& [name, value] : status.fields()) j[name] = value;
  return DumpJson(j) + "\n";
}

}  // namespace agent9
