// stream.hpp — long-lived responses: Server-Sent Events (text/event-stream) and WebSocket text
// messages, behind one interface, so a route like the live tail serves both.
//
// A handler answers with a Response whose `stream` callback is set (and status 200). The server
// then upgrades the connection: to WebSocket when the request asked for it (Request::websocket),
// else to an SSE response (Content-Type text/event-stream, body until the server closes). It calls
// `stream` once with the Stream; the handler keeps it and Sends from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace event::sidecar::http {

class Stream {
public:
	virtual ~Stream() = default;
	// Queues one message (SSE: the bytes of one event, see SseEvent; WebSocket: one text frame).
	// False when the stream is closed or when the unsent backlog would exceed the response's
	// stream_buffer: a reader that slow is dropped (close reason "slow reader: ...", WebSocket
	// close code 1008) instead of growing memory.
	virtual bool Send(std::string message) = 0;
	// Closes after what is already queued (WebSocket close code 1000 with reason; SSE: a final
	// "event: close" whose data is the reason).
	virtual void Close(std::string reason) = 0;
	virtual bool IsOpen() const = 0;
	virtual bool IsWebSocket() const = 0;
	// Runs once when the stream ends (client gone, Close, back-pressure), on an I/O thread, with
	// the reason. Set it right after the stream starts.
	virtual void OnClose(std::function<void(const std::string &reason)> fn) = 0;
};

using StreamStart = std::function<void(std::shared_ptr<Stream>)>;

// One SSE event: optional "id:" and "event:" lines, the data split into "data:" lines, a blank line.
std::string SseEvent(std::string_view data, std::string_view id = {}, std::string_view event = {});

} // namespace event::sidecar::http
