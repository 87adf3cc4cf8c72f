// statistics.cpp — GET /api/v1/events/statistics -> event.get_statistics() (spec 3.2.3).
#include "api/routes.hpp"

namespace event::sidecar::api {

void AddStatisticsRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions read;
	read.scope = http::Scope::kRead;
	router->Add(
		"GET", "/api/v1/events/statistics",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.get_statistics()", {},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		read);
}

} // namespace event::sidecar::api
