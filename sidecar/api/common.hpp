// common.hpp — what every API resource file shares: the context (pool, group committer, metrics),
// running one SQL function for a request and answering from its result, mapping database
// failures to the one JSON error shape, the transport-level JSON checks (well-formed JSON of
// the expected kind, W3C traceparent into metadata), and the request parsing the resource files
// share: the shape of a JSON object body (member types, unknown members), query parameters as
// SQL parameters (filters and paging), path ids. Field validation is the extension's.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "api/group_commit.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "pg/pool.hpp"

namespace event::sidecar::api {

struct Context {
	pg::Pool *pool = nullptr;
	GroupCommitter *committer = nullptr;
};

// Registers the API's metrics (pool connections, queue depths, group-commit batch sizes) in
// metrics::Default(); call once, before ctx.committer starts.
void RegisterMetrics(const Context &ctx);

// The error response for a failed query or item: SQL errors by the SQLSTATE table, kUnavailable
// 503 and kOverloaded 429 (both with Retry-After).
http::Response DbFailure(pg::Result::Status status, const std::string &sqlstate, const std::string &message,
                         const std::string &detail, const std::string &hint, const std::string &request_id);
http::Response DbFailure(const pg::Result &r, const std::string &request_id);

// A JSON response with this status and body.
http::Response Json(int status, std::string body);

using OnRows = std::function<http::Response(const pg::Result &)>;

// Runs sql with params on the pool and replies with on_ok(result) or the failure.
void RunQuery(const Context &ctx, const std::string &request_id, http::Reply reply, std::string sql,
              std::vector<std::optional<std::string>> params, OnRows on_ok);

// Checks that body is one JSON value of the kind wanted (object or array), valid UTF-8, nested
// at most kMaxJsonDepth deep. On success returns "" and, if traceparent is given, the body with
// metadata.traceparent set in the object (or in every object of the array) in *out; else *out =
// body. On failure returns the message of a 400.
inline constexpr int kMaxJsonDepth = 512;
enum class JsonKind { kObject, kArray };
std::string CheckJsonBody(const std::string &body, JsonKind kind, const std::string *traceparent, std::string *out);

// For a body that is a JSON object: the text of its "events" array in *array, the form
// {"events": [...]} of a batch (its only member). Returns "" or the message of a 400.
std::string UnwrapEvents(const std::string &body, std::string *array);

// True if value is a valid W3C traceparent (version-traceid-parentid-flags, lower-case hex, ids
// not all zero, version not ff).
bool IsValidTraceparent(const std::string &value);

// The request's traceparent header: nullptr when absent; sets *bad (400 message) when malformed.
const std::string *Traceparent(const http::Request &req, std::string *bad);

// The request body checked as above, with the request's traceparent header (validated) put into
// metadata when with_traceparent. False with the 400 in *error.
bool PrepareBody(const http::Request &req, JsonKind kind, bool with_traceparent, std::string *json,
                 http::Response *error);

// ---- Request parsing shared by the resources (subscriptions, processors, dead letters) ----

// on_ok for a one-value result: that value as the JSON body with status; when not_found is given,
// a NULL value is a 404 with that message.
OnRows OneValue(int status = 200, std::string request_id = "", std::string not_found = "");

// Runs sql with the named path parameters (ids: their casts in sql give 22P02 -> 400) as $1, $2,
// ..., and answers status with its one value.
void RunPathQuery(const Context &ctx, const http::Request &req, http::Reply reply, std::string sql,
                  std::initializer_list<const char *> path_params, int status = 200);

// The query parameters names (filters, then paging such as limit and offset), in that order, as
// SQL parameters (nullopt when absent). With strict, another parameter name is refused: false
// with the 400 in *error.
bool QueryParams(const http::Request &req, const std::vector<const char *> &names, bool strict,
                 std::vector<std::optional<std::string>> *out, http::Response *error);

// A boolean query parameter as clients send one: true/false in any letter case (Python's
// requests sends True and False), or 1/0. False for anything else.
bool ParseBoolParam(const std::string &value, bool *out);

// One member of a JSON object body: name, the jsonb_typeof of an accepted non-null value ("" any)
// and, for "array", whether its items must be strings.
struct BodyField {
	const char *name;
	const char *json_type = "";
	bool string_items = false;
};

// The shape checks of the object at SQL expression obj (members of fields, with messages
// naming prefix + name), as CASE branches: " WHEN <member of the wrong type> THEN '<message>'".
std::string TypeChecks(const std::string &obj, const std::string &prefix, const std::vector<BodyField> &fields);
// A CASE branch for a member of obj that is not in fields: 'unknown field[ in where] "<name>"
// (allowed: ...)'; with where, it applies only when obj is an object.
std::string UnknownFieldCheck(const std::string &obj, const std::vector<BodyField> &fields,
                              const std::string &where = "");
// The statement over a JSON object body ($1, alias r): column 1 call (not run when the body's
// shape is wrong), column 2 the problem: the first true branch of checks (from the two above).
std::string CheckedBodySql(const std::string &call, const std::string &checks);
// For the simple case: the shape of fields (types, then unknown members) checked before call.
std::string CheckedBodySql(const std::string &call, const std::vector<BodyField> &fields);

// The answer status for a result value (e.g. 200 for a dry run, 202 otherwise).
using StatusFor = std::function<int(const std::string &value)>;

// Runs sql (from CheckedBodySql, or any statement taking the body as $1) on the request's JSON
// object body: 400 with column 2 when it is not NULL, else status_for(column 1) with column 1.
// With empty_is_object an empty body counts as {}.
void RunBodyQuery(const Context &ctx, http::Request &&req, http::Reply reply, const std::string &sql,
                  StatusFor status_for, bool empty_is_object = false);
void RunBodyQuery(const Context &ctx, http::Request &&req, http::Reply reply, const std::string &sql, int status,
                  bool empty_is_object = false);

} // namespace event::sidecar::api
