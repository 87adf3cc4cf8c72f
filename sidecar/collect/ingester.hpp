// ingester.hpp — stores frontend events from JetStream in PostgreSQL (spec 3.1.3, issue 13).
//
// A durable pull consumer (explicit ack) on events.frontend.> of the stream fetches up to
// --ingest-batch messages, turns each into an EventCreateRequest carrying the sidecar-made
// event_id and stores them with one event.create_events(batch, atomic => false) through the API
// pool. A message is acknowledged only after that statement committed, so a crash redelivers it,
// and the event_id makes the redelivery a duplicate that stores nothing. A message that can never
// be stored (malformed, or refused by the extension, e.g. an unknown category) goes to stream
// EVENTS_DEAD on dead.{original subject} with header Event-Error, then is acknowledged: it never
// blocks the ones behind it. PostgreSQL down: nothing is acknowledged, the batch is retried.
// The consumer deleted (or its stream, e.g. a nats-server that lost its store): found within a
// second by the lag check, and the subscription is made again, which creates the consumer anew.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "metrics.hpp"
#include "pg/pool.hpp"

namespace event::sidecar::collect {

inline constexpr char kIngesterDurable[] = "event-frontend-ingester";
inline constexpr char kDeadStream[] = "EVENTS_DEAD";

// The EventCreateRequest (JSON) for one published frontend message, or "" with *error when the
// payload is not a frontend event message of sidecar/collect/frontend.cpp. "" with *stored set
// when the message is one the relay published from event.events (it carries the stored event's
// "position": an event with source frontend written through the API or SQL): nothing to ingest.
// The stored timestamp is the message's "event_time" when it has one (the tracking API's
// clock-skew-corrected time, collect/tracking.hpp), else its "received_at".
std::string IngestRequest(const char *payload, int length, std::string *error, bool *stored);

class Ingester {
public:
	Ingester(const Config &config, pg::Pool *pool, Metrics *metrics); // metrics: lag for /health
	~Ingester();
	Ingester(const Ingester &) = delete;
	Ingester &operator=(const Ingester &) = delete;

	void Start();
	void Stop();

	// Messages of the consumer not yet acknowledged (pending + in flight); -1 until known.
	int64_t Lag() const { return lag_.load(); }

private:
	void Run();
	bool Connect();
	void Disconnect();
	// Stores msgs (acks what is stored or dead-lettered); false when PostgreSQL is unavailable.
	bool Store(natsMsg **msgs, int count);
	// Runs create_events on requests; fills statuses ("created", "duplicate", "error: ...").
	pg::Result::Status CreateEvents(const std::vector<std::string> &requests, std::vector<std::string> *statuses);
	bool DeadLetter(natsMsg *msg, const std::string &error);
	// Reads the consumer's lag; true when the consumer (or its stream) no longer exists.
	bool UpdateLag();

	const Config &config_;
	pg::Pool *pool_;
	Metrics *metrics_;
	std::atomic<bool> stop_{false};
	std::atomic<int64_t> lag_{-1};
	std::thread thread_;
	natsConnection *conn_ = nullptr;
	jsCtx *js_ = nullptr;
	natsSubscription *sub_ = nullptr;
};

} // namespace event::sidecar::collect
