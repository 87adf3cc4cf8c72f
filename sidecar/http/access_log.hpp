// access_log.hpp — what happens once per answered request: one JSON log line and the
// http_requests_total / http_request_duration_seconds metrics.
#pragma once

#include "http/request.hpp"

namespace event::sidecar::http {

// Logs {method, route, status, duration_ms, request_id, remote[, key_id]} (never bodies or
// headers) and counts the request by route ("unmatched" when no route matched) and status.
void RecordRequest(const Request &req, int status, double seconds);

} // namespace event::sidecar::http
