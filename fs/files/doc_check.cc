#include "fs/files/doc_check.h"

namespace agent9 {
namespace {

class WholeDoc final : public PrefixCheck {
 public:
  explicit WholeDoc(std::function<Status(std::string_view)> fn) : fn_(std::move(fn)) {}
  Status Check(std::string_view doc, size_t) override { return fn_(doc); }

 private:
  std::function<Status(std::string_view)> fn_;
};

std::string SizeText(size_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes >> 10) + " KiB";
}

class JsonDoc final : public PrefixCheck {
 public:
  explicit JsonDoc(std::shared_ptr<const JsonDocRules> rules)
      : rules_(std::move(rules)), parser_(rules_->syntax) {}

  Status Check(std::string_view doc, size_t kept) override {
    if (doc.size() > rules_->max_bytes) {
      return Status::TooLarge(rules_->what + " over " + SizeText(rules_->max_bytes));
    }
    if (kept < parser_.fed()) {  // rewritten behind what was read: read it again
      parser_ = JsonPrefix(rules_->syntax);
      validated_ = 0;
    }
    if (!parser_.Feed(doc.substr(parser_.fed()))) {
      return Status::InvalidArgument(rules_->what + ": " +
                                     parser_.ErrorMessage(doc, rules_->excerpt));
    }
    if (!rules_->validate || rules_->syntax.lines || !parser_.complete()) return Status::OK();
    // Whole: judge its content now, where `echo` sees the error, and again only when more
    // than whitespace arrives (a top-level number can still grow).
    size_t end = doc.find_last_not_of(" \t\r\n") + 1;
    if (end == validated_) return Status::OK();
    validated_ = end;
    AGENT9_ASSIGN_OR_RETURN(Json j, ParseJson(doc, rules_->what, rules_->syntax.max_depth));
    return rules_->validate(j);
  }

  Status Finish(std::string_view doc, size_t kept) override {
    AGENT9_RETURN_IF_ERROR(Check(doc, kept));
    if (parser_.complete()) return Status::OK();
    return Status::InvalidArgument(rules_->what + ": " +
                                   parser_.IncompleteMessage(doc, rules_->excerpt));
  }

 private:
  std::shared_ptr<const JsonDocRules> rules_;
  JsonPrefix parser_;
  size_t validated_ = 0;  // where the document judged last ended (0: none)
};

}  // namespace

std::unique_ptr<PrefixCheck> WholeDocCheck(std::function<Status(std::string_view)> fn) {
  return std::make_unique<WholeDoc>(std::move(fn));
}

std::unique_ptr<PrefixCheck> JsonDocCheck(std::shared_ptr<const JsonDocRules> rules) {
  return std::make_unique<JsonDoc>(std::move(rules));
}

PrefixCheckFn JsonDocChecks(JsonDocRules rules) {
  auto shared = std::make_shared<const JsonDocRules>(std::move(rules));
  return [shared] { return JsonDocCheck(shared); };
}

}  // namespace agent9
