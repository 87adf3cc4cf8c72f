// outbound.hpp — the webhook and nats processors (docs/sidecar.md "Outbound processors",
// docs/architecture.md "Event processing").
//
// event.process_batch leaves a task per event and outbound processor. This thread claims a batch
// of them with a lease (event.claim_processing_tasks: one short transaction), makes the calls
// with no transaction open — a webhook processor POSTs the event to config.url signed like a
// subscription's webhook (delivery/webhook_client, delivery/signing) with secret config.secret;
// a nats processor publishes it on JetStream subject config.subject — and records every outcome
// (event.complete_processing_tasks: a second transaction). The tasks of one event run one after
// the other in processor order; different events run in parallel (--processing-concurrency).
// Every call of a processor on an event carries the same message id (Nats-Msg-Id,
// X-Event-Delivery-Id / webhook-id: "<processor_id>:<event_id>"), so the repeat of a call whose
// outcome was lost (kill -9 between call and record; the lease runs out and the task is claimed
// again) is dropped by JetStream's duplicate window and recognisable by a webhook receiver.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "processing/tasks.hpp"

namespace event::sidecar::processing {

class Outbound {
public:
	// call runs one statement with parameters and returns its first value (nullopt on failure).
	using Call = std::function<std::optional<std::string>(const std::string &sql,
	                                                      std::vector<std::optional<std::string>> params)>;
	Outbound(const Config &config, Call call);
	~Outbound();
	Outbound(const Outbound &) = delete;
	Outbound &operator=(const Outbound &) = delete;

	void Start();
	// Aborts calls in flight (their tasks are claimed again when the lease runs out), then joins.
	void Stop();

private:
	void Run();
	void Sleep(int ms);
	// Runs the batch: per event in order, events in parallel.
	std::vector<Outcome> Execute(const std::vector<Task> &tasks);
	Outcome Publish(const Task &t);

	const Config &config_;
	Call call_;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::mutex mu_;
	std::condition_variable cv_;
	natsOptions *nats_opts_ = nullptr;
	natsConnection *nats_ = nullptr;
	jsCtx *js_ = nullptr;
	std::string nats_error_; // why there is no NATS connection
};

} // namespace event::sidecar::processing
