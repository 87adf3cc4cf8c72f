// streams.cpp — GET /api/v1/events/stream/{stream_id}?from_version= -> event.get_stream_json()
// (spec 3.5.1; a stream exists once it has an event: version 0 answers 404), and the hierarchy
// (docs/http-api.md "Stream hierarchy"): GET /api/v1/events/streams?entity_type=&after=&limit=
// -> event.list_streams(), GET /api/v1/events/category/{entity_type}?after_position=&max_count=
// -> event.read_category().
#include "api/routes.hpp"

namespace event::sidecar::api {

namespace {

// An optional query parameter as a SQL parameter (NULL when absent).
std::optional<std::string> OptionalQuery(const http::Request &req, const char *name) {
	const std::string *value = req.Query(name);
	return value ? std::optional<std::string>(*value) : std::nullopt;
}

void AddHierarchyRoutes(http::Router *router, const http::RouteOptions &read, const Context &ctx) {
	router->Add(
		"GET", "/api/v1/events/streams",
		[ctx](http::Request &&req, http::Reply reply) {
			std::string rid = req.request_id;
			std::optional<std::string> entity_type = OptionalQuery(req, "entity_type");
			if (!entity_type || entity_type->empty())
				return reply(http::ErrorResponse(400, "bad_request", "query parameter \"entity_type\" is required", rid,
				                                 "", "List the streams of one entity type: ?entity_type=order."));
			RunQuery(ctx, rid, std::move(reply),
			         "SELECT pg_catalog.jsonb_build_object('entity_type', $1::text, 'streams', "
			         "COALESCE(pg_catalog.jsonb_agg(pg_catalog.to_jsonb(s) ORDER BY s.entity_id), '[]'), "
			         "'next_after', CASE WHEN pg_catalog.count(*) = COALESCE($3::integer, 100) "
			         "THEN pg_catalog.max(s.entity_id) END) "
			         "FROM event.list_streams($1, $2, COALESCE($3::integer, 100)) s",
			         {entity_type, OptionalQuery(req, "after"), OptionalQuery(req, "limit")},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		read);
	router->Add(
		"GET", "/api/v1/events/category/{entity_type}",
		[ctx](http::Request &&req, http::Reply reply) {
			std::string rid = req.request_id;
			RunQuery(ctx, rid, std::move(reply),
			         "SELECT pg_catalog.jsonb_build_object('entity_type', $1::text, 'events', "
			         "COALESCE(pg_catalog.jsonb_agg(event.get_event_json(e.event_id) ORDER BY e.position), '[]'), "
			         "'last_position', COALESCE(pg_catalog.max(e.position), COALESCE($2::bigint, 0))) "
			         "FROM event.read_category($1, COALESCE($2::bigint, 0), COALESCE($3::integer, 1000)) e",
			         {req.params["entity_type"], OptionalQuery(req, "after_position"), OptionalQuery(req, "max_count")},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		read);
}

} // namespace

void AddStreamRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions read;
	read.scope = http::Scope::kRead;
	router->Add(
		"GET", "/api/v1/events/stream/{stream_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			std::string rid = req.request_id;
			std::string stream_id = req.params["stream_id"];
			const std::string *from = req.Query("from_version");
			std::optional<std::string> from_version;
			if (from)
				from_version = *from;
			RunQuery(ctx, rid, std::move(reply),
			         "SELECT s, (s->>'version')::bigint = 0 "
			         "FROM event.get_stream_json($1, COALESCE($2::bigint, 1)) s",
			         {stream_id, from_version}, [rid, stream_id](const pg::Result &r) {
				         if (r.Value(0, 1) == "t")
					         return http::ErrorResponse(404, "not_found", "stream \"" + stream_id + "\" does not exist",
					                                    rid);
				         return Json(200, r.Value(0, 0));
			         });
		},
		read);
	AddHierarchyRoutes(router, read, ctx);
}

} // namespace event::sidecar::api
