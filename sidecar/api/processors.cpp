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
// unknown ids answer 404 (P0002), a duplicate processor name 409 (23505); body shapes and query
// parameters are parsed by the shared helpers of api/common.hpp ("Request parsing").
#include "api/routes.hpp"

namespace event::sidecar::api {

namespace {

// event_ids of body r as uuid[] (NULL when absent).
const char kEventIdsSql[] = "CASE WHEN r ? 'event_ids' THEN "
                            "ARRAY(SELECT pg_catalog.jsonb_array_elements_text(r->'event_ids'))::uuid[] END";

// A dry run answers at once with the events (200); a started replay is accepted (202).
int ReplayStatus(const std::string &value) { return value.find("\"dry_run\": true") != std::string::npos ? 200 : 202; }

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
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.list_processors()", {}, OneValue());
		},
		read);
	router->Add(
		"POST", "/api/v1/events/processors",
		[ctx](http::Request &&req, http::Reply reply) {
			RunBodyQuery(ctx, std::move(req), std::move(reply), "SELECT event.create_processor_json($1::jsonb)", 201);
		},
		body);
	router->Add(
		"PUT", "/api/v1/events/processors/{processor_id}/toggle",
		[ctx](http::Request &&req, http::Reply reply) {
			// Without ?enabled= the processor's state is flipped (event.toggle_processor with NULL).
			const std::string *enabled = req.Query("enabled");
			std::optional<std::string> state;
			bool on = false;
			if (enabled) {
				if (!ParseBoolParam(*enabled, &on))
					return reply(http::ErrorResponse(400, "bad_request", "query parameter enabled must be true or false",
					                                 req.request_id, "", "Allowed values: true, false (any letter case), 1, 0."));
				state = on ? "true" : "false";
			}
			RunQuery(ctx, req.request_id, std::move(reply), "SELECT event.toggle_processor($1::uuid, $2::boolean)",
			         {req.params["processor_id"], std::move(state)}, OneValue());
		},
		admin);
	router->Add(
		"DELETE", "/api/v1/events/processors/{processor_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunPathQuery(ctx, req, std::move(reply),
			             "SELECT pg_catalog.jsonb_build_object('deleted', true, 'processor', event.delete_processor($1::uuid))",
			             {"processor_id"});
		},
		admin);
	router->Add(
		"GET", "/api/v1/events/processing/{event_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT CASE WHEN event.get_event_json($1::uuid) IS NOT NULL THEN "
			         "event.get_processing_results($1::uuid) END",
			         {req.params["event_id"]}, OneValue(200, req.request_id, "event not found"));
		},
		read);
	router->Add(
		"POST", "/api/v1/events/replay",
		[ctx](http::Request &&req, http::Reply reply) {
			RunBodyQuery(ctx, std::move(req), std::move(reply), "SELECT event.replay_events($1::jsonb)", ReplayStatus);
		},
		body);
	router->Add(
		"GET", "/api/v1/events/replay/{replay_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunPathQuery(ctx, req, std::move(reply), "SELECT event.get_replay($1::uuid)", {"replay_id"});
		},
		read);
	router->Add(
		"GET", "/api/v1/events/dead-letters/processing",
		[ctx](http::Request &&req, http::Reply reply) {
			std::vector<std::optional<std::string>> params;
			http::Response error;
			QueryParams(req, {"processor", "event_type", "limit"}, false, &params, &error);
			RunQuery(ctx, req.request_id, std::move(reply),
			         "SELECT event.list_processing_dead_letters($1, $2, COALESCE($3::integer, 100))", std::move(params),
			         OneValue());
		},
		admin);
	router->Add(
		"GET", "/api/v1/events/dead-letters/processing/{event_id}",
		[ctx](http::Request &&req, http::Reply reply) {
			RunPathQuery(ctx, req, std::move(reply), "SELECT event.get_processing_dead_letter($1::uuid)", {"event_id"});
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
				std::vector<BodyField>{{"event_ids"}, {"processor_name"}, {"event_type"}});
			RunBodyQuery(ctx, std::move(req), std::move(reply), sql, 200);
		},
		body);
	// Body {"event_ids": [...], "older_than": "7 days"}: all given must match; {} purges all.
	router->Add(
		"POST", "/api/v1/events/dead-letters/processing/purge",
		[ctx](http::Request &&req, http::Reply reply) {
			static const std::string sql = CheckedBodySql(
				std::string("pg_catalog.jsonb_build_object('purged', event.purge_processing_dead_letters(") +
					kEventIdsSql + ", (r->>'older_than')::interval))",
				std::vector<BodyField>{{"event_ids"}, {"older_than"}});
			RunBodyQuery(ctx, std::move(req), std::move(reply), sql, 200);
		},
		body);
}

} // namespace event::sidecar::api
