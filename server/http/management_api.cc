// The orchestration routes of the Durable Functions HTTP API (management_api.h).
// Every handler: authorize (the gRPC method's roles), parse and validate (wire request
// -> api::Translate), call the engine, answer from the engine's callback.
#include "server/http/management_api.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/common/logging.h"
#include "server/core/history.h"
#include "server/http/management_internal.h"
#include "server/http/management_json.h"

namespace taskhub::http {
namespace {

using internal::ApiPtr;
using internal::FromStatus;
using internal::FromTranslateError;
using internal::JsonResponse;
using internal::OptionalParam;
using json = nlohmann::ordered_json;

std::string Route(absl::string_view suffix) { return absl::StrCat(internal::kBasePath, suffix); }

// Parses the status-object flags of GET /instances/{id} (DF defaults).
bool StatusFlags(const HttpRequest& req, StatusOptions* opt, bool* error_on_failure,
                 HttpResponder& resp) {
  std::optional<bool> history, history_output, input, fail500;
  if (!OptionalParam(req, "showHistory", ParseBool, &history, resp) ||
      !OptionalParam(req, "showHistoryOutput", ParseBool, &history_output, resp) ||
      !OptionalParam(req, "showInput", ParseBool, &input, resp) ||
      !OptionalParam(req, "returnInternalServerErrorOnFailure", ParseBool, &fail500, resp)) {
    return false;
  }
  opt->show_history = history.value_or(false);
  opt->show_history_output = history_output.value_or(false);
  opt->show_input = input.value_or(true);
  *error_on_failure = fail500.value_or(false);
  return true;
}

// DF's documented status codes: 202 (+ Location, Retry-After: 5) while running, 200 when
// completed, 400 when failed or terminated, 500 instead of 400 for a
// failed instance when returnInternalServerErrorOnFailure asks; the body is the status
// object in every case.
HttpResponse StatusResponse(const OrchestrationState& s, const StatusOptions& opt,
                            bool error_on_failure, const std::vector<HistoryEvent>* history,
                            const std::string& location) {
  const OrchestrationStatus st = s.orchestrationstatus();
  int code = core::IsTerminal(st) ? 200 : 202;
  if (st == ORCHESTRATION_STATUS_FAILED || st == ORCHESTRATION_STATUS_TERMINATED) code = 400;
  if (st == ORCHESTRATION_STATUS_FAILED && error_on_failure) code = 500;
  HttpResponse r = JsonResponse(code, StatusJson(s, opt, history));
  if (code == 202) {
    r.headers.emplace_back("Location", location);
    r.headers.emplace_back("Retry-After", "5");
  }
  return r;
}

// Answers a GET of instance `id` with its status object (and history when asked).
void SendStatus(const ApiPtr& api, const std::string& id, StatusOptions opt, bool error_on_failure,
                std::string location, HttpResponder resp) {
  api->engine->GetInstance(
      id, /*payloads=*/true,
      [api, id, opt, error_on_failure, location = std::move(location),
       resp = std::move(resp)](absl::StatusOr<GetInstanceResponse> g) mutable {
        if (!g.ok()) return resp.Send(FromStatus(g.status()));
        if (!g->exists()) {
          return resp.Send(HttpResponse::Error(404, absl::StrCat("no instance '", id, "'")));
        }
        if (!opt.show_history) {
          return resp.Send(
              StatusResponse(g->orchestrationstate(), opt, error_on_failure, nullptr, location));
        }
        OrchestrationState state = std::move(*g->mutable_orchestrationstate());
        api->engine->GetHistory(
            id, [state = std::move(state), opt, error_on_failure, location,
                 resp = std::move(resp)](absl::StatusOr<std::vector<HistoryEvent>> h) mutable {
              if (!h.ok()) return resp.Send(FromStatus(h.status()));
              resp.Send(StatusResponse(state, opt, error_on_failure, &*h, location));
            });
      });
}

// After a start or restart with ?timeout: waits (an engine waiter, ended by the engine's
// timer at the deadline; no thread waits) and answers 200 + output when it completed, the
// status object when it failed or was terminated, else 202 + the management payload.
void WaitThenAnswer(const ApiPtr& api, const std::string& id, absl::Duration timeout,
                    std::string base, HttpResponder resp) {
  engine::Engine* engine = api->engine;
  // A client gone before the answer: the waiter ends now, not at its deadline.
  auto waiter = std::make_shared<std::atomic<uint64_t>>(0);
  resp.OnDisconnect([engine, waiter] {
    if (const uint64_t h = waiter->load(); h != 0) engine->CancelWait(h);
  });
  const uint64_t handle = engine->WaitForInstance(
      id, /*completion=*/true, /*payloads=*/true,
      [id, base = std::move(base),
       resp = std::move(resp)](absl::StatusOr<GetInstanceResponse> r) mutable {
        if (r.ok() && r->exists() &&
            core::IsTerminal(r->orchestrationstate().orchestrationstatus())) {
          const OrchestrationState& s = r->orchestrationstate();
          if (s.orchestrationstatus() == ORCHESTRATION_STATUS_COMPLETED) {
            return resp.Send(JsonResponse(200, s.has_output() ? PayloadJson(&s.output()) : json()));
          }
          StatusOptions opt;
          return resp.Send(StatusResponse(s, opt, /*error_on_failure=*/false, nullptr, ""));
        }
        const bool timed_out =
            r.ok() || absl::IsCancelled(r.status()) || absl::IsDeadlineExceeded(r.status());
        if (timed_out) return resp.Send(internal::CheckStatusResponse(base, id));
        resp.Send(FromStatus(r.status()));
      },
      std::min(timeout, api->options.max_wait));
  waiter->store(handle);
}

void Start(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "StartInstance", resp)) return;
  std::optional<std::string> input;
  std::optional<absl::Duration> timeout;
  if (!internal::JsonBody(req, /*json_required=*/false, &input, resp) ||
      !OptionalParam(req, "timeout", ParseSeconds, &timeout, resp)) {
    return;
  }
  CreateInstanceRequest wire;
  wire.set_name(req.Param("name"));
  wire.set_instanceid(req.Param("instanceId"));
  if (input) wire.mutable_input()->set_value(*input);
  if (auto v = req.Query("version")) wire.mutable_version()->set_value(*v);
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  api->engine->StartInstance(std::move(*cmd),
                             [api, timeout, base = internal::BaseUrl(*api, req),
                              resp = std::move(resp)](absl::StatusOr<std::string> id) mutable {
                               if (!id.ok()) return resp.Send(FromStatus(id.status()));
                               if (!timeout)
                                 return resp.Send(internal::CheckStatusResponse(base, *id));
                               WaitThenAnswer(api, *id, *timeout, std::move(base), std::move(resp));
                             });
}

void GetStatus(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "GetInstance", resp)) return;
  StatusOptions opt;
  bool error_on_failure = false;
  if (!StatusFlags(req, &opt, &error_on_failure, resp)) return;
  SendStatus(api, req.Param("instanceId"), opt, error_on_failure, internal::RequestUrl(*api, req),
             std::move(resp));
}

void List(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "QueryInstances", resp)) return;
  std::optional<absl::Time> from, to;
  std::optional<std::vector<OrchestrationStatus>> statuses;
  std::optional<bool> show_input;
  std::optional<int> top;
  if (!OptionalParam(req, "createdTimeFrom", ParseTime, &from, resp) ||
      !OptionalParam(req, "createdTimeTo", ParseTime, &to, resp) ||
      !OptionalParam(req, "runtimeStatus", ParseStatuses, &statuses, resp) ||
      !OptionalParam(req, "showInput", ParseBool, &show_input, resp) ||
      !OptionalParam(req, "top", ParsePositiveInt, &top, resp)) {
    return;
  }
  InstanceQuery q;
  if (statuses) {
    for (OrchestrationStatus s : *statuses) q.add_runtimestatus(s);
  }
  if (from) *q.mutable_createdtimefrom() = core::ToProto(*from);
  if (to) *q.mutable_createdtimeto() = core::ToProto(*to);
  if (top) q.set_maxinstancecount(*top);
  if (auto prefix = req.Query("instanceIdPrefix")) q.mutable_instanceidprefix()->set_value(*prefix);
  if (auto token = req.Header("x-ms-continuation-token"); token && !token->empty()) {
    q.mutable_continuationtoken()->set_value(*token);
  }
  q.set_fetchinputsandoutputs(true);
  auto cmd = api::Translate(q, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  StatusOptions opt;
  opt.show_input = show_input.value_or(false);
  api->engine->Query(
      *cmd, [opt, resp = std::move(resp)](absl::StatusOr<QueryInstancesResponse> r) mutable {
        if (!r.ok()) return resp.Send(FromStatus(r.status()));
        json list = json::array();
        for (const auto& s : r->orchestrationstate()) list.push_back(StatusJson(s, opt));
        HttpResponse out = JsonResponse(200, list);
        if (r->has_continuationtoken() && !r->continuationtoken().value().empty()) {
          out.headers.emplace_back("x-ms-continuation-token", r->continuationtoken().value());
        }
        resp.Send(std::move(out));
      });
}

void PurgeByFilter(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "PurgeInstances", resp)) return;
  std::optional<absl::Time> from, to;
  std::optional<std::vector<OrchestrationStatus>> statuses;
  if (!OptionalParam(req, "createdTimeFrom", ParseTime, &from, resp) ||
      !OptionalParam(req, "createdTimeTo", ParseTime, &to, resp) ||
      !OptionalParam(req, "runtimeStatus", ParseStatuses, &statuses, resp)) {
    return;
  }
  if (!from) {
    return resp.Send(HttpResponse::Error(400, "query parameter 'createdTimeFrom' is required"));
  }
  PurgeInstancesRequest wire;
  auto* f = wire.mutable_purgeinstancefilter();
  *f->mutable_createdtimefrom() = core::ToProto(*from);
  *f->mutable_createdtimeto() = core::ToProto(to.value_or(absl::Now()));
  if (statuses) {
    for (OrchestrationStatus s : *statuses) f->add_runtimestatus(s);
  }
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  api->engine->Purge(
      *cmd, [resp = std::move(resp)](absl::StatusOr<PurgeInstancesResponse> r) mutable {
        if (!r.ok()) return resp.Send(FromStatus(r.status()));
        json j = {{"instancesDeleted", r->deletedinstancecount()}};
        if (r->has_iscomplete() && !r->iscomplete().value()) j["isComplete"] = false;
        // DF: 404 when nothing was deleted (and the purge ran to the end).
        const bool complete = !r->has_iscomplete() || r->iscomplete().value();
        resp.Send(JsonResponse(r->deletedinstancecount() == 0 && complete ? 404 : 200, j));
      });
}

// Looks the instance up first (DF does the same): 404 unknown; `terminal_code` when it
// has finished (0: no check); else runs `then`.
void WithLiveInstance(const ApiPtr& api, const std::string& id, int terminal_code,
                      HttpResponder resp,
                      absl::AnyInvocable<void(const OrchestrationState&, HttpResponder)> then) {
  api->engine->GetInstance(
      id, /*payloads=*/false,
      [id, terminal_code, resp = std::move(resp),
       then = std::move(then)](absl::StatusOr<GetInstanceResponse> g) mutable {
        if (!g.ok()) return resp.Send(FromStatus(g.status()));
        if (!g->exists()) {
          return resp.Send(HttpResponse::Error(404, absl::StrCat("no instance '", id, "'")));
        }
        const auto& s = g->orchestrationstate();
        if (terminal_code != 0 && core::IsTerminal(s.orchestrationstatus())) {
          return resp.Send(HttpResponse::Error(
              terminal_code, absl::StrCat("instance '", id, "' has already finished (",
                                          RuntimeStatusName(s.orchestrationstatus()), ")")));
        }
        then(s, std::move(resp));
      });
}

// The engine's answer to a command: 202, or the error (FAILED_PRECONDITION: `precondition`).
engine::Done Accepted(HttpResponder resp, int precondition = 412) {
  return [resp = std::move(resp), precondition](absl::Status st) mutable {
    if (st.ok()) return resp.Send(JsonResponse(202, json::object()));
    HttpResponse r = FromStatus(st);
    if (st.code() == absl::StatusCode::kFailedPrecondition) r.status = precondition;
    resp.Send(std::move(r));
  };
}

void PurgeById(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "PurgeInstances", resp)) return;
  PurgeInstancesRequest wire;
  wire.set_instanceid(req.Param("instanceId"));
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  WithLiveInstance(
      api, req.Param("instanceId"), 0, std::move(resp),
      [api, cmd = std::move(*cmd)](const OrchestrationState& s, HttpResponder resp) mutable {
        if (!core::IsTerminal(s.orchestrationstatus())) {
          return resp.Send(HttpResponse::Error(
              412, absl::StrCat("only finished instances can be purged; '", s.instanceid(), "' is ",
                                RuntimeStatusName(s.orchestrationstatus()))));
        }
        api->engine->Purge(
            cmd, [resp = std::move(resp)](absl::StatusOr<PurgeInstancesResponse> r) mutable {
              if (!r.ok()) return resp.Send(FromStatus(r.status()));
              resp.Send(JsonResponse(200, {{"instancesDeleted", r->deletedinstancecount()}}));
            });
      });
}

void RaiseEvent(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "RaiseEvent", resp)) return;
  const std::string id = req.Param("instanceId");
  WithLiveInstance(api, id, 410, std::move(resp),
                   [api, req = std::move(req)](const OrchestrationState&, HttpResponder resp) {
                     std::optional<std::string> data;
                     if (!internal::JsonBody(req, /*json_required=*/true, &data, resp)) return;
                     RaiseEventRequest wire;
                     wire.set_instanceid(req.Param("instanceId"));
                     wire.set_name(req.Param("eventName"));
                     if (data) wire.mutable_input()->set_value(*data);
                     auto cmd = api::Translate(wire, api->translate);
                     if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
                     api->engine->RaiseEvent(*cmd, Accepted(std::move(resp)));
                   });
}

void Terminate(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "TerminateInstance", resp)) return;
  TerminateRequest wire;
  wire.set_instanceid(req.Param("instanceId"));
  // The reason becomes the output: a JSON string, as the SDKs send it.
  if (auto reason = req.Query("reason")) wire.mutable_output()->set_value(json(*reason).dump());
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  WithLiveInstance(api, wire.instanceid(), 410, std::move(resp),
                   [api, cmd = std::move(*cmd)](const OrchestrationState&, HttpResponder resp) {
                     api->engine->Terminate(cmd, Accepted(std::move(resp), 410));
                   });
}

template <typename Wire>
void SuspendOrResume(const ApiPtr& api, HttpRequest req, HttpResponder resp, const char* method) {
  if (!internal::Authorize(*api, req, method, resp)) return;
  Wire wire;
  wire.set_instanceid(req.Param("instanceId"));
  if (auto reason = req.Query("reason")) wire.mutable_reason()->set_value(*reason);
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  WithLiveInstance(api, wire.instanceid(), 410, std::move(resp),
                   [api, cmd = std::move(*cmd)](const OrchestrationState&, HttpResponder resp) {
                     if constexpr (std::is_same_v<Wire, SuspendRequest>) {
                       api->engine->Suspend(cmd, Accepted(std::move(resp), 410));
                     } else {
                       api->engine->Resume(cmd, Accepted(std::move(resp), 410));
                     }
                   });
}

void Rewind(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "RewindInstance", resp)) return;
  RewindInstanceRequest wire;
  wire.set_instanceid(req.Param("instanceId"));
  if (auto reason = req.Query("reason")) wire.mutable_reason()->set_value(*reason);
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  // NOT_FOUND 404; not failed (FAILED_PRECONDITION) 412, as DF.
  api->engine->Rewind(*cmd, Accepted(std::move(resp), 412));
}

void Restart(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!internal::Authorize(*api, req, "RestartInstance", resp)) return;
  std::optional<bool> new_id;
  std::optional<absl::Duration> timeout;
  if (!OptionalParam(req, "restartWithNewInstanceId", ParseBool, &new_id, resp) ||
      !OptionalParam(req, "timeout", ParseSeconds, &timeout, resp)) {
    return;
  }
  RestartInstanceRequest wire;
  wire.set_instanceid(req.Param("instanceId"));
  wire.set_restartwithnewinstanceid(new_id.value_or(false));
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  api->engine->Restart(*cmd, [api, timeout, base = internal::BaseUrl(*api, req),
                              resp = std::move(resp)](absl::StatusOr<std::string> id) mutable {
    if (!id.ok()) {
      HttpResponse r = FromStatus(id.status());
      // A running instance cannot be restarted under its id: DF answers 409.
      if (id.status().code() == absl::StatusCode::kFailedPrecondition) r.status = 409;
      return resp.Send(std::move(r));
    }
    if (!timeout) return resp.Send(internal::CheckStatusResponse(base, *id));
    WaitThenAnswer(api, *id, *timeout, std::move(base), std::move(resp));
  });
}

}  // namespace

void RegisterManagementApi(HttpRouter* router, engine::Engine* engine,
                           const ManagementApiOptions& options) {
  auto api = std::make_shared<internal::Api>();
  api->engine = engine;
  api->options = options;
  api->translate.max_payload_bytes =
      std::min(options.max_payload_bytes, engine->options().max_payload_bytes);
  auto bind = [api](void (*fn)(const ApiPtr&, HttpRequest, HttpResponder)) {
    return [api, fn](HttpRequest req, HttpResponder resp) {
      fn(api, std::move(req), std::move(resp));
    };
  };
  router->Add("POST", Route("/orchestrators/{name}"), bind(Start));
  router->Add("POST", Route("/orchestrators/{name}/{instanceId}"), bind(Start));
  router->Add("GET", Route("/instances"), bind(List));
  router->Add("DELETE", Route("/instances"), bind(PurgeByFilter));
  router->Add("GET", Route("/instances/{instanceId}"), bind(GetStatus));
  router->Add("DELETE", Route("/instances/{instanceId}"), bind(PurgeById));
  router->Add("POST", Route("/instances/{instanceId}/raiseEvent/{eventName}"), bind(RaiseEvent));
  router->Add("POST", Route("/instances/{instanceId}/terminate"), bind(Terminate));
  router->Add(
      "POST", Route("/instances/{instanceId}/suspend"), [api](HttpRequest req, HttpResponder resp) {
        SuspendOrResume<SuspendRequest>(api, std::move(req), std::move(resp), "SuspendInstance");
      });
  router->Add(
      "POST", Route("/instances/{instanceId}/resume"), [api](HttpRequest req, HttpResponder resp) {
        SuspendOrResume<ResumeRequest>(api, std::move(req), std::move(resp), "ResumeInstance");
      });
  router->Add("POST", Route("/instances/{instanceId}/rewind"), bind(Rewind));
  router->Add("POST", Route("/instances/{instanceId}/restart"), bind(Restart));
  internal::RegisterEntityRoutes(router, api);
}

}  // namespace taskhub::http
