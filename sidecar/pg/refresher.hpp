// refresher.hpp — small catalogs the sidecar keeps in memory (API keys, write keys, event
// categories), reloaded through a pool by one thread of their own.
//
// Each source is a query and a load callback that swaps the cache in (on the pool thread: quick,
// never blocking). Every round submits each source's query; rounds are refresh_ms apart once
// every source has loaded at least once or was refused by the server with an SQL error (a role
// without EXECUTE, say: no use asking five times a second), 200 ms apart before that. A failed
// load keeps the last loaded rows in force; it is logged once when a source starts failing and
// again when it recovers, not every round.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pg/pool.hpp"

namespace event::sidecar::pg {

class Refresher {
public:
	using Load = std::function<void(const Result &)>; // runs on the pool thread with an ok result

	Refresher(Pool *pool, int64_t refresh_ms);
	~Refresher();
	Refresher(const Refresher &) = delete;
	Refresher &operator=(const Refresher &) = delete;

	// Adds a source (before Start): what names it in the log ("API keys").
	void Add(std::string what, std::string sql, Load load);
	// Starts the refresh thread (the first round at once).
	void Start();
	void Stop();
	// Every source has loaded at least once.
	bool AllLoaded() const;

	// The outcome of one load of source i, as the pool's callback reports it (tests call it).
	void Loaded(size_t i, const Result &r);

private:
	struct Source {
		std::string what, sql;
		Load load;
		std::atomic<bool> loaded{false}, failing{false};
		std::atomic<bool> refused{false}; // the server answered with an error (not a lost connection)
	};
	void Run();
	void Settle(); // one submitted query answered (or refused)

	Pool *pool_;
	int64_t refresh_ms_;
	std::vector<std::unique_ptr<Source>> sources_;
	std::mutex mu_;
	std::condition_variable cv_;
	bool stop_ = false;
	int inflight_ = 0; // submitted queries not answered yet

	std::thread thread_;
};

} // namespace event::sidecar::pg
