// response.hpp — the typed HTTP response of a route handler, the one JSON error shape and the one
// SQLSTATE -> HTTP status table.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/stream.hpp"
#include <utility>
#include <vector>

namespace event::sidecar::http {

struct Response {
	int status = 200;
	std::string content_type = "application/json";
	std::vector<std::pair<std::string, std::string>> headers; // extra headers (Retry-After, ...)
	std::string body;
	bool close = false; // close the connection after this response
	// Set (with status 200) to answer with a stream: WebSocket when Request::websocket, else SSE.
	StreamStart stream;
	size_t stream_buffer = 1 << 20; // unsent bytes beyond which a slow reader is dropped
};

// The one JSON error shape of design.md:
// {"error": {"code", "message", "request_id"[, "detail", "hint", "sqlstate"]}}
Response ErrorResponse(int status, std::string_view code, std::string_view message, std::string_view request_id,
					   std::string_view detail = {}, std::string_view hint = {}, std::string_view sqlstate = {});

// The one SQLSTATE -> HTTP status table (EV001 -> 409, 22023/22P02/22007/... -> 400, 54000 -> 413,
// 23505 -> 409, 42501 -> 403, 57P0x/08xxx -> 503, unknown class 22 -> 400, else 500).
int StatusForSqlstate(std::string_view sqlstate);

// The error code (machine-readable "code" of the JSON error) for a status: 400 -> "bad_request", ...
const char *CodeForStatus(int status);

// Reason phrase of a status ("OK", "Not Found", ...); "Unknown" for unlisted codes.
const char *ReasonPhrase(int status);

} // namespace event::sidecar::http
