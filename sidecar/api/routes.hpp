// routes.hpp — the management API of spec 5.1 (endpoints 2-7 and 10-12; /health is http/status_routes):
// one Add*Routes per resource file, each endpoint a thin mapping onto one SQL function.
#pragma once

#include "api/common.hpp"
#include "http/router.hpp"

namespace event::sidecar::api {

// events.cpp: POST create (group commit), POST batch, GET {event_id}, POST query.
void AddEventRoutes(http::Router *router, const Context &ctx);
// statistics.cpp: GET /api/v1/events/statistics.
void AddStatisticsRoutes(http::Router *router, const Context &ctx);
// streams.cpp: GET /api/v1/events/stream/{stream_id}, GET /api/v1/events/streams?entity_type= and
// GET /api/v1/events/category/{entity_type} (stream hierarchy).
void AddStreamRoutes(http::Router *router, const Context &ctx);
// projections.cpp: GET /api/v1/events/projections/{entity_type}/{entity_id}.
void AddProjectionRoutes(http::Router *router, const Context &ctx);

// subscriptions.cpp: GET/POST /api/v1/events/subscriptions, DELETE .../subscriptions/{subscription_id}.
void AddSubscriptionRoutes(http::Router *router, const Context &ctx);

// processors.cpp: processors (GET/POST .../processors, PUT .../{processor_id}/toggle, DELETE), replay
// (POST /api/v1/events/replay, GET .../replay/{replay_id}), processing results and processing dead letters.
void AddProcessorRoutes(http::Router *router, const Context &ctx);
// dead_letters.cpp: /api/v1/events/dead-letters (list, inspect, retry, purge; admin).
void AddDeadLetterRoutes(http::Router *router, const Context &ctx);

// bench_baseline.cpp: POST /bench/insert, the benchmark baseline (only with --bench-baseline on).
void AddBenchBaselineRoute(http::Router *router, const Context &ctx);

// All of them.
inline void AddApiRoutes(http::Router *router, const Context &ctx) {
	AddEventRoutes(router, ctx);
	AddStatisticsRoutes(router, ctx);
	AddStreamRoutes(router, ctx);
	AddProjectionRoutes(router, ctx);
	AddSubscriptionRoutes(router, ctx);
	AddProcessorRoutes(router, ctx);
	AddDeadLetterRoutes(router, ctx);
}

} // namespace event::sidecar::api
