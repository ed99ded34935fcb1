#include "containers/daytona_sandbox.h"

#include <algorithm>
#include <utility>

namespace agent9::containers {

namespace {

int64_t MsBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

const char* WhyName(int why) { return why == 2 ? "killed" : "stopped"; }

FileEntry EntryFrom(const Json& j) {
  FileEntry e;
  if (!j.is_object()) return e;
  e.name = j.value("name", std::string());
  e.dir = j.value("isDir", false);
  if (auto s = j.find("size"); s != j.end() && s->is_number()) e.size = s->get<int64_t>();
  if (auto m = j.find("modTime"); m != j.end() && m->is_string()) {
    e.mtime_ms = ParseModTime(m->get<std::string>());
  }
  return e;
}

// One command run in a live sandbox (exec/new), on its own thread.
class DaytonaProcess final : public Process {
 public:
  DaytonaProcess(std::shared_ptr<ExecCancel> cancel, std::thread thread, std::shared_ptr<Exit> exit)
      : cancel_(std::move(cancel)), thread_(std::move(thread)), exit_(std::move(exit)) {}
  ~DaytonaProcess() override {
    if (thread_.joinable()) {
      cancel_->Set(2);
      thread_.join();
    }
  }
  Exit Wait() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_.joinable()) thread_.join();
    return *exit_;
  }
  // Abandons the call: the toolbox API cannot signal a running command, so the remote
  // process runs on until its timeout or the sandbox's delete.
  void Kill() override { cancel_->Set(2); }

 private:
  std::mutex mu_;
  std::shared_ptr<ExecCancel> cancel_;
  std::thread thread_;
  std::shared_ptr<Exit> exit_;
};

}  // namespace

ExecOutcome RunRemote(const DaytonaProvider::Api& api, const std::string& rid,
                      const std::string& workdir, const std::string& command,
                      SteadyClock::time_point deadline, int64_t output_bytes,
                      const OutputFn& on_output, const ExecCancel& cancel) {
  ExecOutcome out;
  auto t0 = SteadyClock::now();
  int64_t left_ms = MsBetween(t0, deadline);
  if (left_ms <= 0) {
    out.exit.reason = "wall_time";
    return out;
  }
  // The toolbox's timeout is whole seconds (and 10 s when absent); the HTTP call gets more
  // so that the server's timeout answers first.
  Json body = {{"command", command}, {"cwd", workdir}, {"timeout", (left_ms + 999) / 1000}};
  ApiRequest req;
  req.method = "POST";
  req.path = "/toolbox/" + rid + "/toolbox/process/execute";
  req.body = DumpJson(body);
  req.timeout_ms = left_ms + 15000;
  req.cancel = &cancel.cancel;
  auto r = api.SendJson(req);
  out.exit.usage.wall_ms = MsBetween(t0, SteadyClock::now());
  if (cancel.cancel) {
    out.exit.reason = WhyName(cancel.why);
    return out;
  }
  if (!r.ok()) {
    if (r.status().code() == Code::kDeadlineExceeded) {
      out.exit.reason = "wall_time";
    } else {
      out.exit.reason = "sandbox failed: " + r.status().message();
    }
    return out;
  }
  if (auto c = r->find("exitCode"); r->is_object() && c != r->end() && c->is_number_integer()) {
    out.exit.exit_code = c->get<int>();
  }
  if (auto res = r->find("result"); r->is_object() && res != r->end() && res->is_string()) {
    out.output = res->get<std::string>();
  }
  out.exit.usage.output_bytes = static_cast<int64_t>(out.output.size());
  if (output_bytes > 0 && static_cast<int64_t>(out.output.size()) > output_bytes) {
    out.output.resize(static_cast<size_t>(output_bytes));
    out.exit.reason = "output_bytes";
  }
  // Output arrives whole when the command ends: stdout and stderr combined, as Daytona
  // returns them.
  if (!out.output.empty() && on_output) on_output("stdout", out.output);
  return out;
}

DaytonaSandbox::DaytonaSandbox(std::shared_ptr<const DaytonaProvider::Api> api, std::string rid,
                               SandboxSpec spec, OutputFn on_output)
    : api_(std::move(api)),
      rid_(std::move(rid)),
      spec_(std::move(spec)),
      on_output_(std::move(on_output)),
      started_(SteadyClock::now()),
      deadline_(started_ + std::chrono::milliseconds(spec_.limits.wall_ms)) {}

DaytonaSandbox::~DaytonaSandbox() {
  if (!waited_ && runner_.joinable()) {
    Stop(true);
    (void)Wait();
  }
}

void DaytonaSandbox::Run() {
  runner_ = std::thread([this] { Session(); });
}

void DaytonaSandbox::Session() {
  Exit e;
  if (!spec_.command.empty()) {
    auto cmd = ShellCommand({}, spec_.command);
    if (!cmd.ok()) {
      e.reason = "sandbox failed: " + cmd.status().message();
    } else {
      ExecOutcome o = RunRemote(*api_, rid_, spec_.workdir, *cmd, deadline_,
                                spec_.limits.output_bytes, on_output_, session_cancel_);
      e = o.exit;
    }
  } else if (!spec_.interactive) {
    e.exit_code = 0;
  }
  if (spec_.interactive && e.reason.empty()) {
    std::unique_lock<std::mutex> lock(mu_);
    bool stopped = cv_.wait_until(lock, deadline_, [this] { return stopping_; });
    if (!stopped) e.reason = "wall_time";
    if (stopped) e.reason = WhyName(session_cancel_.why);
  }
  exit_ = std::move(e);
}

Exit DaytonaSandbox::Wait() {
  if (runner_.joinable()) runner_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ending_ = true;
    for (auto& c : exec_cancels_) c->Set(1);
  }
  if (stopper_.joinable()) stopper_.join();
  Status st = Delete();
  waited_ = true;
  Exit e = exit_;
  // Whatever the API cannot tell stays 0: it reports no CPU time or memory peak.
  e.usage.cpu_ms = 0;
  e.usage.memory_peak_bytes = 0;
  e.usage.wall_ms = MsBetween(started_, SteadyClock::now());
  if (!st.ok() && e.reason.empty()) e.reason = "sandbox failed: delete: " + st.message();
  return e;
}

void DaytonaSandbox::Stop(bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  stopping_ = true;
  session_cancel_.Set(force ? 2 : 1);
  for (auto& c : exec_cancels_) c->Set(1);
  cv_.notify_all();
  // Deleting the sandbox is how Daytona ends its processes; off this thread, since Stop
  // returns at once. Once Wait is past the session it deletes by itself.
  if (!ending_) stopper_ = std::thread([this] { (void)Delete(); });
}

Status DaytonaSandbox::Delete() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (deleted_) return delete_status_;
    deleted_ = true;
  }
  ApiRequest req;
  req.method = "DELETE";
  req.path = "/sandbox/" + rid_;
  Status st = api_->Send(req).status();
  if (st.code() == Code::kNotFound) st = Status::OK();
  std::lock_guard<std::mutex> lock(mu_);
  delete_status_ = st;
  return st;
}

Status DaytonaSandbox::Live() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || ending_ || deleted_) return Status::Unavailable("the session ended");
  return Status::OK();
}

Result<std::unique_ptr<Process>> DaytonaSandbox::Exec(const std::string& command,
                                                      const std::map<std::string, std::string>& env,
                                                      OutputFn on_output) {
  if (!spec_.interactive) return Status::Unavailable("the session is not interactive");
  AGENT9_ASSIGN_OR_RETURN(std::string cmd, ShellCommand(env, command));
  auto cancel = std::make_shared<ExecCancel>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || ending_ || deleted_) return Status::Unavailable("the session ended");
    exec_cancels_.push_back(cancel);
  }
  auto exit = std::make_shared<Exit>();
  std::thread t([api = api_, rid = rid_, workdir = spec_.workdir, cmd = std::move(cmd),
                 deadline = deadline_, out_bytes = spec_.limits.output_bytes,
                 on_output = std::move(on_output), cancel, exit] {
    *exit = RunRemote(*api, rid, workdir, cmd, deadline, out_bytes, on_output, *cancel).exit;
  });
  return std::unique_ptr<Process>(
      std::make_unique<DaytonaProcess>(std::move(cancel), std::move(t), std::move(exit)));
}

std::string DaytonaSandbox::Toolbox() const { return "/toolbox/" + rid_ + "/toolbox"; }

Result<Json> DaytonaSandbox::Info(const std::string& abs) const {
  ApiRequest req;
  req.path = Toolbox() + "/files/info?path=" + UrlEncode(abs);
  AGENT9_ASSIGN_OR_RETURN(Json j, api_->SendJson(req));
  if (!j.is_object()) return Status::Unavailable("Daytona answered a file info with no object");
  return j;
}

Result<std::string> DaytonaSandbox::ReadFile(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(std::string abs, WorkPath(spec_.workdir, path));
  AGENT9_RETURN_IF_ERROR(Live());
  AGENT9_ASSIGN_OR_RETURN(Json info, Info(abs));
  FileEntry e = EntryFrom(info);
  if (e.dir) return Status::IsDirectory("is a directory", path);
  if (e.size > kMaxFileBytes) return Status::TooLarge("file is larger than 16 MiB", path);
  ApiRequest req;
  req.path = Toolbox() + "/files/download?path=" + UrlEncode(abs);
  AGENT9_ASSIGN_OR_RETURN(std::string data, api_->Send(req));
  if (static_cast<int64_t>(data.size()) > kMaxFileBytes) {
    return Status::TooLarge("file is larger than 16 MiB", path);
  }
  return data;
}

Status DaytonaSandbox::WriteFile(const std::string& path, std::string_view data) {
  if (static_cast<int64_t>(data.size()) > kMaxFileBytes) {
    return Status::TooLarge("file is larger than 16 MiB", path);
  }
  AGENT9_ASSIGN_OR_RETURN(std::string abs, WorkPath(spec_.workdir, path));
  if (abs == WorkPath(spec_.workdir, "").value()) return Status::IsDirectory("the workdir");
  AGENT9_RETURN_IF_ERROR(Live());
  // The toolbox creates missing parents on upload; files/ does not (provider.h).
  std::string parent = abs.substr(0, abs.rfind('/'));
  if (parent != WorkPath(spec_.workdir, "").value()) {
    auto info = Info(parent);
    if (!info.ok() && info.status().code() == Code::kNotFound) {
      return Status::NotFound("no such directory", path);
    }
    AGENT9_RETURN_IF_ERROR(info.status());
    if (!EntryFrom(*info).dir) return Status::NotDirectory("not a directory", path);
  }
  ApiRequest req;
  req.method = "POST";
  req.path = Toolbox() + "/files/upload?path=" + UrlEncode(abs);
  req.body = MultipartFile(abs.substr(abs.rfind('/') + 1), data, &req.content_type);
  return api_->Send(req).status();
}

Result<std::vector<FileEntry>> DaytonaSandbox::List(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(std::string abs, WorkPath(spec_.workdir, path));
  AGENT9_RETURN_IF_ERROR(Live());
  AGENT9_ASSIGN_OR_RETURN(Json info, Info(abs));
  if (!EntryFrom(info).dir) return Status::NotDirectory("not a directory", path);
  ApiRequest req;
  req.path = Toolbox() + "/files?path=" + UrlEncode(abs);
  AGENT9_ASSIGN_OR_RETURN(Json j, api_->SendJson(req));
  std::vector<FileEntry> out;
  if (!j.is_array()) return out;
  for (const auto& item : j) out.push_back(EntryFrom(item));
  std::sort(out.begin(), out.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.name < b.name; });
  return out;
}

Result<FileEntry> DaytonaSandbox::StatFile(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(std::string abs, WorkPath(spec_.workdir, path));
  AGENT9_RETURN_IF_ERROR(Live());
  AGENT9_ASSIGN_OR_RETURN(Json info, Info(abs));
  return EntryFrom(info);
}

Status DaytonaSandbox::Remove(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(std::string abs, WorkPath(spec_.workdir, path));
  if (abs == WorkPath(spec_.workdir, "").value()) {
    return Status::PermissionDenied("cannot remove the workdir");
  }
  AGENT9_RETURN_IF_ERROR(Live());
  ApiRequest req;
  req.method = "DELETE";
  req.path = Toolbox() + "/files?path=" + UrlEncode(abs);
  return api_->Send(req).status();
}

Status DaytonaSandbox::Mkdir(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(std::string abs, WorkPath(spec_.workdir, path));
  AGENT9_RETURN_IF_ERROR(Live());
  ApiRequest req;
  req.method = "POST";
  req.path = Toolbox() + "/files/folder?path=" + UrlEncode(abs) + "&mode=755";
  return api_->Send(req).status();
}

}  // namespace agent9::containers
