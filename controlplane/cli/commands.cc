// The client subcommands: each builds one or a few requests to the daemon's HTTP API
// (docs/HTTP.md) and prints the answer for people, or as the daemon's JSON with --json.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "controlplane/cli/cli_internal.h"
#include "fs/base/json.h"
#include "fs/base/path.h"

namespace agent9::cli {
namespace {

int Usage(const ClientEnv& env, const std::string& msg) {
  *env.err << "agent9: " << msg << "\n";
  return kExitUsage;
}

int Failed(const ClientEnv& env, const Status& st) {
  *env.err << "agent9: " << st.message() << "\n";
  return kExitFailed;
}

// Sends one request. On a 2xx answer stores it in *out and returns kExitOk; otherwise prints
// the error and returns the exit code.
int Request(const ClientEnv& env, std::string_view method, const std::string& target,
            std::string_view body, std::string_view type, HttpResponse* out,
            const HttpHeaders& headers = {}) {
  auto client = HttpClient::Create(env.server, env.token);
  if (!client.ok()) return Usage(env, client.status().message());
  auto r = (*client)->Send(method, target, body, type, headers);
  if (!r.ok()) return Failed(env, r.status());
  if (r->status < 200 || r->status >= 300) return PrintApiError(env, *r);
  *out = std::move(r).value();
  return kExitOk;
}

// "/v1/fs/agents/alice/status" from "agents/alice/status" or "/agents/alice/status".
Result<std::string> FsTarget(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(Path p, Path::Parse(path));
  std::string t = "/v1/fs";
  for (const auto& seg : p.segments()) t += "/" + PercentEncode(seg);
  if (p.empty()) t += "/";
  return t;
}

Result<std::string> AgentTarget(const std::string& id, std::string_view suffix = {}) {
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  return "/v1/agents/" + PercentEncode(id) + std::string(suffix);
}

std::string ReadAll(std::istream& in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// DATA words joined by spaces; stdin when they are absent or "-".
std::string DataArg(const ClientEnv& env, const std::vector<std::string>& words) {
  if (words.empty() || (words.size() == 1 && words[0] == "-")) return ReadAll(*env.in);
  std::string s;
  for (size_t i = 0; i < words.size(); ++i) s += (i ? " " : "") + words[i];
  return s;
}

std::string Scalar(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return DumpJson(v);
}

// "key: value" lines; nested objects become "outer.inner: value".
void PrintFlat(std::ostream& out, const Json& j, const std::string& prefix = "") {
  if (!j.is_object()) {
    out << (prefix.empty() ? "" : prefix + ": ") << Scalar(j) << "\n";
    return;
  }
  for (const auto& [k, v] : j.items()) {
    std::string key = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object() && !v.empty()) {
      PrintFlat(out, v, key);
    } else {
      out << key << ": " << Scalar(v) << "\n";
    }
  }
}

// Prints the JSON answer raw with --json, else as key: value lines.
int PrintDoc(const ClientEnv& env, const HttpResponse& r) {
  if (env.json) {
    *env.out << r.body;
    if (!r.body.empty() && r.body.back() != '\n') *env.out << "\n";
    return kExitOk;
  }
  if (r.body.empty()) return kExitOk;
  auto j = ParseJson(r.body, "the daemon's answer");
  if (!j.ok()) return Failed(env, j.status());
  PrintFlat(*env.out, *j);
  return kExitOk;
}

}  // namespace

// Prints the daemon's error answer: "agent9: <message> (<code>)".
int PrintApiError(const ClientEnv& env, const HttpResponse& r) {
  auto j = ParseJsonObject(r.body);
  std::string line;
  if (j.ok() && j->contains("error") && (*j)["error"].is_string()) {
    std::string code = (*j)["error"].get<std::string>();
    std::string msg = j->value("message", std::string());
    line = msg.empty() ? code : msg + " (" + code + ")";
  } else {
    std::string body = r.body.substr(0, std::min<size_t>(r.body.find('\n'), 200));
    line = "HTTP " + std::to_string(r.status) + (body.empty() ? "" : ": " + body);
  }
  *env.err << "agent9: " << line << "\n";
  if (r.status == 401 && env.token_from.empty()) {
    *env.err << "agent9: no token found: pass --token, set AGENT9_TOKEN, or point --data "
                "(or AGENT9_DATA) at the daemon's data directory\n";
  }
  return kExitFailed;
}

int CmdCreate(const ClientEnv& env, const ClientArgs& a) {
  Status st = ValidateAgentId(a.id);
  if (!st.ok()) return Usage(env, st.message());
  Json body = {{"id", a.id}};
  if (!a.kind.empty()) body["kind"] = a.kind;
  if (!a.config_file.empty()) {
    std::string text;
    if (a.config_file == "-") {
      text = ReadAll(*env.in);
    } else {
      std::ifstream f(a.config_file);
      if (!f) return Usage(env, "cannot read config file " + a.config_file);
      text = ReadAll(f);
    }
    auto config = ParseJsonObject(text, "config " + a.config_file);
    if (!config.ok()) return Usage(env, config.status().message());
    body["config"] = *config;
  }
  HttpResponse r;
  if (int rc = Request(env, "POST", "/v1/agents", DumpJson(body), "application/json", &r)) {
    return rc;
  }
  if (env.json) return PrintDoc(env, r);
  auto j = ParseJsonObject(r.body, "the daemon's answer");
  if (!j.ok()) return Failed(env, j.status());
  *env.out << "id: " << Scalar(j->value("id", Json(a.id))) << "\n";
  for (const auto& [k, v] : j->items()) {
    if (k != "id" && k != "token" && !v.is_structured()) *env.out << k << ": " << Scalar(v) << "\n";
  }
  if (j->contains("token")) *env.out << "token: " << Scalar((*j)["token"]) << "\n";
  return kExitOk;
}

int CmdList(const ClientEnv& env, const ClientArgs& a) {
  Json all = Json::array();
  std::string after;
  for (;;) {
    std::string target = "/v1/agents?limit=" + std::to_string(a.limit);
    if (!after.empty()) target += "&after=" + PercentEncode(after);
    HttpResponse r;
    if (int rc = Request(env, "GET", target, {}, {}, &r)) return rc;
    auto j = ParseJsonObject(r.body, "the daemon's answer");
    if (!j.ok() || !(*j)["agents"].is_array()) {
      return Failed(env, Status::Internal("unexpected answer from the daemon"));
    }
    if (env.json && !a.all) return PrintDoc(env, r);
    for (auto& agent : (*j)["agents"]) all.push_back(agent);
    const Json& next = (*j)["next"];
    if (!a.all || !next.is_string() || next.get<std::string>().empty()) break;
    after = next.get<std::string>();
  }
  if (env.json) {
    *env.out << DumpJson(Json{{"agents", all}, {"next", nullptr}}) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "KIND", "STATE", "CREATED"}};
  for (const auto& agent : all) {
    auto field = [&](const char* k) { return agent.contains(k) ? Scalar(agent[k]) : "-"; };
    rows.push_back({field("id"), field("kind"), field("state"), field("created_at")});
  }
  size_t w[3] = {0, 0, 0};
  for (const auto& row : rows) {
    for (int i = 0; i < 3; ++i) w[i] = std::max(w[i], row[i].size());
  }
  for (const auto& row : rows) {
    for (int i = 0; i < 3; ++i) *env.out << row[i] << std::string(w[i] - row[i].size() + 2, ' ');
    *env.out << row[3] << "\n";
  }
  return kExitOk;
}

int CmdRemove(const ClientEnv& env, const ClientArgs& a) {
  auto target = AgentTarget(a.id);
  if (!target.ok()) return Usage(env, target.status().message());
  HttpResponse r;
  return Request(env, "DELETE", *target, {}, {}, &r);
}

int CmdStatus(const ClientEnv& env, const ClientArgs& a) {
  std::string target = "/v1/runtime";
  if (!a.id.empty()) {
    auto t = AgentTarget(a.id);
    if (!t.ok()) return Usage(env, t.status().message());
    target = *t;
  }
  HttpResponse r;
  if (int rc = Request(env, "GET", target, {}, {}, &r)) return rc;
  return PrintDoc(env, r);
}

int CmdSend(const ClientEnv& env, const ClientArgs& a) {
  auto target = AgentTarget(a.id, "/send");
  if (!target.ok()) return Usage(env, target.status().message());
  std::string body = DataArg(env, a.words);
  std::string type = "text/plain; charset=utf-8";
  if (!a.msg_id.empty()) {
    // An envelope with an id makes the send idempotent (DESIGN 4.1).
    auto parsed = ParseJson(body);
    Json inner = parsed.ok() ? *parsed : Json{{"text", body}};
    body = DumpJson(Json{{"id", a.msg_id}, {"body", inner}});
    type = "application/json";
  }
  HttpResponse r;
  if (int rc = Request(env, "POST", *target, body, type, &r)) return rc;
  if (env.json) return PrintDoc(env, r);
  auto j = ParseJsonObject(r.body, "the daemon's answer");
  if (!j.ok()) return Failed(env, j.status());
  *env.out << "queued " << Scalar(j->value("id", Json())) << " seq "
           << Scalar(j->value("seq", Json())) << "\n";
  return kExitOk;
}

int CmdWrite(const ClientEnv& env, const ClientArgs& a) {
  auto target = FsTarget(a.path);
  if (!target.ok()) return Usage(env, a.path + ": " + target.status().message());
  HttpResponse r;
  return Request(env, "PUT", *target, DataArg(env, a.words), "application/octet-stream", &r);
}

int CmdCall(const ClientEnv& env, const ClientArgs& a) {
  auto target = FsTarget(a.path);
  if (!target.ok()) return Usage(env, a.path + ": " + target.status().message());
  std::string request = DataArg(env, a.words);
  if (request.empty()) return Usage(env, "empty request");
  HttpResponse r;
  if (int rc = Request(env, "POST", *target, request, "application/octet-stream", &r)) return rc;
  *env.out << r.body;
  if (!r.body.empty() && r.body.back() != '\n') *env.out << "\n";
  return kExitOk;
}

int CmdToken(const ClientEnv& env, const ClientArgs& a) {
  auto target = AgentTarget(a.id, "/tokens");
  if (!target.ok()) return Usage(env, target.status().message());
  HttpResponse r;
  if (int rc = Request(env, "POST", *target, {}, {}, &r)) return rc;
  if (env.json) return PrintDoc(env, r);
  auto j = ParseJsonObject(r.body, "the daemon's answer");
  if (!j.ok() || !(*j)["token"].is_string()) {
    return Failed(env, Status::Internal("unexpected answer from the daemon"));
  }
  *env.out << (*j)["token"].get<std::string>() << "\n";
  return kExitOk;
}

int CmdExport(const ClientEnv& env, const ClientArgs& a) {
  auto target = AgentTarget(a.id, "/export");
  if (!target.ok()) return Usage(env, target.status().message());
  if (a.output.empty() && env.out == &std::cout && ::isatty(STDOUT_FILENO)) {
    return Usage(env, "refusing to write a binary tar bundle to a terminal: use -o FILE");
  }
  if (!a.passphrase_file.empty() && !a.with_key) {
    return Usage(env, "--passphrase-file goes with --with-key");
  }
  HttpHeaders headers;
  if (a.with_key) {
    auto pass = ReadPassphrase(a.passphrase_file, /*confirm=*/true);
    if (!pass.ok()) return Usage(env, pass.status().message());
    headers.emplace_back(kPassphraseHeader, std::move(pass).value());
    *target += "?with_key=1";
  }
  HttpResponse r;
  if (int rc = Request(env, "GET", *target, {}, {}, &r, headers)) return rc;
  if (a.output.empty()) {
    env.out->write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    env.out->flush();
    return env.out->good() ? kExitOk : Failed(env, Status::Internal("cannot write to stdout"));
  }
  std::ofstream f(a.output, std::ios::binary | std::ios::trunc);
  if (!f) return Usage(env, "cannot write " + a.output);
  f.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
  f.close();
  if (!f) return Failed(env, Status::Internal("writing " + a.output + " failed"));
  return kExitOk;
}

int CmdImport(const ClientEnv& env, const ClientArgs& a) {
  if (!a.new_id.empty()) {
    Status st = ValidateAgentId(a.new_id);
    if (!st.ok()) return Usage(env, "--id: " + st.message());
    if (a.mode != "clone") return Usage(env, "--id names a clone: use it with --mode clone");
  }
  std::string bundle;
  if (a.path == "-") {
    bundle = ReadAll(*env.in);
  } else {
    std::ifstream f(a.path, std::ios::binary);
    if (!f) return Usage(env, "cannot read bundle file " + a.path);
    bundle = ReadAll(f);
  }
  if (bundle.empty()) return Usage(env, "the bundle " + a.path + " is empty");
  std::string target = "/v1/agents/import?mode=" + PercentEncode(a.mode);
  if (!a.new_id.empty()) target += "&id=" + PercentEncode(a.new_id);
  HttpHeaders headers;
  if (a.with_key || !a.passphrase_file.empty()) {
    auto pass = ReadPassphrase(a.passphrase_file, /*confirm=*/false);
    if (!pass.ok()) return Usage(env, pass.status().message());
    headers.emplace_back(kPassphraseHeader, std::move(pass).value());
  }
  HttpResponse r;
  if (int rc = Request(env, "POST", target, bundle, "application/x-tar", &r, headers)) return rc;
  if (env.json) return PrintDoc(env, r);
  auto j = ParseJsonObject(r.body, "the daemon's answer");
  if (!j.ok() || !(*j)["id"].is_string()) {
    return Failed(env, Status::Internal("unexpected answer from the daemon"));
  }
  *env.out << (*j)["id"].get<std::string>() << "\n";
  return kExitOk;
}

int CmdReplay(const ClientEnv& env, const ClientArgs& a) {
  auto target = AgentTarget(a.id, "/replay");
  if (!target.ok()) return Usage(env, target.status().message());
  Json body{{"tick", a.tick}};
  if (!a.program.empty()) {
    if (a.program[0] != '/') return Usage(env, "--program: want an absolute path");
    body["program"] = a.program;
  }
  HttpResponse r;
  if (Request(env, "POST", *target, DumpJson(body), "application/json", &r)) return kExitUsage;
  auto j = ParseJsonObject(r.body, "the daemon's answer");
  if (!j.ok()) return Usage(env, j.status().message());
  const bool identical = j->value("identical", false);
  const int rc = identical ? kExitOk : kExitFailed;
  if (env.json) {
    *env.out << r.body;
    if (!r.body.empty() && r.body.back() != '\n') *env.out << "\n";
    return rc;
  }
  const Json diffs = j->value("differences", Json::array());
  *env.out << "tick " << a.tick << " of " << a.id << " (kind " << Scalar(j->value("kind", Json()))
           << "): ";
  if (identical) {
    *env.out << "identical\n";
  } else {
    *env.out << diffs.size() << " difference(s)\n";
  }
  for (const auto& d : diffs) {
    *env.out << "  " << Scalar(d.value("part", Json())) << Scalar(d.value("path", Json(""))) << ": "
             << Scalar(d.value("op", Json()));
    if (d.contains("recorded")) *env.out << " recorded=" << DumpJson(d["recorded"]);
    if (d.contains("replayed")) *env.out << " replayed=" << DumpJson(d["replayed"]);
    *env.out << "\n";
  }
  for (const auto& p : j->value("unrecorded_reads", Json::array())) {
    *env.out << "  note: read memory/" << Scalar(p) << ", which the recorded tick did not\n";
  }
  if (j->contains("error")) *env.out << "error: " << Scalar((*j)["error"]) << "\n";
  return rc;
}

int CmdLifecycle(const ClientEnv& env, const ClientArgs& a, const std::string& verb) {
  auto target = AgentTarget(a.id, "/" + verb);
  if (!target.ok()) return Usage(env, target.status().message());
  std::string reason;
  for (size_t i = 0; i < a.words.size(); ++i) reason += (i ? " " : "") + a.words[i];
  HttpResponse r;
  if (int rc = Request(env, "POST", *target, reason, "text/plain; charset=utf-8", &r)) return rc;
  return PrintDoc(env, r);
}

}  // namespace agent9::cli
