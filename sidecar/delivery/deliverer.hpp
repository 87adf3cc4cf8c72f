// deliverer.hpp — webhook delivery: one durable JetStream consumer per subscription on stream
// EVENTS (docs/sidecar.md "Webhook delivery", docs/architecture.md "Webhook delivery state").
//
// The subscriptions are reloaded from event.subscriptions_for_delivery() as soon as a NOTIFY on
// event_subscriptions (create, delete, rotate) arrives on a LISTEN connection of its own, and
// every 2 s as a fallback. Each subscription gets a worker thread with
// its own pull consumer (durable "whsub_<id hex>", filter subject from its filters where one
// subject can express them, the rest filtered here) and its own libcurl handle (keep-alive). A
// worker takes one message at a time, so the subscriber sees the events in stream order (hence
// each event stream in order); a slow or hanging receiver holds only its own worker. A message is
// acknowledged after a 2xx answer, retried with exponential backoff and jitter (Retry-After
// honoured on 429/503) up to max_attempts, then terminated and recorded as a dead letter. Every
// attempt is queued and written to PostgreSQL in batches by a recorder thread, off the delivery
// path. A deleted subscription's worker is stopped (an in-flight request is aborted) and its
// consumer deleted. Dead letters whose retry was requested (NOTIFY event_dead_letters, and the
// same poll) are claimed from PostgreSQL under a lease and delivered by their subscription's
// worker between two JetStream messages, with the same signing and retry policy.
#pragma once

#include <memory>
#include <string>

#include "config.hpp"
#include "pg/pool.hpp"

namespace event::sidecar::delivery {

class Deliverer {
public:
	Deliverer(const Config &config, pg::Pool *pool);
	~Deliverer();
	Deliverer(const Deliverer &) = delete;
	Deliverer &operator=(const Deliverer &) = delete;

	// Connects to NATS (in the background while it is away) and starts the reload and recorder
	// threads. False + error on bad options.
	bool Start(std::string *error);
	// Stops every worker (unacknowledged messages stay pending in JetStream), flushes the recorder.
	void Stop();

	struct Impl;

private:
	std::unique_ptr<Impl> impl_;
};

} // namespace event::sidecar::delivery
