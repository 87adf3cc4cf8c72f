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
// type is 400 here (api/common.hpp "Request parsing"), a malformed value 400 from the cast or the
// function.
#include "api/routes.hpp"

namespace event::sidecar::api {

namespace {

const std::vector<BodyField> kFilterFields = {
	{"subscription_id", "string"}, {"event_id", "string"}, {"start_time", "string"}, {"end_time", "string"}};

// SQL that calls fn with the filter of request object $1: column 1 the result, column 2 the
// problem with the request's shape (then fn was not called).
std::string FilterSql(const std::string &fn) {
	std::string call;
	for (const BodyField &f : kFilterFields) {
		std::string n = f.name;
		bool uuid = n == "subscription_id" || n == "event_id";
		call += (call.empty() ? "" : ", ") + n + " => (r->>'" + n + "')::" + (uuid ? "uuid" : "timestamptz");
	}
	return CheckedBodySql(fn + "(" + call + ")", kFilterFields);
}

void List(const Context &ctx, http::Request &&req, http::Reply reply) {
	std::vector<std::optional<std::string>> params;
	http::Response error;
	if (!QueryParams(req, {"subscription_id", "event_id", "start_time", "end_time", "limit", "offset"}, true, &params,
	                 &error))
		return reply(std::move(error));
	RunQuery(ctx, req.request_id, std::move(reply),
	         "SELECT event.list_dead_letters($1::uuid, $2::uuid, $3::timestamptz, $4::timestamptz, "
	         "COALESCE($5::integer, 100), COALESCE($6::integer, 0))",
	         std::move(params), OneValue());
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
			RunPathQuery(ctx, req, std::move(reply), "SELECT event.get_dead_letter($1)", {"delivery_id"});
		},
		admin);
	router->Add(
		"POST", base + "/{delivery_id}/retry",
		[ctx](http::Request &&req, http::Reply reply) {
			RunPathQuery(ctx, req, std::move(reply),
			             "SELECT pg_catalog.jsonb_build_object('retry_requested', true, 'dead_letter', "
			             "event.retry_dead_letter($1))",
			             {"delivery_id"}, 202);
		},
		admin);
	router->Add(
		"DELETE", base + "/{delivery_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunPathQuery(ctx, req, std::move(reply),
			             "SELECT pg_catalog.jsonb_build_object('purged', true, 'dead_letter', event.purge_dead_letter($1))",
			             {"delivery_id"});
		},
		admin);
	router->Add(
		"POST", base + "/retry",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = FilterSql("event.retry_dead_letters");
			RunBodyQuery(ctx, std::move(req), std::move(reply), sql, 202, true);
		},
		filter);
	router->Add(
		"POST", base + "/purge",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = FilterSql("event.purge_dead_letters");
			RunBodyQuery(ctx, std::move(req), std::move(reply), sql, 200, true);
		},
		filter);
}

} // namespace event::sidecar::api
