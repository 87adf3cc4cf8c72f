// pool.hpp — a small pool of PostgreSQL connections for the HTTP API, driven by libpq's
// asynchronous API (PQconnectStartParams/PQconnectPoll, PQsendPrepare/PQsendQueryPrepared,
// PQconsumeInput) on non-blocking sockets, all multiplexed by one thread of its own with poll().
// Callers on any thread Submit a parameterised query and get its result by callback; nothing
// blocks the caller. Each SQL text is prepared once per connection (see pool.cpp).
//
// Bounded: at most Options::queue_max queries wait for a connection (then Submit refuses with
// kOverloaded). When no connection is up (PostgreSQL down or not reached yet) Submit refuses with
// kUnavailable and queued queries fail with kUnavailable; lost connections are reopened with
// exponential backoff, so the pool recovers by itself. A query in flight when its connection
// breaks fails with kUnavailable: its outcome (committed or not) is unknown to the caller.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pg/options.hpp"

namespace event::sidecar::pg {

// The outcome of one query.
struct Result {
	enum class Status { kOk, kSqlError, kUnavailable, kOverloaded };
	Status status = Status::kOk;
	// kSqlError: the server's error fields; kUnavailable/kOverloaded: message only.
	std::string sqlstate, message, detail, hint;
	// kOk: rows in text format, row-major; nulls flagged.
	int rows = 0, columns = 0;
	std::vector<std::string> values;
	std::vector<bool> nulls;

	bool ok() const { return status == Status::kOk; }
	const std::string &Value(int row, int column) const { return values[static_cast<size_t>(row * columns + column)]; }
	bool IsNull(int row, int column) const { return nulls[static_cast<size_t>(row * columns + column)]; }
};

using Callback = std::function<void(Result)>; // runs on the pool thread: must be quick, never block

struct Query {
	std::string sql;                                // with $1, $2, ... placeholders
	std::vector<std::optional<std::string>> params; // text values; nullopt = NULL
	Callback done;
};

class Pool {
public:
	Pool(std::string database_url, Options options);
	~Pool();
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;

	// Starts the pool thread (connections are opened there, in the background).
	void Start();
	// Fails the queued queries (kUnavailable), closes the connections, joins the thread.
	void Stop();

	// Queues q; never blocks. Returns false (and q.done is not called) when refused: *refusal is
	// set to kOverloaded (queue full) or kUnavailable (no connection up, or stopped).
	bool Submit(Query q, Result::Status *refusal);

	size_t QueueDepth() const { return depth_.load(std::memory_order_relaxed); }
	int ConnectionsUp() const { return up_.load(std::memory_order_relaxed); }
	bool Available() const { return ConnectionsUp() > 0; }
	const Options &options() const { return options_; }

	struct Conn;

private:
	void Run();
	void Wake();
	void Dispatch(Conn &c);
	void Send(Conn &c);
	void Read(Conn &c);
	void Lost(Conn &c, const std::string &why);
	void Advance(Conn &c, int64_t now_ms);
	void FailQueued(const std::string &why);

	std::string url_;
	Options options_;
	int wake_fd_ = -1;
	std::thread thread_;
	std::atomic<bool> stop_{false};
	std::atomic<size_t> depth_{0};
	std::atomic<int> up_{0};
	std::mutex mu_;
	std::deque<Query> queue_; // guarded by mu_
	std::vector<std::unique_ptr<Conn>> conns_; // pool thread only
};

} // namespace event::sidecar::pg
