// tracking.hpp — analytics collection compatible with the Segment/RudderStack HTTP tracking API,
// and the inbound RudderStack webhook (docs/collection.md):
//
//   POST /v1/track|identify|page|screen|group|alias   one message      -> 200 {"success":true}
//   POST /v1/batch                                    {"batch":[...]}  -> 200 {"success":true}
//   POST /collect, POST /collect/{stream}             a message, {"batch":[...]} or [...]
//   POST /webhooks/rudderstack                        a message or [...] -> 202 {"status":"accepted","count":n}
//
// The tracking routes need a write key (event.create_write_key) as the Basic-auth user name;
// the webhook, when --rudderstack-secret is set, "X-Signature: sha256=<hex HMAC-SHA256 of the
// body>". Bodies may be gzip-compressed and carry any content type. Each message is mapped onto
// a frontend event message (collect/frontend.hpp) and published to JetStream by the frontend
// collector; the 2xx comes after JetStream acknowledged every message of the request, and the
// ingester (collect/ingester.hpp) stores them in PostgreSQL exactly once. The database is never
// on the request path.
#pragma once

#include "core/rapidjson.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/key_cache.hpp"
#include "collect/frontend.hpp"
#include "config.hpp"
#include "http/router.hpp"

namespace event::sidecar::collect {

inline constexpr size_t kMaxTrackingMessageBytes = 32 * 1024;    // one message, as JSON text
inline constexpr size_t kMaxTrackingBodyBytes = 4 * 1024 * 1024; // one request, after gunzip

// Microseconds since the Unix epoch of an ISO 8601 / RFC 3339 time ("2024-05-01T12:00:00.123Z",
// "+02:00" offsets, date only); false if text is not one.
bool ParseIsoTime(std::string_view text, int64_t *unix_us);
// "2024-05-01T12:00:00.123456Z".
std::string FormatIsoTime(int64_t unix_us);

// The event_id of a message with a messageId: a UUIDv7 whose 48-bit time is time_ms and whose
// other bits come from SHA-256 of scope (the write key id, or "rudderstack"), a newline and
// message_id. The same message sent again gets the same id, which JetStream (Nats-Msg-Id) and
// PostgreSQL (event_id is a key) each store once.
std::string MessageEventId(std::string_view scope, std::string_view message_id, int64_t time_ms);

// What a request adds to the mapping of each of its messages.
struct TrackingContext {
	std::string type;        // call type from the path; "" = the message's "type"
	std::string scope;       // write key id, or "rudderstack" for the webhook
	bool webhook = false;    // RudderStack webhook rules (no identity required, "timestamp" is final)
	int64_t received_us = 0; // when the sidecar received the request
	std::string sent_at;     // the batch's "sentAt" ("" none)
	std::string client;      // {"ip":...,"user_agent":...}
	std::string stream;      // {stream} of /collect/{stream} ("" none)
};

// Maps one tracking message onto a frontend event message (event_id, subject, payload).
// Returns "" or the 400 message.
std::string MapTrackingMessage(const rapidjson::Value &message, const TrackingContext &ctx, FrontendMessage *out);

class TrackingApi {
public:
	TrackingApi(const Config &config, FrontendCollector *frontend, auth::KeyCache *keys);
	void AddRoutes(http::Router *router);

private:
	enum class Shape { kOne, kBatch, kAny }; // /v1/<type>, /v1/batch, /collect and the webhook
	void Track(http::Request &&req, http::Reply reply, const char *type, Shape shape);
	void Webhook(http::Request &&req, http::Reply reply);
	// Parses, maps and publishes the messages of req; reply gets ok_status/ok_body after the acks.
	void Publish(http::Request &&req, http::Reply reply, TrackingContext ctx, Shape shape, int ok_status,
	             const char *route);

	const Config &config_;
	FrontendCollector *frontend_;
	auth::KeyCache *keys_;
};

} // namespace event::sidecar::collect
