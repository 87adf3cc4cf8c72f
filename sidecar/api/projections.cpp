// projections.cpp — GET /api/v1/events/projections/{entity_type}/{entity_id}?projection=
// -> event.get_projection() (spec 3.5.2, endpoint 9). An entity without a state answers 404; a
// projection named that the type does not have is P0002 from the function, also a 404 (a type
// without any projection gets its events merged at read time by the function).
#include "api/routes.hpp"

namespace event::sidecar::api {

void AddProjectionRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions read;
	read.scope = http::Scope::kRead;
	router->Add(
		"GET", "/api/v1/events/projections/{entity_type}/{entity_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			std::string rid = req.request_id;
			std::string entity_type = req.params["entity_type"];
			std::string entity_id = req.params["entity_id"];
			const std::string *name = req.Query("projection");
			std::optional<std::string> projection;
			if (name)
				projection = *name;
			RunQuery(ctx, rid, std::move(reply), "SELECT p, p IS NULL FROM event.get_projection($1, $2, $3) p",
			         {entity_type, entity_id, projection}, [rid, entity_type, entity_id](const pg::Result &r) {
				         if (r.Value(0, 1) == "t")
					         return http::ErrorResponse(404, "not_found",
					                                    "entity \"" + entity_type + ":" + entity_id +
					                                        "\" has no projection state",
					                                    rid);
				         return Json(200, r.Value(0, 0));
			         });
		},
		read);
}

} // namespace event::sidecar::api
