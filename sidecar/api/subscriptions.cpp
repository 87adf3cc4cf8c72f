// subscriptions.cpp — webhook subscriptions (spec 3.4, endpoints 10-12):
//   GET    /api/v1/events/subscriptions                    -> event.list_subscriptions()   (read)
//   POST   /api/v1/events/subscriptions                    -> event.create_subscription() (admin)
//   DELETE /api/v1/events/subscriptions/{subscription_id}  -> event.delete_subscription() (admin)
// The body's JSON types are checked in the same statement, before the function runs (unknown
// fields, a string where an array belongs: 400 naming the field); the values are checked by the
// function (22023 -> 400). Create answers 201 with the secret (shown only then), delete 200
// {"deleted": true, "subscription": ...}, an unknown id 404, a malformed id 400.
#include "api/routes.hpp"

namespace event::sidecar::api {

namespace {

struct Field {
	const char *name;
	const char *json_type; // jsonb_typeof of an accepted non-null value
	bool string_items;     // an array of strings
};

const Field kFields[] = {
	{"subscriber_name", "string", false}, {"subscriber_type", "string", false}, {"callback_url", "string", false},
	{"webhook_secret", "string", false},  {"event_types", "array", true},       {"event_sources", "array", true},
	{"event_categories", "array", true},  {"retry_policy", "object", false},
};
const char *const kRetryFields[] = {"max_attempts", "backoff_base_ms", "backoff_max_ms"};

// The SQL of create: $1 is the request object. Column 1 the subscription, column 2 the problem
// with the request's shape (then nothing was created).
std::string CreateSql() {
	std::string known, problem = "CASE";
	for (const Field &f : kFields) {
		std::string n = f.name;
		known += (known.empty() ? "'" : ", '") + n + "'";
		problem += " WHEN pg_catalog.jsonb_typeof(r->'" + n + "') NOT IN ('" + f.json_type + "', 'null') THEN '" + n +
		           " must be " + (f.string_items ? "an array of strings" : std::string("a ") + f.json_type) + "'";
		if (f.string_items)
			problem += " WHEN pg_catalog.jsonb_typeof(r->'" + n + "') = 'array' AND EXISTS (SELECT 1 FROM "
			           "pg_catalog.jsonb_array_elements(r->'" + n + "') e WHERE pg_catalog.jsonb_typeof(e) <> 'string') "
			           "THEN '" + n + " must be an array of strings'";
	}
	std::string retry_known;
	for (const char *f : kRetryFields) {
		std::string n = f;
		retry_known += (retry_known.empty() ? "'" : ", '") + n + "'";
		problem += " WHEN pg_catalog.jsonb_typeof(r->'retry_policy') = 'object' AND "
		           "pg_catalog.jsonb_typeof(r->'retry_policy'->'" + n + "') NOT IN ('number', 'null') THEN 'retry_policy." +
		           n + " must be a number'";
	}
	problem += " WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_object_keys(r) k WHERE k NOT IN (" + known +
	           ")) THEN 'unknown field \"' || (SELECT pg_catalog.min(k) FROM pg_catalog.jsonb_object_keys(r) k "
	           "WHERE k NOT IN (" + known + ")) || '\"'";
	problem += " WHEN pg_catalog.jsonb_typeof(r->'retry_policy') = 'object' AND EXISTS (SELECT 1 FROM "
	           "pg_catalog.jsonb_object_keys(r->'retry_policy') k WHERE k NOT IN (" + retry_known +
	           ")) THEN 'unknown field in retry_policy (allowed: " + std::string("max_attempts, backoff_base_ms, "
	           "backoff_max_ms)'") + " END";
	auto list = [](const char *n) {
		return std::string("CASE WHEN r->'") + n + "' IS NULL OR r->'" + n + "' = 'null' THEN '{}'::text[] ELSE "
		       "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'" + n + "')) END";
	};
	auto retry = [](const char *n, const char *dflt) {
		return std::string("COALESCE((r->'retry_policy'->>'") + n + "')::numeric::integer, " + dflt + ")";
	};
	return "SELECT CASE WHEN p IS NULL THEN event.create_subscription(subscriber_name => r->>'subscriber_name', "
	       "callback_url => r->>'callback_url', event_types => " + list("event_types") +
	       ", event_sources => " + list("event_sources") + ", event_categories => " + list("event_categories") +
	       ", subscriber_type => COALESCE(r->>'subscriber_type', 'webhook'), webhook_secret => r->>'webhook_secret', "
	       "max_attempts => " + retry("max_attempts", "5") + ", backoff_base_ms => " + retry("backoff_base_ms", "1000") +
	       ", backoff_max_ms => " + retry("backoff_max_ms", "60000") + ") END, p "
	       "FROM (SELECT r, " + problem + " AS p FROM (SELECT $1::jsonb AS r) x) y";
}

void Create(const Context &ctx, http::Request &&req, http::Reply reply) {
	std::string json;
	http::Response error;
	if (!PrepareBody(req, JsonKind::kObject, false, &json, &error))
		return reply(std::move(error));
	static const std::string sql = CreateSql();
	std::string rid = req.request_id;
	RunQuery(ctx, rid, std::move(reply), sql, {std::move(json)}, [rid](const pg::Result &r) {
		if (!r.IsNull(0, 1))
			return http::ErrorResponse(400, "bad_request", r.Value(0, 1), rid);
		return Json(201, r.Value(0, 0));
	});
}

} // namespace

void AddSubscriptionRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions read;
	read.scope = http::Scope::kRead;
	http::RouteOptions admin;
	admin.scope = http::Scope::kAdmin;
	http::RouteOptions create = admin;
	create.json_body = true;
	create.max_body = 64 << 10;

	router->Add(
		"GET", "/api/v1/events/subscriptions",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.list_subscriptions()", {},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		read);
	router->Add(
		"POST", "/api/v1/events/subscriptions",
		[ctx](http::Request &&req, http::Reply reply) { Create(ctx, std::move(req), std::move(reply)); }, create);
	router->Add(
		"DELETE", "/api/v1/events/subscriptions/{subscription_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT pg_catalog.jsonb_build_object('deleted', true, 'subscription', "
			         "event.delete_subscription($1::uuid))",
			         {req.params["subscription_id"]}, [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
}

} // namespace event::sidecar::api
