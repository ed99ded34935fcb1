// The agent's queue directories (DESIGN section 4): inbox/ (a created file becomes a message
// when closed), outbox/ (emitted events and their stream) and deadletter/ (with its ctl),
// over AgentService's inbox, outbox and deadletter methods.
#include <cstdint>
#include <cstring>

#include "fs/base/clock.h"
#include "fs/base/numbers.h"
#include "tick/agent_files_internal.h"
#include "tick/envelope.h"

namespace agent9 {
namespace {

using Deps = std::shared_ptr<const AgentTreeDeps>;

// Parses "<seq>.json" (seq a positive decimal integer).
std::optional<int64_t> ParseSeqName(std::string_view name) {
  constexpr std::string_view kSfx = ".json";
  if (name.size() <= kSfx.size() || name.substr(name.size() - kSfx.size()) != kSfx) return {};
  return ParseDecimal(name.substr(0, name.size() - kSfx.size()), 1, INT64_MAX);
}

std::string SeqName(int64_t seq) { return std::to_string(seq) + ".json"; }

// ---- inbox/ -----------------------------------------------------------------------------

// A file created in inbox/: the bytes written become one message when the file is closed.
// close(2) flushes every dup of the descriptor, so a flush with nothing new written is a
// no-op, and bytes written after a flush become a further message at the next one.
class EnqueueHandle final : public Handle {
 public:
  EnqueueHandle(AgentService* agents, std::string agent, std::string from)
      : agents_(agents), agent_(std::move(agent)), from_(std::move(from)) {}
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    return ReadAt(receipt_, offset, out);
  }
  Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) override {
    uint64_t at = offset >= base_ ? offset - base_ : 0;
    if (at + in.size() > kMaxMessageBytes) return Status::TooLarge("message over 256 KiB");
    if (buf_.size() < at + in.size()) buf_.resize(at + in.size());
    std::memcpy(buf_.data() + at, in.data(), in.size());
    pending_ = true;
    return in.size();
  }
  Status Flush() override {
    if (!pending_) return Status::OK();
    pending_ = false;
    base_ += buf_.size();
    std::string msg = std::exchange(buf_, {});
    AGENT9_ASSIGN_OR_RETURN(EnqueueResult r, agents_->Enqueue(agent_, msg, from_));
    receipt_ = DumpJson(Json{{"id", r.id}, {"seq", r.seq}}) + "\n";
    return Status::OK();
  }

 private:
  AgentService* agents_;
  std::string agent_;
  std::string from_;
  std::string buf_;
  uint64_t base_ = 0;  // file offset of buf_[0]
  std::string receipt_;
  bool pending_ = false;
};

class InboxDir final : public Node {
 public:
  InboxDir(NodeId id, const std::string& agent, Deps deps)
      : Node(id, agent, Access{Who::kOwner, Who::kNobody, Who::kOwner, Who::kAdmin}),
        deps_(std::move(deps)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto msgs, deps_->agents->ListInbox(owner()));
    std::vector<DirEntry> out;
    out.reserve(msgs.size());
    for (const auto& m : msgs) {
      out.push_back(DirEntry{SeqName(m.seq), NodeType::kFile, m.envelope.size() + 1, m.ts});
    }
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such message", name);
    AGENT9_ASSIGN_OR_RETURN(QueuedMessage m, deps_->agents->GetInbox(owner(), *seq));
    (void)m;
    AgentService* agents = deps_->agents;
    std::string agent = owner();
    int64_t s = *seq;
    return Snapshot(ChildId(id(), name), owner(), kOwnerRead,
                    [agents, agent, s]() -> Result<std::string> {
                      AGENT9_ASSIGN_OR_RETURN(QueuedMessage msg, agents->GetInbox(agent, s));
                      return msg.envelope + "\n";
                    });
  }
  Result<std::unique_ptr<Handle>> Create(std::string_view, const Caller& who) override {
    return std::unique_ptr<Handle>(
        std::make_unique<EnqueueHandle>(deps_->agents, owner(), SenderName(who)));
  }
  Status Remove(std::string_view name, const Caller&) override {
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such message", name);
    return deps_->agents->DropInbox(owner(), *seq);
  }

 private:
  Deps deps_;
};

// ---- deadletter/ ------------------------------------------------------------------------

Result<std::string> DeadletterDoc(AgentService* agents, const std::string& agent, int64_t seq) {
  AGENT9_ASSIGN_OR_RETURN(DeadLetter d, agents->GetDeadletter(agent, seq));
  auto env = ParseJson(d.envelope);
  Json j = env.ok() && env->is_object() ? *env : Json{{"envelope", d.envelope}};
  j["seq"] = d.seq;
  j["reason"] = d.reason;
  j["attempts"] = d.attempts;
  j["failed_at"] = Rfc3339(d.at);
  return PrettyJson(j);
}

Result<int64_t> ParseSeqArg(const std::string& arg) {
  if (arg == "all") return int64_t{-1};
  auto v = ParseDecimal(arg, 1, INT64_MAX);
  if (!v) return Status::InvalidArgument("want a message seq or 'all'", arg);
  return *v;
}

std::shared_ptr<Node> DeadletterCtl(NodeId id, const std::string& agent, AgentService* agents) {
  auto table = std::make_shared<std::vector<CtlCommand>>();
  table->push_back(CtlCommand{"replay", 1, 1, "replay <seq>|all",
                              [agents, agent](const Caller&, const std::vector<std::string>& a) {
                                AGENT9_ASSIGN_OR_RETURN(int64_t seq, ParseSeqArg(a[0]));
                                return agents->ReplayDeadletter(agent, seq).status();
                              }});
  table->push_back(CtlCommand{"discard", 1, 1, "discard <seq>|all",
                              [agents, agent](const Caller&, const std::vector<std::string>& a) {
                                AGENT9_ASSIGN_OR_RETURN(int64_t seq, ParseSeqArg(a[0]));
                                return agents->DiscardDeadletter(agent, seq).status();
                              }});
  return std::make_shared<CtlFile>(
      id, agent, Access{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody}, std::move(table));
}

class DeadletterDir final : public Node {
 public:
  DeadletterDir(NodeId id, const std::string& agent, Deps deps)
      : Node(id, agent, Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kAdmin}),
        deps_(std::move(deps)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto dead, deps_->agents->ListDeadletter(owner()));
    std::vector<DirEntry> out{DirEntry{"ctl", NodeType::kFile, 0, 0}};
    for (const auto& d : dead) out.push_back(DirEntry{SeqName(d.seq), NodeType::kFile, 0, d.at});
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (name == "ctl") return DeadletterCtl(ChildId(id(), name), owner(), deps_->agents);
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such dead letter", name);
    AGENT9_ASSIGN_OR_RETURN(DeadLetter d, deps_->agents->GetDeadletter(owner(), *seq));
    (void)d;
    AgentService* agents = deps_->agents;
    std::string agent = owner();
    int64_t s = *seq;
    return Snapshot(ChildId(id(), name), owner(), kOwnerRead,
                    [agents, agent, s] { return DeadletterDoc(agents, agent, s); });
  }
  Status Remove(std::string_view name, const Caller&) override {
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such dead letter", name);
    return deps_->agents->DiscardDeadletter(owner(), *seq).status();
  }

 private:
  Deps deps_;
};

// ---- outbox/ ----------------------------------------------------------------------------

// outbox/: emitted events as <seq>.json, and `stream` (new events, NDJSON).
class OutboxDir final : public Node {
 public:
  OutboxDir(NodeId id, const std::string& agent, Deps deps)
      : Node(id, agent, Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody}),
        deps_(std::move(deps)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto events, deps_->agents->ListOutbox(owner()));
    std::vector<DirEntry> out{DirEntry{"stream", NodeType::kFile, 0, 0}};
    for (const auto& [seq, ev, at] : events) {
      out.push_back(DirEntry{SeqName(seq), NodeType::kFile, ev.size() + 1, at});
    }
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (name == "stream") {
      auto stream = deps_->outbox ? deps_->outbox->Get(owner()) : std::make_shared<Stream>();
      return std::shared_ptr<Node>(
          std::make_shared<StreamFile>(ChildId(id(), name), owner(), kOwnerRead, stream));
    }
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such event", name);
    AGENT9_ASSIGN_OR_RETURN(std::string ev, deps_->agents->GetOutbox(owner(), *seq));
    (void)ev;
    AgentService* agents = deps_->agents;
    std::string agent = owner();
    int64_t s = *seq;
    return Snapshot(ChildId(id(), name), owner(), kOwnerRead,
                    [agents, agent, s]() -> Result<std::string> {
                      AGENT9_ASSIGN_OR_RETURN(std::string e, agents->GetOutbox(agent, s));
                      return e + "\n";
                    });
  }

 private:
  Deps deps_;
};

}  // namespace

std::shared_ptr<Node> MakeInboxDir(NodeId id, const std::string& agent, Deps deps) {
  return std::make_shared<InboxDir>(id, agent, std::move(deps));
}

std::shared_ptr<Node> MakeOutboxDir(NodeId id, const std::string& agent, Deps deps) {
  return std::make_shared<OutboxDir>(id, agent, std::move(deps));
}

std::shared_ptr<Node> MakeDeadletterDir(NodeId id, const std::string& agent, Deps deps) {
  return std::make_shared<DeadletterDir>(id, agent, std::move(deps));
}

}  // namespace agent9
