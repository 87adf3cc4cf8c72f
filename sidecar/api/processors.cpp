// processors.cpp — event processors, replay and processing dead letters (spec 3.3, endpoints 8,
// 13-15; docs/http-api.md), each a thin mapping onto one SQL function:
//   GET    /api/v1/events/processors                          -> event.list_processors()        (read)
//   POST   /api/v1/events/processors                          -> event.create_processor_json()  (admin, 201)
//   PUT    /api/v1/events/processors/{processor_id}/toggle    -> event.toggle_processor()       (admin)
//   DELETE /api/v1/events/processors/{processor_id}           -> event.delete_processor()       (admin)
//   GET    /api/v1/events/processing/{event_id}               -> event.get_processing_results() (read)
//   POST   /api/v1/events/replay                              -> event.replay_events()          (admin; 202, dry run 200)
//   GET    /api/v1/events/replay/{replay_id}                  -> event.get_replay()             (read)
//   GET    /api/v1/events/dead-letters/processing             -> event.list_processing_dead_letters() (admin)
//   GET    /api/v1/events/dead-letters/processing/{event_id}  -> event.get_processing_dead_letter()   (admin)
//   POST   /api/v1/events/dead-letters/processing/retry       -> event.retry_processing_dead_letters() (admin)
//   POST   /api/v1/events/dead-letters/processing/purge       -> event.purge_processing_dead_letters() (admin)
// Malformed ids and values are refused by the SQL functions and casts (22P02/22023 -> 400),
// unknown ids answer 404 (P0002), a duplicate processor name 409 (23505).
#include "api/routes.hpp"

namespace event::sidecar::api {

namespace {

// A JSON-bodied route: the body must be one JSON object; sql takes it as $1.
void WithBody(const Context &ctx, http::Request &&req, http::Reply reply, const std::string &sql, int status,
              bool dry_run_ok) {
	std::string json;
	http::Response error;
	if (!PrepareBody(req, JsonKind::kObject, false, &json, &error))
		return reply(std::move(error));
	std::string rid = req.request_id;
	RunQuery(ctx, rid, std::move(reply), sql, {std::move(json)}, [status, dry_run_ok, rid](const pg::Result &r) {
		if (r.columns > 1 && !r.IsNull(0, 1))
			return http::ErrorResponse(400, "bad_request", r.Value(0, 1), rid);
		// A dry run answers at once with the events (200); a started replay is accepted (202).
		bool dry = dry_run_ok && r.Value(0, 0).find("\"dry_run\": true") != std::string::npos;
		return Json(dry ? 200 : status, r.Value(0, 0));
	});
}

// SQL over a body object r ($1) that first refuses fields other than allowed (column 2: the 400
// message, and call is not run), else runs call.
std::string CheckedBodySql(const std::string &call, const std::string &allowed) {
	return "SELECT CASE WHEN p IS NULL THEN " + call + " END, p FROM (SELECT r, (SELECT 'unknown field \"' || "
	       "pg_catalog.min(k) || '\" (allowed: " + allowed + ")' FROM pg_catalog.jsonb_object_keys(r) k "
	       "WHERE k <> ALL (pg_catalog.string_to_array('" + allowed + "', ', '))) AS p FROM (SELECT $1::jsonb AS r) x) y";
}

// event_ids of body r as uuid[] (NULL when absent).
const char kEventIdsSql[] = "CASE WHEN r ? 'event_ids' THEN "
                            "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'event_ids'))::uuid[] END";

// A query parameter as an SQL parameter (nullopt when absent).
std::optional<std::string> Param(const http::Request &req, const char *name) {
	const std::string *v = req.Query(name);
	return v ? std::optional<std::string>(*v) : std::nullopt;
}

} // namespace

void AddProcessorRoutes(http::Router *router, const Context &ctx) {
	http::RouteOptions read;
	read.scope = http::Scope::kRead;
	http::RouteOptions admin;
	admin.scope = http::Scope::kAdmin;
	http::RouteOptions body = admin;
	body.json_body = true;
	body.max_body = 1 << 20;

	router->Add(
		"GET", "/api/v1/events/processors",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.list_processors()", {},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		read);
	router->Add(
		"POST", "/api/v1/events/processors",
		[ctx](http::Request &&req, http::Reply reply) {
			WithBody(ctx, std::move(req), std::move(reply), "SELECT event.create_processor_json($1::jsonb)", 201, false);
		},
		body);
	router->Add(
		"PUT", "/api/v1/events/processors/{processor_id}/toggle",
		[ctx](http::Request &&req, http::Reply reply) {
			const std::string *enabled = req.Query("enabled");
			if (!enabled || (*enabled != "true" && *enabled != "false"))
				return reply(http::ErrorResponse(400, "bad_request", "query parameter enabled must be true or false",
				                                 req.request_id));
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.toggle_processor($1::uuid, $2::boolean)",
			         {req.params["processor_id"], *enabled}, [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
	router->Add(
		"DELETE", "/api/v1/events/processors/{processor_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT pg_catalog.jsonb_build_object('deleted', true, 'processor', event.delete_processor($1::uuid))",
			         {req.params["processor_id"]}, [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
	router->Add(
		"GET", "/api/v1/events/processing/{event_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT CASE WHEN event.get_event_json($1::uuid) IS NOT NULL THEN "
			         "event.get_processing_results($1::uuid) END",
			         {req.params["event_id"]}, [rid = req.request_id](const pg::Result &r) {
				         if (r.IsNull(0, 0))
					         return http::ErrorResponse(404, "not_found", "event not found", rid);
				         return Json(200, r.Value(0, 0));
			         });
		},
		read);
	router->Add(
		"POST", "/api/v1/events/replay",
		[ctx](http::Request &&req, http::Reply reply) {
			WithBody(ctx, std::move(req), std::move(reply), "SELECT event.replay_events($1::jsonb)", 202, true);
		},
		body);
	router->Add(
		"GET", "/api/v1/events/replay/{replay_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.get_replay($1::uuid)", {req.params["replay_id"]},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		read);
	router->Add(
		"GET", "/api/v1/events/dead-letters/processing",
		[ctx](http::Request &&req, http::Reply reply) {
			std::optional<std::string> limit = Param(req, "limit");
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT event.list_processing_dead_letters($1, $2, COALESCE($3::integer, 100))",
			         {Param(req, "processor"), Param(req, "event_type"), limit},
			         [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
	router->Add(
		"GET", "/api/v1/events/dead-letters/processing/{event_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.get_processing_dead_letter($1::uuid)",
			         {req.params["event_id"]}, [](const pg::Result &r) { return Json(200, r.Value(0, 0)); });
		},
		admin);
	// Body {"event_ids": [...], "processor_name": "...", "event_type": "..."}: all given must match;
	// {} retries every dead letter.
	router->Add(
		"POST", "/api/v1/events/dead-letters/processing/retry",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = CheckedBodySql(
				std::string("pg_catalog.jsonb_build_object('retried', event.retry_processing_dead_letters(") +
					kEventIdsSql + ", r->>'processor_name', r->>'event_type'))",
				"event_ids, processor_name, event_type");
			WithBody(ctx, std::move(req), std::move(reply), sql, 200, false);
		},
		body);
	// Body {"event_ids": [...], "older_than": "7 days"}: all given must match; {} purges all.
	router->Add(
		"POST", "/api/v1/events/dead-letters/processing/purge",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = CheckedBodySql(
				std::string("pg_catalog.jsonb_build_object('purged', event.purge_processing_dead_letters(") +
					kEventIdsSql + ", (r->>'older_than')::interval))",
				"event_ids, older_than");
			WithBody(ctx, std::move(req), std::move(reply), sql, 200, false);
		},
		body);
}

} // namespace event::sidecar::api
