// The entity routes of the Durable Functions HTTP API:
//   POST   /entities/{name}/{key}?op=   signal (202); the body is the operation input
//   DELETE /entities/{name}/{key}       signal the "delete" operation (202)
//   GET    /entities/{name}/{key}       the entity's state (200) or 404
//   GET    /entities/{name}             list (fetchState, lastOperationTimeFrom/To, top,
//                                       x-ms-continuation-token both ways)
// A key of "$" means the empty key, as DF.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/timestamp_util.h"
#include "server/http/management_internal.h"
#include "server/http/management_json.h"

namespace taskhub::http::internal {
namespace {

using nlohmann::json;

std::string Route(absl::string_view suffix) { return absl::StrCat(kBasePath, suffix); }

std::string EntityId(const HttpRequest& req) {
  std::string key = req.Param("entityKey");
  if (key == "$") key.clear();
  return absl::StrCat("@", req.Param("entityName"), "@", key);
}

void Signal(const ApiPtr& api, HttpRequest req, HttpResponder resp, bool is_delete) {
  if (!Authorize(*api, req, "SignalEntity", resp)) return;
  SignalEntityRequest wire;
  wire.set_instanceid(EntityId(req));
  wire.set_name(is_delete ? "delete" : req.Query("op").value_or(""));
  if (!absl::StripAsciiWhitespace(req.body).empty()) {
    // DF: a JSON body (Content-Type application/json) is the input as is; any other
    // body is the input as a string.
    std::string type = absl::AsciiStrToLower(req.Header("content-type").value_or(""));
    if (absl::StartsWith(type, "application/json")) {
      std::optional<std::string> input;
      if (!JsonBody(req, /*json_required=*/false, &input, resp)) return;
      if (input) wire.mutable_input()->set_value(*input);
    } else {
      wire.mutable_input()->set_value(
          json(req.body).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
  auto cmd = api::Translate(wire, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  api->engine->SignalEntity(std::move(*cmd), [resp = std::move(resp)](absl::Status st) mutable {
    if (!st.ok()) return resp.Send(FromStatus(st));
    resp.Send(JsonResponse(202, json::object()));
  });
}

void Get(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!Authorize(*api, req, "GetEntity", resp)) return;
  auto id = api::TranslateEntityId("entity", EntityId(req));
  if (!id.ok()) return resp.Send(FromTranslateError(id.status()));
  api->engine->GetEntity(
      *id, /*include_state=*/true,
      [id = *id, resp = std::move(resp)](absl::StatusOr<std::optional<EntityMetadata>> e) mutable {
        if (!e.ok()) return resp.Send(FromStatus(e.status()));
        if (!e->has_value() || !(*e)->has_serializedstate()) {
          return resp.Send(HttpResponse::Error(404, absl::StrCat("no entity '", id, "'")));
        }
        resp.Send(JsonResponse(200, PayloadJson(&(*e)->serializedstate())));
      });
}

void List(const ApiPtr& api, HttpRequest req, HttpResponder resp) {
  if (!Authorize(*api, req, "QueryEntities", resp)) return;
  std::optional<absl::Time> from, to;
  std::optional<bool> fetch_state;
  std::optional<int> top;
  if (!OptionalParam(req, "lastOperationTimeFrom", ParseTime, &from, resp) ||
      !OptionalParam(req, "lastOperationTimeTo", ParseTime, &to, resp) ||
      !OptionalParam(req, "fetchState", ParseBool, &fetch_state, resp) ||
      !OptionalParam(req, "top", ParsePositiveInt, &top, resp)) {
    return;
  }
  EntityQuery q;
  q.mutable_instanceidstartswith()->set_value(absl::StrCat("@", req.Param("entityName"), "@"));
  if (from) *q.mutable_lastmodifiedfrom() = ToTimestamp(*from);
  if (to) *q.mutable_lastmodifiedto() = ToTimestamp(*to);
  q.set_includestate(fetch_state.value_or(false));
  if (top) q.mutable_pagesize()->set_value(*top);
  if (auto token = req.Header("x-ms-continuation-token"); token && !token->empty()) {
    q.mutable_continuationtoken()->set_value(*token);
  }
  auto cmd = api::Translate(q, api->translate);
  if (!cmd.ok()) return resp.Send(FromTranslateError(cmd.status()));
  const bool with_state = fetch_state.value_or(false);
  api->engine->QueryEntities(
      *cmd, [with_state, resp = std::move(resp)](absl::StatusOr<QueryEntitiesResponse> r) mutable {
        if (!r.ok()) return resp.Send(FromStatus(r.status()));
        json list = json::array();
        for (const auto& e : r->entities()) list.push_back(EntityJson(e, with_state));
        HttpResponse out = JsonResponse(200, list);
        if (r->has_continuationtoken() && !r->continuationtoken().value().empty()) {
          out.headers.emplace_back("x-ms-continuation-token", r->continuationtoken().value());
        }
        resp.Send(std::move(out));
      });
}

}  // namespace

void RegisterEntityRoutes(HttpRouter* router, const ApiPtr& api) {
  router->Add("POST", Route("/entities/{entityName}/{entityKey}"),
              [api](HttpRequest req, HttpResponder resp) {
                Signal(api, std::move(req), std::move(resp), /*is_delete=*/false);
              });
  router->Add("DELETE", Route("/entities/{entityName}/{entityKey}"),
              [api](HttpRequest req, HttpResponder resp) {
                Signal(api, std::move(req), std::move(resp), /*is_delete=*/true);
              });
  router->Add(
      "GET", Route("/entities/{entityName}/{entityKey}"),
      [api](HttpRequest req, HttpResponder resp) { Get(api, std::move(req), std::move(resp)); });
  router->Add("GET", Route("/entities/{entityName}"), [api](HttpRequest req, HttpResponder resp) {
    List(api, std::move(req), std::move(resp));
  });
}

}  // namespace taskhub::http::internal
