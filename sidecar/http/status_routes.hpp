// status_routes.hpp — GET /health and GET /metrics on the router.
#pragma once

#include <string>

#include "http/router.hpp"
#include "metrics.hpp"

namespace event::sidecar::http {

// /health: the relay's JSON health (503 when down); /metrics: metrics::Default() in Prometheus text,
// after registering the relay metrics there. metrics and slot must outlive the server.
void AddStatusRoutes(Router *router, const Metrics *metrics, const std::string *slot);

} // namespace event::sidecar::http
