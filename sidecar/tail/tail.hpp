// tail.hpp — the live tail, GET /api/v1/events/tail: events as they reach JetStream stream EVENTS,
// as WebSocket messages or Server-Sent Events, filtered, resumable, with back-pressure.
//
// Each tail is an ephemeral ordered JetStream consumer on events.> (no database polling). Every
// message is {"tail_position": <stream sequence>, "event": <the event JSON as published>}; SSE
// events carry the same sequence as their id. The tail position is JetStream's stream sequence,
// which follows commit order without gaps; the events' own `position` column does not (a
// transaction that took a smaller position can commit later, docs/logical-decoding.md), so
// resuming by it could skip events. `from_position=N` (or SSE's Last-Event-ID) resumes after N.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config.hpp"
#include "http/router.hpp"
#include "relay/decoded_message.hpp"

namespace event::sidecar::tail {

// Query parameters: event_type (prefix), source, category, stream_id (exact), from_position.
struct Filter {
	std::string event_type_prefix;
	std::string source;
	std::string category;
	std::string stream_id;
	bool resume = false;
	uint64_t from_position = 0; // deliver stream sequences > from_position
};

// Reads the filter from req (Last-Event-ID when from_position is absent); false with a message for
// an unknown parameter or a malformed position.
bool ParseFilter(const http::Request &req, Filter *filter, std::string *error);
// True if the event passes every given filter.
bool Matches(const Filter &filter, const relay::DecodedMessage &event);

class Tail {
public:
	explicit Tail(const Config &config);
	~Tail();
	Tail(const Tail &) = delete;
	Tail &operator=(const Tail &) = delete;

	// Connects to NATS (retried in the background while it is away). False + error on bad options.
	bool Start(std::string *error);
	// Ends every tail and closes the connection.
	void Stop();
	// GET /api/v1/events/tail, scope read, CORS.
	void AddRoutes(http::Router *router);

	struct Impl;

private:
	std::shared_ptr<Impl> impl_;
};

} // namespace event::sidecar::tail
