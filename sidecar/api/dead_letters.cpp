// dead_letters.cpp — delivery dead letters over HTTP (design.md "/api/v1/events/dead-letters",
// docs/http-api.md "Delivery dead letters"), admin scope, each a thin mapping onto one SQL function:
//   GET    /api/v1/events/dead-letters                      -> event.list_dead_letters(...)
//   GET    /api/v1/events/dead-letters/{delivery_id}        -> event.get_dead_letter(id)
//   POST   /api/v1/events/dead-letters/{delivery_id}/retry  -> event.retry_dead_letter(id)     202
//   POST   /api/v1/events/dead-letters/retry   {filter}     -> event.retry_dead_letters(...)   202
//   DELETE /api/v1/events/dead-letters/{delivery_id}        -> event.purge_dead_letter(id)
//   POST   /api/v1/events/dead-letters/purge   {filter}     -> event.purge_dead_letters(...)
// List filters are query parameters, the filter of retry/purge a JSON object with the same names
// (subscription_id, event_id, start_time, end_time); an unknown name or a value of the wrong JSON
// type is 400 here, a malformed value 400 from the cast or the function.
#include "api/routes.hpp"

namespace event::sidecar::api {

namespace {

const char *const kFilterFields[] = {"subscription_id", "event_id", "start_time", "end_time"};
const char *const kListParams[] = {"subscription_id", "event_id", "start_time", "end_time", "limit", "offset"};

// SQL that calls fn with the filter of request object $1: column 1 the result, column 2 the
// problem with the request's shape (then fn was not called).
std::string FilterSql(const std::string &fn) {
	std::string known, problem = "CASE", call;
	for (const char *f : kFilterFields) {
		std::string n = f;
		bool uuid = n == "subscription_id" || n == "event_id";
		known += (known.empty() ? "'" : ", '") + n + "'";
		problem += " WHEN pg_catalog.jsonb_typeof(r->'" + n + "') NOT IN ('string', 'null') THEN '" + n +
		           " must be a string'";
		call += (call.empty() ? "" : ", ") + n + " => (r->>'" + n + "')::" + (uuid ? "uuid" : "timestamptz");
	}
	problem += " WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(r) k WHERE k NOT IN (" + known +
	           ")) THEN 'unknown field \"' || (SELECT pg_catalog.min(k) FROM pg_catalog.jsonb_object_keys(r) k "
	           "WHERE k NOT IN (" + known + ")) || '\"' END";
	return "SELECT CASE WHEN p IS NULL THEN " + fn + "(" + call + ") END, p FROM (SELECT r, " + problem +
	       " AS p FROM (SELECT $1::jsonb AS r) x) y";
}

// POST retry / purge with a filter body.
void Filtered(const Context &ctx, http::Request &&req, http::Reply reply, const std::string &sql, int status) {
	std::string json;
	http::Response error;
	if (req.body.empty())
		req.body = "{}";
	if (!PrepareBody(req, JsonKind::kObject, false, &json, &error))
		return reply(std::move(error));
	std::string rid = req.request_id;
	RunQuery(ctx, rid, std::move(reply), sql, {std::move(json)}, [rid, status](const pg::Result &r) {
		if (!r.IsNull(0, 1))
			return http::ErrorResponse(400, "bad_request", r.Value(0, 1), rid);
		return Json(status, r.Value(0, 0));
	});
}

void List(const Context &ctx, http::Request &&req, http::Reply reply) {
	std::vector<std::optional<std::string>> params;
	for (const auto &[name, value] : req.query) {
		bool known = false;
		for (const char *p : kListParams)
			known = known || name == p;
		if (!known)
			return reply(http::ErrorResponse(400, "bad_request",
			                                 "unknown query parameter \"" + name +
			                                     "\" (allowed: subscription_id, event_id, start_time, end_time, "
			                                     "limit, offset)",
			                                 req.request_id));
	}
	for (const char *p : kListParams) {
		const std::string *v = req.Query(p);
		params.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
	}
	RunQuery(ctx, req.request_id, std::move(reply),
	         "SELECT event.list_dead_letters($1::uuid, $2::uuid, $3::timestamptz, $4::timestamptz, "
	         "COALESCE($5::integer, 100), COALESCE($6::integer, 0))",
	         std::move(params), [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
}

} // namespace

void AddDeadLetterRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions admin;
	admin.scope = http::Scope::kAdmin;
	http::RouteOptions filter = admin;
	filter.json_body = true;
	filter.max_body = 16 << 10;
	const std::string base = "/api/v1/events/dead-letters";

	router->Add(
		"GET", base, [ctx](http::Request &&req, http::Reply reply) { List(ctx, std::move(req), std::move(reply)); },
		admin);
	router->Add(
		"GET", base + "/{delivery_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.get_dead_letter($1)",
			         {req.params["delivery_id"]}, [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
	router->Add(
		"POST", base + "/{delivery_id}/retry",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT pg_catalog.jsonb_build_object('retry_requested', true, 'dead_letter', "
			         "event.retry_dead_letter($1))",
			         {req.params["delivery_id"]}, [](const pg::Result &r) { return Json(202, r.Value(0, 0)); });
		},
		admin);
	router->Add(
		"DELETE", base + "/{delivery_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT pg_catalog.jsonb_build_object('purged', true, 'dead_letter', event.purge_dead_letter($1))",
			         {req.params["delivery_id"]}, [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
	router->Add(
		"POST", base + "/retry",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = FilterSql("event.retry_dead_letters");
			Filtered(ctx, std::move(req), std::move(reply), sql, 202);
		},
		filter);
	router->Add(
		"POST", base + "/purge",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = FilterSql("event.purge_dead_letters");
			Filtered(ctx, std::move(req), std::move(reply), sql, 200);
		},
		filter);
}

} // namespace event::sidecar::api
