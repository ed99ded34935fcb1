#include "containers/daytona_provider.h"

#include <set>
#include <thread>
#include <utility>

#include "containers/daytona_api.h"
#include "containers/daytona_sandbox.h"

namespace agent9::containers {

namespace {

constexpr char kSessionLabel[] = "agent9-session";

// Labels of the sandboxes of session id, as a labels query value.
std::string LabelQuery(const std::string& id) {
  return UrlEncode(DumpJson(Json{{kSessionLabel, id}}));
}

Status DeleteRemote(const DaytonaProvider::Api& api, const std::string& rid) {
  ApiRequest req;
  req.method = "DELETE";
  req.path = "/sandbox/" + rid;
  Status st = api.Send(req).status();
  return st.code() == Code::kNotFound ? Status::OK() : st;
}

// The create body (CreateSandbox in Daytona's API).
Json CreateBody(const RemoteConfig& config, const SandboxSpec& spec) {
  Json body = Json::object();
  std::string snapshot = spec.image.empty() ? config.default_image : spec.image;
  if (!snapshot.empty()) body["snapshot"] = snapshot;
  body["env"] = Json::object();
  for (const auto& [k, v] : spec.env) body["env"][k] = v;
  body["labels"] = {{kSessionLabel, spec.id}, {"agent9", "1"}};
  body["networkBlockAll"] = !spec.network;
  // A safety net should this daemon die: Daytona stops the sandbox once idle past the
  // session's wall time (minutes) and deletes it when stopped.
  body["autoStopInterval"] = std::max<int64_t>(1, (spec.limits.wall_ms + 59'999) / 60'000 + 1);
  body["autoDeleteInterval"] = 0;
  if (config.send_resources && spec.limits.memory_bytes > 0) {
    constexpr int64_t kGiB = int64_t{1} << 30;
    body["memory"] = std::max<int64_t>(1, (spec.limits.memory_bytes + kGiB - 1) / kGiB);
  }
  return body;
}

}  // namespace

DaytonaProvider::DaytonaProvider(RemoteConfig config, std::function<Result<std::string>()> api_key)
    : config_(config), api_(std::make_shared<Api>(std::move(config), std::move(api_key))) {}

DaytonaProvider::~DaytonaProvider() = default;

const std::string& DaytonaProvider::id() const { return config_.id; }

Json DaytonaProvider::Info() const {
  Json images = Json::array();
  if (!config_.default_image.empty()) images.push_back(config_.default_image);
  return {{"id", config_.id},
          {"type", config_.type},
          {"base_url", config_.base_url},
          {"images", images},
          {"limits", "remote"},
          {"output", "at exit"},
          {"nostr_auth", config_.nostr_auth}};
}

Result<std::string> DaytonaProvider::Health() {
  if (config_.base_url.empty()) return Status::Unavailable("not configured");
  ApiRequest req;
  req.path = "/sandbox?labels=" + LabelQuery("health-probe");
  req.timeout_ms = 10'000;
  auto r = api_->Send(req);
  if (!r.ok()) return Status::Unavailable(r.status().message());
  return std::string("ok");
}

Result<std::unique_ptr<Sandbox>> DaytonaProvider::Start(const SandboxSpec& spec,
                                                        OutputFn on_output) {
  if (config_.base_url.empty()) return Status::Unavailable("not configured");
  if (spec.workdir.empty() || spec.workdir[0] != '/') {
    return Status::InvalidArgument("workdir must be absolute", spec.workdir);
  }
  // Every file path is checked before anything is created remotely.
  std::map<std::string, std::string> files;  // absolute path -> content
  std::set<std::string> dirs;
  for (const auto& [rel, content] : spec.files) {
    auto abs = WorkPath(spec.workdir, rel);
    if (!abs.ok()) return Status::InvalidArgument(abs.status().message(), rel);
    if (*abs == spec.workdir) return Status::InvalidArgument("a file path names the workdir");
    if (static_cast<int64_t>(content.size()) > kMaxFileBytes) {
      return Status::InvalidArgument("file is larger than 16 MiB", rel);
    }
    std::string parent = abs->substr(0, abs->rfind('/'));
    if (parent != spec.workdir && !parent.empty()) dirs.insert(parent);
    files[*abs] = content;
  }

  ApiRequest create;
  create.method = "POST";
  create.path = "/sandbox";
  create.body = DumpJson(CreateBody(config_, spec));
  auto created = api_->SendJson(create);
  if (!created.ok()) {
    const Status& st = created.status();
    Code code = st.code() == Code::kInvalidArgument ? Code::kInvalidArgument : Code::kUnavailable;
    return Status(code, "daytona: create sandbox: " + st.message());
  }
  std::string rid = created->is_object() ? created->value("id", std::string()) : "";
  if (rid.empty()) return Status::Unavailable("daytona: create sandbox: no id in the answer");
  // From here on a failure deletes what was created.
  auto fail = [&](Status st) -> Status {
    (void)DeleteRemote(*api_, rid);
    return st;
  };

  auto deadline = SteadyClock::now() + std::chrono::milliseconds(config_.start_timeout_ms);
  std::string state = created->value("state", std::string());
  while (state != "started") {
    if (state == "error" || state == "build_failed") {
      std::string why = (*created).value("errorReason", std::string("no reason given"));
      Code code = state == "build_failed" ? Code::kInvalidArgument : Code::kUnavailable;
      return fail(Status(code, "daytona: sandbox " + state + ": " + why));
    }
    if (state == "destroyed" || state == "destroying" || state == "archived") {
      return fail(Status::Unavailable("daytona: sandbox became " + state + " while starting"));
    }
    if (SteadyClock::now() >= deadline) {
      return fail(Status::Unavailable("daytona: sandbox not started after " +
                                      std::to_string(config_.start_timeout_ms) + " ms (state " +
                                      state + ")"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max<int64_t>(1, config_.poll_ms)));
    ApiRequest get;
    get.path = "/sandbox/" + rid;
    created = api_->SendJson(get);
    if (!created.ok()) return fail(Status::Unavailable("daytona: " + created.status().message()));
    state = created->is_object() ? created->value("state", std::string()) : "";
  }

  const std::string toolbox = "/toolbox/" + rid + "/toolbox";
  dirs.insert(spec.workdir);
  for (const auto& dir : dirs) {  // std::set: parents sort before their children
    ApiRequest mk;
    mk.method = "POST";
    mk.path = toolbox + "/files/folder?path=" + UrlEncode(dir) + "&mode=755";
    Status st = api_->Send(mk).status();
    if (!st.ok()) return fail(Status::Unavailable("daytona: mkdir " + dir + ": " + st.message()));
  }
  for (const auto& [abs, content] : files) {
    ApiRequest up;
    up.method = "POST";
    up.path = toolbox + "/files/upload?path=" + UrlEncode(abs);
    up.body = MultipartFile(abs.substr(abs.rfind('/') + 1), content, &up.content_type);
    Status st = api_->Send(up).status();
    if (!st.ok()) return fail(Status::Unavailable("daytona: upload " + abs + ": " + st.message()));
  }
  auto sandbox = std::make_unique<DaytonaSandbox>(api_, rid, spec, std::move(on_output));
  sandbox->Run();
  return std::unique_ptr<Sandbox>(std::move(sandbox));
}

Status DaytonaProvider::Reap(const std::vector<std::string>& ids) {
  if (config_.base_url.empty() || ids.empty()) return Status::OK();
  Status first;
  for (const auto& id : ids) {
    ApiRequest list;
    list.path = "/sandbox?labels=" + LabelQuery(id);
    auto r = api_->SendJson(list);
    if (!r.ok()) {
      if (first.ok()) first = r.status();
      continue;
    }
    if (!r->is_array()) continue;
    for (const auto& box : *r) {
      std::string rid = box.is_object() ? box.value("id", std::string()) : "";
      if (rid.empty()) continue;
      Status st = DeleteRemote(*api_, rid);
      if (!st.ok() && first.ok()) first = st;
    }
  }
  return first;
}

bool DaytonaProvider::AcceptsNostrAuth() const { return config_.nostr_auth; }

Result<std::string> DaytonaProvider::AuthChallenge() {
  if (!config_.nostr_auth) return SandboxProvider::AuthChallenge();
  ApiRequest req;
  req.path = "/auth/nostr/challenge";
  req.auth = false;
  AGENT9_ASSIGN_OR_RETURN(Json j, api_->SendJson(req));
  std::string c = j.is_object() ? j.value("challenge", std::string()) : "";
  if (c.empty()) return Status::Unavailable("daytona: no challenge in the answer");
  return c;
}

Result<Json> DaytonaProvider::AuthSubmit(const Json& signed_event) {
  if (!config_.nostr_auth) return SandboxProvider::AuthSubmit(signed_event);
  ApiRequest req;
  req.method = "POST";
  req.path = "/auth/nostr";
  req.auth = false;
  req.body = DumpJson(Json{{"event", signed_event}});
  auto r = api_->SendJson(req);
  if (!r.ok() && r.status().code() == Code::kUnauthenticated) {
    return Status::Unauthenticated("daytona refused the Nostr auth", r.status().message());
  }
  return r;
}

}  // namespace agent9::containers
