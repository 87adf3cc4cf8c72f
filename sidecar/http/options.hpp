// options.hpp — configuration of the HTTP server module (flags --http-*, env EVENT_HTTP_*).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace event::sidecar::http {

struct Options {
	std::string host = "127.0.0.1";
	int port = 8080;
	int threads = 0;                          // I/O threads; 0 = hardware concurrency
	int64_t max_connections = 10000;          // beyond: 503 and close
	int64_t max_header_bytes = 64 * 1024;     // request line + headers; beyond: 431
	int64_t idle_timeout_ms = 60 * 1000;      // keep-alive connection without a request
	int64_t head_timeout_ms = 10 * 1000;      // whole request head, from its first byte
	int64_t body_timeout_ms = 10 * 1000;      // longest pause between two pieces of a body
	int64_t request_timeout_ms = 30 * 1000;   // handler reply deadline (then 503)
	std::vector<std::string> cors_origins{"*"}; // allowed Origin values, "*" = any
};

} // namespace event::sidecar::http
