// events.cpp — the event resource (spec 3.1.1, 3.1.2, 3.2.1, 3.2.2):
//   POST /api/v1/events/create      -> event.create_events(array, ...) via group commit (one item)
//   POST /api/v1/events/batch       -> event.create_events(array, atomic)
//   GET  /api/v1/events/{event_id}  -> event.get_event_json(uuid)
//   POST /api/v1/events/query       -> event.query_events_text(request)
// Statuses: create 201 (200 when the idempotency key returned an existing event); batch 201
// atomic, 200 with per-item results otherwise; errors by the SQLSTATE table.
#include "api/routes.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::api {

namespace {

metrics::Counter &EventsCreated(const char *route) {
	static auto &family = metrics::Default().Counter("event_api_events_created_total",
	                                                 "Events stored through the HTTP API.", {"route"});
	return family.With({route});
}

void Create(const Context &ctx, http::Request &&req, http::Reply reply) {
	std::string json;
	http::Response error;
	if (!PrepareBody(req, JsonKind::kObject, true, &json, &error))
		return reply(std::move(error));
	std::string rid = req.request_id;
	static metrics::Counter &created = EventsCreated("/api/v1/events/create");
	pg::Result::Status refusal = pg::Result::Status::kUnavailable;
	bool queued = ctx.committer->Submit(
		std::move(json),
		[reply, rid](ItemResult r) {
			if (r.status != pg::Result::Status::kOk || !r.stored) {
				pg::Result::Status s = r.status == pg::Result::Status::kOk ? pg::Result::Status::kSqlError : r.status;
				return reply(DbFailure(s, r.sqlstate, r.message, r.detail, r.hint, rid));
			}
			if (!r.duplicate)
				created.Inc();
			reply(Json(r.duplicate ? 200 : 201, std::move(r.event_json)));
		},
		&refusal);
	if (!queued)
		reply(DbFailure(refusal, "", "", "", "", rid));
}

void Batch(const Context &ctx, http::Request &&req, http::Reply reply) {
	const std::string *atomic_param = req.Query("atomic");
	bool atomic = true;
	if (atomic_param && !ParseBoolParam(*atomic_param, &atomic))
		return reply(http::ErrorResponse(400, "bad_request", "invalid atomic \"" + *atomic_param + "\"",
		                                 req.request_id, "", "Allowed values: true, false (any letter case), 1, 0."));
	// The batch is a JSON array of events, or an object {"events": [...]} as the frontend batch.
	size_t first = req.body.find_first_not_of(" \t\r\n");
	if (first != std::string::npos && req.body[first] == '{') {
		std::string items;
		std::string bad = UnwrapEvents(req.body, &items);
		if (!bad.empty())
			return reply(http::ErrorResponse(400, "invalid_json", bad, req.request_id));
		req.body = std::move(items);
	}
	std::string json;
	http::Response error;
	if (!PrepareBody(req, JsonKind::kArray, true, &json, &error))
		return reply(std::move(error));
	static metrics::Counter &created = EventsCreated("/api/v1/events/batch");
	RunQuery(ctx, req.request_id, std::move(reply),
	         "SELECT r, CASE WHEN $2 THEN pg_catalog.jsonb_array_length(r) ELSE (SELECT pg_catalog.count(*) "
	         "FROM pg_catalog.jsonb_array_elements(r) x WHERE x->>'status' = 'created') END "
	         "FROM event.create_events($1::jsonb, $2::boolean) r",
	         {std::move(json), std::string(atomic ? "true" : "false")}, [atomic](const pg::Result &r) {
		         created.Inc(std::strtoull(r.Value(0, 1).c_str(), nullptr, 10));
		         return Json(atomic ? 201 : 200, r.Value(0, 0));
	         });
}

void Get(const Context &ctx, http::Request &&req, http::Reply reply) {
	std::string rid = req.request_id;
	std::string id = req.params["event_id"];
	RunQuery(ctx, rid, std::move(reply), "SELECT event.get_event_json($1::uuid)", {id},
	         [rid, id](const pg::Result &r) {
		         if (r.IsNull(0, 0))
			         return http::ErrorResponse(404, "not_found", "event \"" + id + "\" does not exist", rid);
		         return Json(200, r.Value(0, 0));
	         });
}

void Query(const Context &ctx, http::Request &&req, http::Reply reply) {
	std::string json;
	http::Response error;
	if (!PrepareBody(req, JsonKind::kObject, false, &json, &error))
		return reply(std::move(error));
	RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.query_events_text($1::jsonb)", {std::move(json)},
	         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
}

} // namespace

void AddEventRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions write;
	write.scope = http::Scope::kWrite;
	write.json_body = true;
	http::RouteOptions batch = write;
	batch.max_body = 16 << 20; // up to event.max_batch_size (1000) items of up to ~16 KB each
	http::RouteOptions read;
	read.scope = http::Scope::kRead;
	http::RouteOptions query = read;
	query.json_body = true;
	query.max_body = 64 << 10;

	router->Add(
		"POST", "/api/v1/events/create", [ctx](http::Request &&req, http::Reply reply) { Create(ctx, std::move(req), std::move(reply)); },
		write);
	router->Add(
		"POST", "/api/v1/events/batch", [ctx](http::Request &&req, http::Reply reply) { Batch(ctx, std::move(req), std::move(reply)); },
		batch);
	router->Add(
		"GET", "/api/v1/events/{event_id}", [ctx](http::Request &&req, http::Reply reply) { Get(ctx, std::move(req), std::move(reply)); },
		read);
	router->Add(
		"POST", "/api/v1/events/query", [ctx](http::Request &&req, http::Reply reply) { Query(ctx, std::move(req), std::move(reply)); },
		query);
}

} // namespace event::sidecar::api
