#include "fs/base/status.h"

namespace agent9 {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kBudgetExceeded:
      return "budget_exceeded";
    case Code::kResourceExhausted:
      return "resource_exhausted";
    case Code::kAborted:
      return "conflict";
    case Code::kTooLarge:
      return "too_large";
    case Code::kIsDirectory:
      return "is_directory";
    case Code::kNotDirectory:
      return "not_directory";
    case Code::kUnimplemented:
      return "not_supported";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kDeadlineExceeded:
      return "deadline_exceeded";
    case Code::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(CodeName(code_));
  if (!msg_.empty()) {
    s += ": ";
    s += msg_;
  }
  return s;
}

}  // namespace agent9
