// common.hpp — what every API resource file shares: the context (pool, group committer, metrics),
// running one SQL function for a request and answering from its result, mapping database
// failures to the one JSON error shape, and the transport-level JSON checks (well-formed JSON of
// the expected kind, W3C traceparent into metadata). Field validation is the extension's.
#pragma once

#include <functional>
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

// True if value is a valid W3C traceparent (version-traceid-parentid-flags, lower-case hex, ids
// not all zero, version not ff).
bool IsValidTraceparent(const std::string &value);

// The request's traceparent header: nullptr when absent; sets *bad (400 message) when malformed.
const std::string *Traceparent(const http::Request &req, std::string *bad);

// The request body checked as above, with the request's traceparent header (validated) put into
// metadata when with_traceparent. False with the 400 in *error.
bool PrepareBody(const http::Request &req, JsonKind kind, bool with_traceparent, std::string *json,
                 http::Response *error);

} // namespace event::sidecar::api
