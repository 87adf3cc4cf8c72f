// monitor.hpp — heartbeats and slot lag on a normal (non-replication) PostgreSQL connection.
//
// Its own thread: every --heartbeat-interval, while this relay streams from the slot, it writes
// pg_logical_emit_message(false, 'event.heartbeat', now()::text) so a filtered or idle slot keeps
// advancing; every min(interval, 5 s) it measures pg_current_wal_lsn() - confirmed_flush_lsn
// of the slot into Metrics::lag_bytes and logs an alarm while the lag exceeds --max-lag-bytes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "config.hpp"
#include "metrics.hpp"
#include "relay/pg_handles.hpp"

namespace event::sidecar::relay {

class Monitor {
public:
	Monitor(const Config &config, Metrics *metrics);
	~Monitor();
	void Start();
	void Stop();

private:
	void Run() noexcept;
	bool EnsureConnected();
	bool EmitHeartbeat();
	bool MeasureLag();
	void CheckProgress(long long lag, long long confirmed);

	const Config &config_;
	Metrics *metrics_;
	PgConnPtr conn_;
	std::thread thread_;
	std::mutex mutex_;
	std::condition_variable cv_;
	bool stop_ = false;
	bool alarm_ = false;
	bool stalled_ = false;
	// The slot's confirmed position at the last lag probe, and when it last moved.
	int64_t last_confirmed_ = -1;
	std::chrono::steady_clock::time_point last_advance_{};
	int failures_ = 0;
};

} // namespace event::sidecar::relay
