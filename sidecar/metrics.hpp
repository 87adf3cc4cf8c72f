// metrics.hpp — relay counters and gauges (atomics written by the relay and nats.c threads),
// rendered as Prometheus text for GET /metrics and as JSON for GET /health.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace event::sidecar {

struct Metrics {
	// Counters.
	std::atomic<uint64_t> events_received{0};     // event messages decoded from the slot
	std::atomic<uint64_t> events_published{0};    // publish calls (first attempts and retries)
	std::atomic<uint64_t> events_acked{0};        // positive JetStream acks
	std::atomic<uint64_t> events_duplicate{0};    // acks flagged duplicate by JetStream
	std::atomic<uint64_t> publish_errors{0};      // failed publishes / negative acks / ack timeouts
	std::atomic<uint64_t> republished{0};         // publishes of an event already sent once
	std::atomic<uint64_t> heartbeats_sent{0};
	std::atomic<uint64_t> heartbeats_received{0};
	std::atomic<uint64_t> decode_errors{0};
	std::atomic<uint64_t> postgres_reconnects{0};
	std::atomic<uint64_t> nats_reconnects{0};
	std::atomic<uint64_t> status_updates_sent{0};
	// Gauges.
	std::atomic<int64_t> inflight{0};
	std::atomic<uint64_t> confirmed_lsn{0};
	std::atomic<uint64_t> received_lsn{0};
	std::atomic<int64_t> lag_bytes{-1};           // -1 until first measured
	std::atomic<int64_t> max_lag_bytes{0};
	std::atomic<bool> postgres_up{false};         // replication stream or monitor connection healthy
	std::atomic<bool> replication_streaming{false};
	std::atomic<bool> standby{false};             // slot held by another relay
	std::atomic<bool> nats_up{false};
	std::atomic<bool> backpressure{false};
	std::atomic<int64_t> start_time_unix{0};
};

// Prometheus text exposition (version 0.0.4).
std::string RenderPrometheus(const Metrics &m, const std::string &slot);

// Health status: "ok", "degraded" or "down".
const char *HealthStatus(const Metrics &m);

// {"status":…,"postgres":…,"nats":…,"replication":{"slot","role","confirmed_lsn","lag_bytes","inflight"}}
std::string RenderHealthJson(const Metrics &m, const std::string &slot);

} // namespace event::sidecar
