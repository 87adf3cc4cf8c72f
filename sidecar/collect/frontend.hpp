// frontend.hpp — frontend event collection (spec 3.1.3, 3.6; endpoints 16-18): events from
// browsers and apps, without an API key, published to JetStream without touching PostgreSQL.
//
//   POST /api/v1/events/frontend        one event            -> 202 {"status","event_id","subject"}
//   POST /api/v1/events/frontend/batch  {"events":[...], "client_info":{...}} -> 202 {"count","event_ids"}
//   GET  /api/v1/events/frontend/health NATS status, 200 or 503
//
// The sidecar gives each event its UUIDv7, adds metadata.client (ip, user_agent, referer) and
// publishes it on events.frontend.{category}.{event_type} with Nats-Msg-Id: <event_id>. A 2xx is
// sent only after JetStream acknowledged every event of the request; NATS down, a negative ack or
// no ack within the timeout answer 503 (the client retries; nothing is silently dropped).
//
// Threads: handlers (I/O threads) validate, build the messages and publish them themselves on
// the collector's own NATS connection (nats::Publisher::PublishTracked, each message with a
// reply subject carrying a token); nats.c's thread of the reply subscription matches each
// JetStream answer to its request by the token and answers the request when its last message is
// acknowledged (or at the first failure). A maintenance thread replaces a connection nats.c gave
// up on and answers requests past their deadline. At most --max-inflight messages wait for their
// ack; more are answered 503 at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "collect/categories.hpp"
#include "config.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "metrics.hpp"
#include "metrics/registry.hpp"
#include "nats/publisher.hpp"

namespace event::sidecar::collect {

// At most this many events in one batch request.
inline constexpr size_t kMaxFrontendBatch = 1000;
// Largest client_info of a batch, as compact JSON text (it is copied into every event).
inline constexpr size_t kMaxClientInfoBytes = 16384;

// One message to publish.
struct FrontendMessage {
	std::string event_id;
	std::string subject;
	std::string payload;
};

// A new event id (UUIDv7 from the system clock and getrandom).
std::string NewFrontendEventId();

// Appends the start of a published message, {"event_id", "event_type", "event_source":"frontend",
// "event_category", "user_id" (null when user_id is nullptr), without the closing brace.
void AppendMessageHead(std::string &p, const std::string &event_id, std::string_view event_type,
                       std::string_view category, const std::string *user_id);

// The client address of req: the peer address, or, when the peer is one of trusted_proxies, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy (exact address match).
std::string ClientIp(const http::Request &req, const std::vector<std::string> &trusted_proxies);

// Builds the published message of one frontend event (a JSON object, already checked to be
// well-formed by the caller) enriched with client (a JSON object text). The category must be one
// of categories (when not nullptr; collect/categories.hpp). Returns "" or the 400 message (with
// *detail, *hint). A batch builds its events from its parsed body, with its client_info merged.
std::string BuildFrontendMessage(const std::string &event_json, const std::string &client,
                                 const Categories *categories, FrontendMessage *out, std::string *detail,
                                 std::string *hint);

class FrontendCollector {
public:
	// categories: checked on every event (nullptr: any well-formed category).
	FrontendCollector(const Config &config, const Categories *categories);
	~FrontendCollector();
	FrontendCollector(const FrontendCollector &) = delete;
	FrontendCollector &operator=(const FrontendCollector &) = delete;

	bool Start(std::string *error);
	void Stop(); // answers what is still waiting with 503
	void AddRoutes(http::Router *router);

	bool NatsConnected() const { return metrics_.nats_up.load(); }
	// metadata.client of req: {"ip":...,"user_agent":...,"referer":...}.
	std::string ClientJson(const http::Request &req) const;

	// Publishes messages built by another collector (the tracking API and the RudderStack webhook,
	// collect/tracking.hpp) the same way: reply gets ok_status with ok_body once every message is
	// acknowledged by JetStream, else 503 (413 for a message NATS refuses as too large). accepted
	// counts the messages then. No message: answered at once.
	void PublishMessages(std::vector<FrontendMessage> messages, int ok_status, std::string ok_body,
	                     const std::string &request_id, metrics::Counter *accepted, http::Reply reply);

private:
	struct Pending {
		http::Reply reply;
		std::string request_id;
		std::string ok_body;
		int ok_status = 202;
		size_t left = 0;   // events still waiting for their ack
		size_t events = 0; // events of the request
		metrics::Counter *accepted = nullptr; // counts the events once all are acknowledged
		bool done = false; // answered (mutex_)
		std::chrono::steady_clock::time_point deadline;
	};
	using PendingPtr = std::shared_ptr<Pending>;

	void Submit(PendingPtr pending, std::vector<FrontendMessage> messages);
	void OnAck(uint64_t token, const nats::TrackedAck &ack); // nats.c's thread
	void Run();                                              // the maintenance thread
	// With mutex_ held: marks p answered and returns its 503/413 (nothing when already answered).
	std::optional<http::Response> FailLocked(Pending &p, int status, const std::string &message);
	void Fail(const PendingPtr &p, int status, const std::string &message);
	void Single(http::Request &&req, http::Reply reply);
	void Batch(http::Request &&req, http::Reply reply);
	void Health(http::Request &&req, http::Reply reply);

	const Config &config_;
	const Categories *categories_;
	Metrics metrics_; // the collector connection's own NATS state (not the relay's)
	std::mutex mutex_; // waiting_, open_, stop_, every Pending's done/left
	std::condition_variable cv_;
	bool stop_ = false;
	uint64_t next_token_ = 1;
	// Messages waiting for their JetStream answer, by the token of their reply subject (one per
	// publish: two requests in flight may carry the same event id, a tracking-API client
	// retrying a messageId, and each gets its own answer).
	std::unordered_map<uint64_t, PendingPtr> waiting_;
	std::vector<PendingPtr> open_; // requests not yet answered, for their deadlines
	std::thread thread_;
	// Publishing (shared) against replacing the connection (exclusive, the maintenance thread).
	std::shared_mutex publish_mutex_;
	std::unique_ptr<nats::Publisher> publisher_; // last: destroyed first, its callbacks use the above
};

} // namespace event::sidecar::collect
