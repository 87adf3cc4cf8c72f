// status_routes.cpp — GET /health and GET /metrics (see status_routes.hpp).
#include "http/status_routes.hpp"

#include <cstring>

#include "metrics/registry.hpp"

namespace event::sidecar::http {

void AddStatusRoutes(Router *router, const Metrics *metrics, const std::string *slot) {
	RegisterRelayMetrics(&metrics::Default(), metrics, *slot);
	router->Add("GET", "/health", [metrics, slot](Request &&, Reply reply) {
		Response r;
		r.body = RenderHealthJson(*metrics, *slot);
		r.status = std::strcmp(HealthStatus(*metrics), "down") == 0 ? 503 : 200;
		reply(std::move(r));
	});
	router->Add("GET", "/metrics", [](Request &&, Reply reply) {
		Response r;
		r.content_type = "text/plain; version=0.0.4; charset=utf-8";
		r.body = metrics::Default().Render();
		reply(std::move(r));
	});
}

} // namespace event::sidecar::http
