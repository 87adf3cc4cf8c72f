// monitor.cpp — heartbeat writer and lag probe (see monitor.hpp).
#include "relay/monitor.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "log.hpp"

namespace event::sidecar::relay {

Monitor::Monitor(const Config &config, Metrics *metrics) : config_(config), metrics_(metrics) {}

Monitor::~Monitor() { Stop(); }

void Monitor::Start() { thread_ = std::thread([this] { Run(); }); }

void Monitor::Stop() {
	{
		std::lock_guard<std::mutex> lock(mutex_);
		stop_ = true;
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
}

bool Monitor::EnsureConnected() {
	if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK)
		return true;
	conn_ = PgConnect(config_.database_url, nullptr, "event-sidecar-monitor");
	if (PQstatus(conn_.get()) != CONNECTION_OK) {
		if (failures_++ % 10 == 0)
			Log(LogLevel::kWarn, "monitor: cannot connect to postgres", {{"error", PgError(conn_.get())}});
		conn_.reset();
		metrics_->postgres_up = false;
		return false;
	}
	failures_ = 0;
	return true;
}

bool Monitor::EmitHeartbeat() {
	PgResultPtr res(PQexec(conn_.get(), "SELECT pg_logical_emit_message(false, 'event.heartbeat', now()::text)"));
	if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
		Log(LogLevel::kWarn, "monitor: heartbeat failed", {{"error", PgResultError(res.get())}});
		return false;
	}
	metrics_->heartbeats_sent++;
	return true;
}

bool Monitor::MeasureLag() {
	const char *params[1] = {config_.slot.c_str()};
	PgResultPtr res(PQexecParams(conn_.get(),
								 "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
								 "pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint "
								 "FROM pg_replication_slots WHERE slot_name = $1",
								 1, nullptr, params, nullptr, nullptr, 0));
	if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
		Log(LogLevel::kWarn, "monitor: lag query failed", {{"error", PgResultError(res.get())}});
		return false;
	}
	metrics_->postgres_up = true;
	if (PQntuples(res.get()) == 0 || PQgetisnull(res.get(), 0, 0)) {
		metrics_->lag_bytes = -1; // slot not created yet
		return true;
	}
	long long lag = std::strtoll(PQgetvalue(res.get(), 0, 0), nullptr, 10);
	metrics_->lag_bytes = lag;
	CheckProgress(lag, std::strtoll(PQgetvalue(res.get(), 0, 1), nullptr, 10));
	if (lag > config_.max_lag_bytes && !alarm_) {
		alarm_ = true;
		Log(LogLevel::kError, "lag alarm: slot lag above --max-lag-bytes",
			{{"lag_bytes", lag}, {"max_lag_bytes", static_cast<long long>(config_.max_lag_bytes)}});
	} else if (lag <= config_.max_lag_bytes && alarm_) {
		alarm_ = false;
		Log(LogLevel::kInfo, "lag alarm cleared", {{"lag_bytes", lag}});
	}
	return true;
}

// A relay is stuck when the slot has WAL after its confirmed position (heartbeats guarantee some
// every --heartbeat-interval) and that position has not moved for --stall-timeout: an ack that
// never comes, a frozen NATS, a message retried for ever, no relay on the slot. /health is then
// degraded even though every connection looks up.
void Monitor::CheckProgress(long long lag, long long confirmed) {
	const auto now = std::chrono::steady_clock::now();
	if (confirmed != last_confirmed_ || lag <= 0) {
		last_confirmed_ = confirmed;
		last_advance_ = now;
	}
	const bool stalled = lag > 0 && now - last_advance_ > std::chrono::milliseconds(config_.stall_timeout_ms);
	if (stalled != stalled_) {
		if (stalled)
			Log(LogLevel::kError, "relay stalled: the slot's confirmed position has not moved",
				{{"lag_bytes", lag}, {"stall_timeout_ms", static_cast<long long>(config_.stall_timeout_ms)}});
		else
			Log(LogLevel::kInfo, "relay progressing again", {{"lag_bytes", lag}});
		stalled_ = stalled;
	}
	metrics_->relay_stalled = stalled;
}

void Monitor::Run() noexcept {
	using Clock = std::chrono::steady_clock;
	const auto heartbeat_every = std::chrono::milliseconds(config_.heartbeat_interval_ms);
	const auto lag_every = std::min(heartbeat_every, std::chrono::milliseconds(5000));
	auto next_heartbeat = Clock::now() + heartbeat_every;
	auto next_lag = Clock::now();
	auto retry_delay = std::chrono::milliseconds(250);
	try {
		for (;;) {
			auto now = Clock::now();
			bool ok = true;
			if (now >= next_lag || now >= next_heartbeat) {
				ok = EnsureConnected();
				if (ok && now >= next_heartbeat) {
					// Only the relay that owns the slot writes heartbeats; a standby would only add WAL.
					if (metrics_->replication_streaming.load())
						ok = EmitHeartbeat();
					next_heartbeat = now + heartbeat_every;
				}
				if (ok && now >= next_lag) {
					ok = MeasureLag();
					next_lag = now + lag_every;
				}
				if (!ok) {
					conn_.reset();
					next_lag = now + retry_delay;
					next_heartbeat = std::max(next_heartbeat, next_lag);
					retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(10000));
				} else {
					retry_delay = std::chrono::milliseconds(250);
				}
			}
			auto wake_at = std::min(next_lag, next_heartbeat);
			std::unique_lock<std::mutex> lock(mutex_);
			if (cv_.wait_until(lock, wake_at, [this] { return stop_; }))
				break;
		}
	} catch (...) {
		Log(LogLevel::kError, "monitor: stopped after an unexpected exception");
	}
	conn_.reset();
}

} // namespace event::sidecar::relay
