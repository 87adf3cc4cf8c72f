// metrics.cpp — the relay's metrics in the registry (Prometheus) and its /health JSON.
#include "metrics.hpp"

#include "core/json.hpp"
#include "metrics/registry.hpp"
#include "relay/protocol.hpp"

namespace event::sidecar {


void LatencyHistogram::Observe(int64_t micros) noexcept {
	if (micros < 0)
		micros = 0;
	int i = 0;
	while (i < kBounds && micros > kBoundMicros[i])
		++i;
	buckets_[i].fetch_add(1, std::memory_order_relaxed);
	sum_micros_.fetch_add(micros, std::memory_order_relaxed);
}

uint64_t LatencyHistogram::Count() const noexcept {
	uint64_t n = 0;
	for (int i = 0; i <= kBounds; ++i)
		n += Bucket(i);
	return n;
}

std::string MicrosAsSeconds(int64_t micros) {
	std::string out;
	if (micros < 0) {
		out += '-';
		micros = -micros;
	}
	out += std::to_string(micros / 1000000);
	int64_t frac = micros % 1000000;
	if (frac != 0) {
		std::string digits = std::to_string(frac);
		digits.insert(0, 6 - digits.size(), '0');
		while (!digits.empty() && digits.back() == '0')
			digits.pop_back();
		out += '.';
		out += digits;
	}
	return out;
}

void AppendHistogramSamples(std::string *out, const char *name, const std::string &slot, const LatencyHistogram &h) {
	const std::string prefix = std::string(name);
	const std::string slot_label = "slot=\"" + metrics::EscapeLabel(slot) + "\"";
	// One snapshot of the buckets so that the cumulative counts, +Inf and _count agree.
	uint64_t counts[LatencyHistogram::kBounds + 1];
	for (int i = 0; i <= LatencyHistogram::kBounds; ++i)
		counts[i] = h.Bucket(i);
	uint64_t cumulative = 0;
	for (int i = 0; i <= LatencyHistogram::kBounds; ++i) {
		cumulative += counts[i];
		*out += prefix + "_bucket{" + slot_label + ",le=\"" +
				(i < LatencyHistogram::kBounds ? MicrosAsSeconds(LatencyHistogram::kBoundMicros[i]) : "+Inf") +
				"\"} " + std::to_string(cumulative) + "\n";
	}
	*out += prefix + "_sum{" + slot_label + "} " + MicrosAsSeconds(h.SumMicros()) + "\n";
	*out += prefix + "_count{" + slot_label + "} " + std::to_string(cumulative) + "\n";
}

void AppendHistogram(std::string *out, const char *name, const char *help, const std::string &slot,
					 const LatencyHistogram &h) {
	*out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
	AppendHistogramSamples(out, name, slot, h);
}

namespace {

// One relay metric: name, Prometheus type, help, value read from the relay's atomics.
struct RelayMetric {
	const char *name;
	const char *type;
	const char *help;
	std::string (*value)(const Metrics &m);
};

std::string U(const std::atomic<uint64_t> &a) { return std::to_string(a.load()); }
std::string I(const std::atomic<int64_t> &a) { return std::to_string(a.load()); }
std::string B(const std::atomic<bool> &a) { return a.load() ? "1" : "0"; }

// The relay's metrics, in exposition order (names are relied on by dashboards and test/e2e).
const RelayMetric kRelayMetrics[] = {
	{"event_relay_events_received_total", "counter", "Events decoded from the replication slot.",
	 [](const Metrics &m) { return U(m.events_received); }},
	{"event_relay_events_published_total", "counter", "JetStream publish calls, retries included.",
	 [](const Metrics &m) { return U(m.events_published); }},
	{"event_relay_events_acked_total", "counter", "Publishes acknowledged by JetStream.",
	 [](const Metrics &m) { return U(m.events_acked); }},
	{"event_relay_events_duplicate_total", "counter", "Acknowledgements JetStream flagged as duplicates (Nats-Msg-Id).",
	 [](const Metrics &m) { return U(m.events_duplicate); }},
	{"event_relay_publish_errors_total", "counter",
	 "Failed publishes, negative acknowledgements and acknowledgement timeouts.",
	 [](const Metrics &m) { return U(m.publish_errors); }},
	{"event_relay_republished_total", "counter", "Publishes of events already sent once.",
	 [](const Metrics &m) { return U(m.republished); }},
	{"event_relay_heartbeats_sent_total", "counter", "pg_logical_emit_message heartbeats written.",
	 [](const Metrics &m) { return U(m.heartbeats_sent); }},
	{"event_relay_heartbeats_received_total", "counter", "Heartbeats decoded from the slot.",
	 [](const Metrics &m) { return U(m.heartbeats_received); }},
	{"event_relay_decode_errors_total", "counter", "Slot messages that could not be parsed.",
	 [](const Metrics &m) { return U(m.decode_errors); }},
	{"event_relay_unpublishable_events_total", "counter", "Events over NATS max_payload, skipped (never published).",
	 [](const Metrics &m) { return U(m.events_unpublishable); }},
	{"event_relay_status_updates_total", "counter", "Standby status updates sent to PostgreSQL.",
	 [](const Metrics &m) { return U(m.status_updates_sent); }},
	{"event_relay_inflight", "gauge", "Publishes not yet acknowledged by JetStream.",
	 [](const Metrics &m) { return I(m.inflight); }},
	{"event_relay_confirmed_lsn", "gauge", "LSN confirmed to PostgreSQL as flushed (numeric).",
	 [](const Metrics &m) { return U(m.confirmed_lsn); }},
	{"event_relay_received_lsn", "gauge", "Highest LSN received from PostgreSQL (numeric).",
	 [](const Metrics &m) { return U(m.received_lsn); }},
	{"event_relay_lag_bytes", "gauge", "pg_current_wal_lsn() - confirmed_flush_lsn of the slot (-1 until measured).",
	 [](const Metrics &m) { return I(m.lag_bytes); }},
	{"event_relay_max_lag_bytes", "gauge", "Configured lag alarm threshold.",
	 [](const Metrics &m) { return I(m.max_lag_bytes); }},
	{"event_relay_postgres_up", "gauge", "1 when PostgreSQL is reachable.",
	 [](const Metrics &m) { return B(m.postgres_up); }},
	{"event_relay_replication_streaming", "gauge", "1 while this relay streams from the slot.",
	 [](const Metrics &m) { return B(m.replication_streaming); }},
	{"event_relay_standby", "gauge", "1 while the slot is held by another relay.",
	 [](const Metrics &m) { return B(m.standby); }},
	{"event_relay_nats_up", "gauge", "1 when connected to NATS.", [](const Metrics &m) { return B(m.nats_up); }},
	{"event_relay_backpressure", "gauge", "1 while reading pauses because max-inflight is reached.",
	 [](const Metrics &m) { return B(m.backpressure); }},
	{"event_relay_stalled", "gauge", "1 while the slot has lag and its confirmed position has not moved for --stall-timeout.",
	 [](const Metrics &m) { return B(m.relay_stalled); }},
	{"event_relay_start_time_seconds", "gauge", "Process start, Unix time.",
	 [](const Metrics &m) { return I(m.start_time_unix); }},
};

} // namespace

void RegisterRelayMetrics(metrics::Registry *registry, const Metrics *m, const std::string &slot) {
	const std::string l = "{slot=\"" + metrics::EscapeLabel(slot) + "\"}";
	for (const RelayMetric &rm : kRelayMetrics) {
		registry->Callback(rm.name, rm.type, rm.help, [rm, m, l] { return rm.name + l + " " + rm.value(*m) + "\n"; });
		if (std::string_view(rm.name) == "event_relay_status_updates_total") {
			// Kept at its historical place in the exposition, after the status updates.
			const std::string s = metrics::EscapeLabel(slot);
			registry->Callback("event_relay_reconnects_total", "counter", "Reconnections after a lost connection.",
							   [m, s] {
								   return "event_relay_reconnects_total{slot=\"" + s + "\",target=\"postgres\"} " +
										  U(m->postgres_reconnects) + "\nevent_relay_reconnects_total{slot=\"" + s +
										  "\",target=\"nats\"} " + U(m->nats_reconnects) + "\n";
							   });
		}
	}
	registry->Callback("event_relay_commit_to_ack_seconds", "histogram",
					   "Time from an event's commit (its commit_time) to its JetStream acknowledgement, wall clock.",
					   [m, slot] {
						   std::string out;
						   AppendHistogramSamples(&out, "event_relay_commit_to_ack_seconds", slot, m->commit_to_ack);
						   return out;
					   });
}

std::string RenderPrometheus(const Metrics &m, const std::string &slot) {
	metrics::Registry registry;
	RegisterRelayMetrics(&registry, &m, slot);
	return registry.Render();
}

const char *HealthStatus(const Metrics &m) {
	if (!m.postgres_up.load() || !m.nats_up.load())
		return "down";
	int64_t lag = m.lag_bytes.load();
	if (lag >= 0 && lag > m.max_lag_bytes.load())
		return "degraded";
	if (m.relay_stalled.load())
		return "degraded"; // the slot has WAL to deliver but its confirmed position does not move
	if (m.events_unpublishable.load() > 0 || m.decode_errors.load() > 0)
		return "degraded"; // messages were skipped: an operator must look (until restart)
	if (m.api_pool && m.api_pool().connections == 0)
		return "degraded"; // the HTTP API's pool is reconnecting
	return "ok";
}

std::string RenderHealthJson(const Metrics &m, const std::string &slot) {
	std::string out = "{\"status\":\"";
	out += HealthStatus(m);
	out += "\",\"postgres\":\"";
	out += m.postgres_up.load() ? "ok" : "down";
	out += "\",\"nats\":\"";
	out += m.nats_up.load() ? "ok" : "down";
	out += "\",\"replication\":{\"slot\":";
	core::AppendJsonString(out, slot);
	out += ",\"role\":\"";
	out += m.replication_streaming.load() ? "leader" : (m.standby.load() ? "standby" : "connecting");
	out += "\",\"confirmed_lsn\":\"";
	out += relay::FormatLsn(m.confirmed_lsn.load());
	out += "\",\"lag_bytes\":";
	int64_t lag = m.lag_bytes.load();
	out += lag >= 0 ? std::to_string(lag) : std::string("null");
	out += ",\"max_lag_bytes\":" + std::to_string(m.max_lag_bytes.load());
	out += ",\"inflight\":" + std::to_string(m.inflight.load());
	out += ",\"backpressure\":";
	out += m.backpressure.load() ? "true" : "false";
	out += ",\"stalled\":";
	out += m.relay_stalled.load() ? "true" : "false";
	out += "},\"ingester\":{\"lag_messages\":";
	int64_t ingester_lag = m.ingester_lag.load();
	out += ingester_lag >= 0 ? std::to_string(ingester_lag) : std::string("null");
	out += "}";
	if (m.api_pool) {
		Metrics::ApiPoolState pool = m.api_pool();
		out += ",\"api_pool\":{\"state\":\"";
		out += pool.connections > 0 ? "connected" : "reconnecting";
		out += "\",\"connections\":" + std::to_string(pool.connections);
		out += ",\"queue_depth\":" + std::to_string(pool.queue_depth) + "}";
	}
	out += "}";
	return out;
}

} // namespace event::sidecar
