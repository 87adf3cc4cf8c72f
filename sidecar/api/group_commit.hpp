// group_commit.hpp — coalesces concurrent single-event creates into one transaction.
//
// Each POST /api/v1/events/create hands its (already syntax-checked) EventCreateRequest JSON to
// Submit. A thread of its own gathers waiting requests into batches and sends each batch as one
// statement, so one commit answers many requests:
// - items without idempotency_key or event_id ("plain": they cannot be duplicates) go first as
//   `event.create_events($1, atomic => true)`: one multi-row INSERT, no subtransactions (about
//   5x less server CPU per item than the per-item path). If that statement fails (one bad item
//   fails an atomic batch, and nothing of it is stored), the same items are sent again as below;
// - keyed items (whose answer may be 200 duplicate), and plain batches that failed, go as
//   `event.create_events($1, atomic => false)`, which stores every item in its own
//   subtransaction and returns per-item results in order, so a bad item fails only itself. When
//   such a batch fails as a whole (an item the server cannot even parse as part of the array),
//   its items are retried one by one.
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

	// Queues one request (a JSON object; keyed: it has idempotency_key or event_id). False when
	// refused: *refusal = kOverloaded or kUnavailable.
	bool Submit(std::string request_json, bool keyed, Done done, pg::Result::Status *refusal);

	size_t Pending() const;
	// Called once per committed batch with its size (metrics).
	void SetBatchObserver(std::function<void(size_t)> observer) { observer_ = std::move(observer); }

private:
	struct Item {
		std::string json;
		bool keyed = false;
		Done done;
		std::chrono::steady_clock::time_point queued;
	};
	// kAtomic: plain items, resent as kEach on failure; kEach: per-item results, split into kSingle
	// on failure. Both are one flight (Finished once); kSingle retries are not counted.
	enum class Mode { kAtomic, kEach, kSingle };
	void Run();
	void Send(std::shared_ptr<std::vector<Item>> items, Mode mode);
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
