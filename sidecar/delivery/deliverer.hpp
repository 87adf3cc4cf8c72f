// deliverer.hpp — webhook delivery: one durable JetStream consumer per subscription on stream
// EVENTS (docs/sidecar.md "Webhook delivery", docs/architecture.md "Webhook delivery state").
//
// The subscriptions are reloaded from event.subscriptions_for_delivery() as soon as a NOTIFY on
// event_subscriptions (create, delete, rotate) arrives on a LISTEN connection of its own, and
// every 2 s as a fallback. One process delivers at a time: the one holding the session advisory
// lock (17751, hashtext(slot)) on that connection; the others stand by. Each subscription gets a worker with
// its own pull consumer (durable "whsub_<id hex>", filter subject from its filters where one
// subject can express them, the rest filtered here, max ack pending 256): a fetcher thread pulls
// batches (no-wait fetches of what the window has room for, a long poll for one message when
// idle) and a poster thread runs up to 32 POSTs at once on a libcurl multi handle (keep-alive
// connections), one event stream's events one at a time in stream order, so different streams go
// in parallel and no event is posted before the previous one of its stream was delivered or
// dead-lettered. Every held message is renewed (in progress) every 5 s, in stream-sequence
// order; a stopped worker gives its held messages back (nak) in that order. A slow or hanging
// receiver holds only its own worker. A message is acknowledged after a 2xx answer, retried with
// exponential backoff and jitter (Retry-After honoured on 429/503) up to max_attempts, then
// terminated and recorded as a dead letter. Every attempt is queued and written to PostgreSQL in
// batches by a recorder thread, off the delivery path. A deleted subscription's worker is stopped
// (requests in flight are aborted) and its consumer deleted; any other stop (a changed
// subscription, shutdown, standing by) lets the requests in flight finish for up to 2 s first. Dead letters whose retry was
// requested (NOTIFY event_dead_letters, and the same poll) are claimed from PostgreSQL under a
// lease and posted by their subscription's worker beside its JetStream messages, with the same
// signing and retry policy.
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
