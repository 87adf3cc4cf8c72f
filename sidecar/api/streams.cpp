// streams.cpp — GET /api/v1/events/stream/{stream_id}?from_version= -> event.get_stream_json()
// (spec 3.5.1). A stream exists once it has an event: version 0 answers 404.
#include "api/routes.hpp"

namespace event::sidecar::api {

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
}

} // namespace event::sidecar::api
