// Status and Result<T>: the one error model of agent9 (DESIGN section 6).
// A Status is a code plus a human-readable message; OK carries no message. Domain code returns
// Status/Result and never picks errno or HTTP codes: fs/fuse/errno_map.cc and
// controlplane/http/status_map.cc are the only two places that map a Code.
// Thread-safety: values; const methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace agent9 {

enum class Code : uint8_t {
  kOk,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kPermissionDenied,
  kUnauthenticated,
  kBudgetExceeded,
  kResourceExhausted,  // queue full, rate limited
  kAborted,            // busy / conflict
  kTooLarge,
  kIsDirectory,
  kNotDirectory,
  kUnimplemented,
  kUnavailable,
  kDeadlineExceeded,
  kInternal,
};

// Stable snake_case name of a code, used in HTTP error bodies and `error <code>:` reads.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kNotFound, what, detail);
  }
  static Status AlreadyExists(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kAlreadyExists, what, detail);
  }
  static Status InvalidArgument(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kInvalidArgument, what, detail);
  }
  static Status PermissionDenied(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kPermissionDenied, what, detail);
  }
  static Status Unauthenticated(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kUnauthenticated, what, detail);
  }
  static Status ResourceExhausted(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kResourceExhausted, what, detail);
  }
  static Status Aborted(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kAborted, what, detail);
  }
  static Status TooLarge(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kTooLarge, what, detail);
  }
  static Status IsDirectory(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kIsDirectory, what, detail);
  }
  static Status NotDirectory(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kNotDirectory, what, detail);
  }
  static Status Unimplemented(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kUnimplemented, what, detail);
  }
  static Status Unavailable(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kUnavailable, what, detail);
  }
  static Status Internal(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kInternal, what, detail);
  }
  static Status BudgetExceeded(std::string_view what, std::string_view detail = {}) {
    return Make(Code::kBudgetExceeded, what, detail);
  }

  // Named integers a transport may add to the error it reports (HTTP: fields of the JSON
  // error body, e.g. a 402's "remaining_usd"). Returns *this for chaining.
  Status& WithField(std::string name, int64_t value) {
    auto f = fields_ ? std::make_shared<Fields>(*fields_) : std::make_shared<Fields>();
    f->emplace_back(std::move(name), value);
    fields_ = std::move(f);
    return *this;
  }
  using Fields = std::vector<std::pair<std::string, int64_t>>;
  // Empty when none were added.
  const Fields& fields() const {
    static const Fields kNone;
    return fields_ ? *fields_ : kNone;
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  // "not_found: agent: bob" style; "ok" for OK.
  std::string ToString() const;

  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }

 private:
  static Status Make(Code code, std::string_view what, std::string_view detail) {
    std::string m(what);
    if (!detail.empty()) {
      m += ": ";
      m += detail;
    }
    return Status(code, std::move(m));
  }
  Code code_ = Code::kOk;
  std::string msg_;
  std::shared_ptr<const Fields> fields_;  // shared: copying a Status stays cheap
};

// Holds either a T or a non-OK Status (std::expected is C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  // A Result never holds an OK Status: that is a bug at the call site, made loud here.
  Result(Status status)  // NOLINT: implicit by design
      : v_(status.ok() ? Status(Code::kInternal, "Result built from an OK status")
                       : std::move(status)) {}

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

#define AGENT9_CONCAT_INNER_(a, b) a##b
#define AGENT9_CONCAT_(a, b) AGENT9_CONCAT_INNER_(a, b)

#define AGENT9_RETURN_IF_ERROR_IMPL_(tmp, expr) \
  do {                                          \
    ::agent9::Status tmp = (expr);              \
    if (!tmp.ok()) return tmp;                  \
  } while (0)
#define AGENT9_RETURN_IF_ERROR(expr) \
  AGENT9_RETURN_IF_ERROR_IMPL_(AGENT9_CONCAT_(agent9_st_, __COUNTER__), expr)

#define AGENT9_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#define AGENT9_ASSIGN_OR_RETURN(lhs, expr) \
  AGENT9_ASSIGN_OR_RETURN_IMPL_(AGENT9_CONCAT_(agent9_r_, __COUNTER__), lhs, expr)

}  // namespace agent9
