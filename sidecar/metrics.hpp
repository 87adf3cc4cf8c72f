// metrics.hpp — the relay's counters and gauges (atomics written by the relay and nats.c threads),
// exposed through the metrics registry (RegisterRelayMetrics, for GET /metrics) and read by
// GET /health. Other modules register their own metrics in metrics::Default() directly.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace event::sidecar {

// A Prometheus histogram of latencies with fixed bucket bounds, updated lock-free (relaxed
// atomics; a scrape may see an observation in a bucket before it is in the sum, never a count
// that goes backwards). Buckets are stored non-cumulative and summed when rendered.
class LatencyHistogram {
public:
	static constexpr int kBounds = 19;
	// Upper bounds (Prometheus "le") in microseconds: 0.5 ms … 5 s; one more bucket is +Inf.
	static constexpr int64_t kBoundMicros[kBounds] = {500,    1000,   2000,   3000,    4000,    5000,    7500,
													  10000,  15000,  20000,  30000,   50000,   75000,   100000,
													  250000, 500000, 1000000, 2500000, 5000000};

	// Records one latency; negative values (clock skew) count as 0.
	void Observe(int64_t micros) noexcept;
	// Observations in bucket i alone (not cumulative); i == kBounds is the +Inf overflow bucket.
	uint64_t Bucket(int i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
	uint64_t Count() const noexcept;
	int64_t SumMicros() const noexcept { return sum_micros_.load(std::memory_order_relaxed); }

private:
	std::atomic<uint64_t> buckets_[kBounds + 1] = {};
	std::atomic<int64_t> sum_micros_{0};
};

// Appends h's sample lines (name_bucket{slot,le} ..., name_sum, name_count) without HELP/TYPE.
void AppendHistogramSamples(std::string *out, const char *name, const std::string &slot, const LatencyHistogram &h);
// Appends h as a Prometheus histogram in seconds: HELP, TYPE, cumulative name_bucket{slot,le}
// lines ending with le="+Inf", name_sum and name_count (equal to the +Inf bucket).
void AppendHistogram(std::string *out, const char *name, const char *help, const std::string &slot,
					 const LatencyHistogram &h);

// Microseconds as decimal seconds without trailing zeros: 500 -> "0.0005", 2500000 -> "2.5".
std::string MicrosAsSeconds(int64_t micros);

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
	std::atomic<uint64_t> events_unpublishable{0}; // over NATS max_payload: skipped, never published
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
	std::atomic<bool> relay_stalled{false};      // lag but no confirmed progress for --stall-timeout
	std::atomic<int64_t> start_time_unix{0};
	std::atomic<int64_t> ingester_lag{-1};       // frontend messages not yet stored (-1 unknown / ingester off)
	// The HTTP API's PostgreSQL pool (set once before the HTTP server starts; empty: not shown):
	// open connections and queries waiting for one, read when /health is rendered.
	struct ApiPoolState {
		int connections = 0;
		size_t queue_depth = 0;
	};
	std::function<ApiPoolState()> api_pool;
	// Histograms.
	LatencyHistogram commit_to_ack; // commit_time of an event -> its JetStream ack applied by the relay
};

namespace metrics {
class Registry;
}

// Registers every relay metric (event_relay_*, label slot) in registry as a scrape-time callback
// reading *m; m must outlive the registry's use.
void RegisterRelayMetrics(metrics::Registry *registry, const Metrics *m, const std::string &slot);

// The relay metrics alone as Prometheus text (version 0.0.4), through a private registry.
std::string RenderPrometheus(const Metrics &m, const std::string &slot);

// Health status: "ok", "degraded" or "down".
const char *HealthStatus(const Metrics &m);

// {"status":…,"postgres":…,"nats":…,"replication":{"slot","role","confirmed_lsn","lag_bytes","inflight"},
//  "ingester":{…}, "api_pool":{"state":"connected"|"reconnecting","connections","queue_depth"}}
// (api_pool only when Metrics::api_pool is set; "reconnecting" makes an otherwise ok status
// "degraded": the management API answers 503 on its database endpoints meanwhile.)
std::string RenderHealthJson(const Metrics &m, const std::string &slot);

} // namespace event::sidecar
