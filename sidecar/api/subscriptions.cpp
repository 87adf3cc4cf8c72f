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

const std::vector<BodyField> kFields = {
	{"subscriber_name", "string"},  {"subscriber_type", "string"},       {"callback_url", "string"},
	{"webhook_secret", "string"},   {"event_types", "array", true},      {"event_sources", "array", true},
	{"event_categories", "array", true}, {"retry_policy", "object"},
};
const std::vector<BodyField> kRetryFields = {
	{"max_attempts", "number"}, {"backoff_base_ms", "number"}, {"backoff_max_ms", "number"}};

// The SQL of create: $1 is the request object. Column 1 the subscription, column 2 the problem
// with the request's shape (then nothing was created).
std::string CreateSql() {
	std::string checks = TypeChecks("r", "", kFields) + TypeChecks("r->'retry_policy'", "retry_policy.", kRetryFields) +
	                     UnknownFieldCheck("r", kFields) +
	                     UnknownFieldCheck("r->'retry_policy'", kRetryFields, "retry_policy");
	auto list = [](const char *n) {
		return std::string("CASE WHEN r->'") + n + "' IS NULL OR r->'" + n + "' = 'null' THEN '{}'::text[] ELSE "
		       "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'" + n + "')) END";
	};
	auto retry = [](const char *n, const char *dflt) {
		return std::string("COALESCE((r->'retry_policy'->>'") + n + "')::numeric::integer, " + dflt + ")";
	};
	return CheckedBodySql(
		"event.create_subscription(subscriber_name => r->>'subscriber_name', callback_url => r->>'callback_url', "
		"event_types => " + list("event_types") + ", event_sources => " + list("event_sources") +
			", event_categories => " + list("event_categories") +
			", subscriber_type => COALESCE(r->>'subscriber_type', 'webhook'), webhook_secret => r->>'webhook_secret', "
			"max_attempts => " + retry("max_attempts", "5") + ", backoff_base_ms => " + retry("backoff_base_ms", "1000") +
			", backoff_max_ms => " + retry("backoff_max_ms", "60000") + ")",
		checks);
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
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.list_subscriptions()", {}, OneValue());
		},
		read);
	router->Add(
		"POST", "/api/v1/events/subscriptions",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = CreateSql();
			RunBodyQuery(ctx, std::move(req), std::move(reply), sql, 201);
		},
		create);
	router->Add(
		"DELETE", "/api/v1/events/subscriptions/{subscription_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunPathQuery(ctx, req, std::move(reply),
			             "SELECT pg_catalog.jsonb_build_object('deleted', true, 'subscription', "
			             "event.delete_subscription($1::uuid))",
			             {"subscription_id"});
		},
		admin);
}

} // namespace event::sidecar::api
