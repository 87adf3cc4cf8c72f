// stream_session.hpp — internal to sidecar/http (includes Beast): hands a connection over from
// the request/response session to a Server-Sent Events or WebSocket stream session.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <string>

#include "http/response.hpp"

namespace event::sidecar::http {

// Writes the SSE response head (extra headers from r), then streams; calls r.stream.
// connections is incremented for the stream's lifetime.
void StartSse(boost::beast::tcp_stream stream, Response r, const std::string &request_id,
			  std::atomic<int64_t> *connections);

// Accepts the WebSocket upgrade (answering 101), then calls r.stream. (Frames a client sends
// before it has seen the 101 are not supported.)
void StartWebSocket(boost::beast::tcp_stream stream, boost::beast::http::request<boost::beast::http::empty_body> upgrade,
					Response r, const std::string &request_id, std::atomic<int64_t> *connections);

} // namespace event::sidecar::http
