// group_commit.hpp — coalesces concurrent single-event creates into one transaction.
//
// Each POST /api/v1/events/create hands its (already syntax-checked) EventCreateRequest JSON to
// Submit. A thread of its own gathers waiting requests into batches and sends each batch as one
// `event.create_events($1, atomic => false)`: per-item results in request order, so a bad item
// fails only itself and a repeated idempotency key answers its original event. The extension
// first tries the whole batch in one subtransaction (set-based lookups, one INSERT) and falls
// back to one subtransaction per item only when an item fails (extension/pg/append.cpp), so the
// sidecar has no fallback of its own for item errors. Only when the statement fails as a whole
// (PostgreSQL cannot even read the array: a number beyond `numeric` in one item, a batch above
// event.max_batch_size, ...) are its items sent again one per statement, so that each request
// gets the answer it would get alone.
// Every callback runs after the commit of its item's transaction (or its failure).
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
	// single: one item resent alone after its batch failed as a whole (not a flight of its own:
	// the batch's flight ends when the resends are queued).
	void Run();
	void Send(std::shared_ptr<std::vector<Item>> items, bool single);
	void Answer(const std::shared_ptr<std::vector<Item>> &items, pg::Result r);
	void Finished();

	pg::Pool *pool_;
	GroupCommitOptions options_;
	std::function<void(size_t)> observer_;
	mutable std::mutex mu_;
	std::condition_variable cv_;
	std::deque<Item> pending_; // guarded by mu_
	int inflight_ = 0;         // guarded by mu_
	bool stop_ = false;        // guarded by mu_
	// What the thread waits for (guarded by mu_): Submit wakes it only when that may have come.
	enum class Waiting { kNo, kItems, kSlot, kGathering };
	Waiting waiting_ = Waiting::kNo;
	std::thread thread_;
};

} // namespace event::sidecar::api
