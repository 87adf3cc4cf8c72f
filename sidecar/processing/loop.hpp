// loop.hpp — the background processing loop (spec 3.3.2; docs/architecture.md "Event processing").
//
// One thread calls event.process_batch(--processing-batch) through the API pool, one call per
// transaction, and then event.process_replays to advance running replays; when neither found
// work it sleeps --processing-poll. All state (cursor, statuses, retries, results) is in
// PostgreSQL and changes in the same transaction as an sql processor's effects, so a killed or
// restarted sidecar loses nothing and repeats nothing: the batch in flight either committed or
// is taken again. PostgreSQL unavailable: the loop waits and retries. webhook and nats
// processors are called by a second thread (outbound.hpp), so a slow endpoint holds back
// neither the sql processors nor event intake.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "pg/pool.hpp"
#include "processing/outbound.hpp"

namespace event::sidecar::processing {

class Loop {
public:
	Loop(const Config &config, pg::Pool *pool);
	~Loop();
	Loop(const Loop &) = delete;
	Loop &operator=(const Loop &) = delete;

	void Start();
	// Finishes the call in flight (it commits or rolls back in PostgreSQL), then joins.
	void Stop();

private:
	void Run();
	// Runs sql with params and returns its first value ("" on failure, logged); *ok tells which.
	std::string Call(const std::string &sql, bool *ok, std::vector<std::optional<std::string>> params = {});
	void Sleep(int ms);

	const Config &config_;
	pg::Pool *pool_;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::mutex mu_;
	std::condition_variable cv_;
	Outbound outbound_;
};

} // namespace event::sidecar::processing
