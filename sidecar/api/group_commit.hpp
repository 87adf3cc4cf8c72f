// group_commit.hpp — coalesces concurrent single-event creates into one transaction.
//
// Each POST /api/v1/events/create hands its (already syntax-checked) EventCreateRequest JSON to
// Submit. A thread of its own gathers waiting requests into batches and sends each batch as one
// statement, `event.create_events($1, atomic => false)`, which stores every item in its own
// subtransaction and returns per-item results in order; so one commit answers many requests and
// a bad item fails only itself. When a whole batch fails (an item the server cannot even parse
// as part of the array), its items are retried one by one. Every callback runs after the commit
// of its item's transaction (or its failure).
//
// Batching policy: when no batch is in flight a request goes at once (no added latency when
// idle); while batches are in flight, requests gather until a flight slot frees, the batch is
// full (max_batch) or the oldest has waited max_wait. Bounded: at most max_pending waiting
// items, beyond which Submit refuses (429).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/group_commit_options.hpp"
#include "pg/pool.hpp"

namespace event::sidecar::api {


// The outcome of one item.
struct ItemResult {
	pg::Result::Status status = pg::Result::Status::kOk; // kOk: see created/event or error fields
	bool stored = false;                                 // kOk: stored (or a duplicate)
	bool duplicate = false;                              // idempotency key seen before
	std::string event_json;                              // EventResponse when stored
	std::string sqlstate, message, detail, hint;         // when not stored
};

class GroupCommitter {
public:
	using Done = std::function<void(ItemResult)>; // runs on the pool thread after the commit

	GroupCommitter(pg::Pool *pool, GroupCommitOptions options);
	~GroupCommitter();
	GroupCommitter(const GroupCommitter &) = delete;
	GroupCommitter &operator=(const GroupCommitter &) = delete;

	void Start();
	void Stop();

	// Queues one request (a JSON object). False when refused: *refusal = kOverloaded or kUnavailable.
	bool Submit(std::string request_json, Done done, pg::Result::Status *refusal);

	size_t Pending() const;
	// Called once per committed batch with its size (metrics).
	void SetBatchObserver(std::function<void(size_t)> observer) { observer_ = std::move(observer); }

private:
	struct Item {
		std::string json;
		Done done;
		std::chrono::steady_clock::time_point queued;
	};
	void Run();
	void Send(std::vector<Item> batch, bool split_on_failure);
	void Finished();

	pg::Pool *pool_;
	GroupCommitOptions options_;
	std::function<void(size_t)> observer_;
	mutable std::mutex mu_;
	std::condition_variable cv_;
	std::deque<Item> pending_; // guarded by mu_
	int inflight_ = 0;         // guarded by mu_
	bool stop_ = false;        // guarded by mu_
	std::thread thread_;
};

} // namespace event::sidecar::api
