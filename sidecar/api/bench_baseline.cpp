// bench_baseline.cpp — POST /bench/insert, registered only with --bench-baseline on: the
// baseline of test/bench/http.sh. The same server, router, auth and pool as
// POST /api/v1/events/create, but one plain INSERT into bench.base_events (test/bench/setup.sql)
// per request in its own transaction: no group commit, no extension code. Never enable it in
// production (the table exists only in benchmark databases).
#include "api/routes.hpp"

namespace event::sidecar::api {

void AddBenchBaselineRoute(http::Router *router, const Context &ctx) {
	http::RouteOptions write;
	write.scope = http::Scope::kWrite;
	write.json_body = true;
	router->Add(
		"POST", "/bench/insert",
		[ctx](http::Request &&req, http::Reply reply) {
			std::string json;
			http::Response error;
			if (!PrepareBody(req, JsonKind::kObject, false, &json, &error))
				return reply(std::move(error));
			RunQuery(ctx, req.request_id, std::move(reply),
			         "INSERT INTO bench.base_events (event_type, event_source, event_category, user_id, data) "
			         "SELECT r->>'event_type', COALESCE(r->>'event_source', 'backend'), "
			         "COALESCE(r->>'event_category', 'user_action'), r->>'user_id', COALESCE(r->'data', '{}') "
			         "FROM (SELECT $1::jsonb AS r) x RETURNING pg_catalog.jsonb_build_object('event_id', event_id)",
			         {std::move(json)}, [](const pg::Result &r) { return Json(201, r.Value(0, 0)); });
		},
		write);
}

} // namespace event::sidecar::api
