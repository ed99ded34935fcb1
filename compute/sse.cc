#include "compute/sse.h"

#include <algorithm>
#include <utility>

namespace agent9::compute {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

SseParser::SseParser(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

size_t SseParser::PendingBytes() const {
  return line_.size() + cur_.data.size() + cur_.event.size() + cur_.id.size();
}

bool SseParser::HasPartial() const { return !line_.empty() || has_data_ || !head_.empty(); }

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* out) {
  if (!failed_.ok()) return failed_;
  if (!bom_checked_) {
    // The BOM may arrive split across chunks: hold the first bytes until it is told apart.
    head_.append(bytes.substr(0, kBom.size()));
    bytes.remove_prefix(std::min(bytes.size(), kBom.size()));
    if (head_.size() < kBom.size() && kBom.substr(0, head_.size()) == head_) {
      return Status::OK();
    }
    bom_checked_ = true;
    std::string head = std::move(head_);
    head_.clear();
    std::string_view h = head;
    if (h.substr(0, kBom.size()) == kBom) h.remove_prefix(kBom.size());
    FeedLines(h, out);
    if (!failed_.ok()) return failed_;
  }
  FeedLines(bytes, out);
  return failed_;
}

Status SseParser::Feed(std::string_view bytes,
                       const std::function<bool(const SseEvent&)>& on_event) {
  std::vector<SseEvent> events;
  Status s = Feed(bytes, &events);
  for (const SseEvent& e : events) {
    if (!on_event(e)) break;
  }
  return s;
}

void SseParser::FeedLines(std::string_view bytes, std::vector<SseEvent>* out) {
  while (!bytes.empty() && failed_.ok()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      line_.append(bytes);
      if (PendingBytes() > max_event_bytes_) {
        failed_ = Status::TooLarge("SSE event over the size limit");
      }
      return;
    }
    line_.append(bytes.substr(0, end));
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (PendingBytes() > max_event_bytes_) {
      failed_ = Status::TooLarge("SSE event over the size limit");
      return;
    }
    ProcessLine(out);
  }
}

void SseParser::ProcessLine(std::vector<SseEvent>* out) {
  std::string_view l = line_;
  if (l.empty()) {
    if (has_data_) out->push_back(std::move(cur_));
    cur_ = SseEvent();
    has_data_ = false;
  } else if (l.front() != ':') {  // ':' starts a comment
    size_t colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = l.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      if (has_data_) cur_.data += '\n';
      cur_.data.append(value);
      has_data_ = true;
    } else if (field == "event") {
      cur_.event.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) cur_.id.assign(value);
    }
    // "retry" and unknown fields are ignored.
  }
  line_.clear();
}

}  // namespace agent9::compute
