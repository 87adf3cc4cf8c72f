// metrics.cpp — Prometheus and /health rendering of the relay's Metrics.
#include "metrics.hpp"

#include "core/json.hpp"
#include "relay/protocol.hpp"

namespace event::sidecar {

namespace {

void Metric(std::string *out, const char *name, const char *type, const char *help, const std::string &labels,
			const std::string &value) {
	*out += "# HELP ";
	*out += name;
	*out += ' ';
	*out += help;
	*out += "\n# TYPE ";
	*out += name;
	*out += ' ';
	*out += type;
	*out += '\n';
	*out += name;
	*out += labels;
	*out += ' ';
	*out += value;
	*out += '\n';
}

// Escapes a Prometheus label value.
std::string Label(const std::string &v) {
	std::string out;
	for (char c : v) {
		if (c == '\\' || c == '"')
			out += '\\';
		if (c == '\n') {
			out += "\\n";
			continue;
		}
		out += c;
	}
	return out;
}

} // namespace

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

void AppendHistogram(std::string *out, const char *name, const char *help, const std::string &slot,
					 const LatencyHistogram &h) {
	const std::string prefix = std::string(name);
	const std::string slot_label = "slot=\"" + Label(slot) + "\"";
	*out += "# HELP " + prefix + " " + help + "\n# TYPE " + prefix + " histogram\n";
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

std::string RenderPrometheus(const Metrics &m, const std::string &slot) {
	std::string out;
	out.reserve(4096);
	const std::string l = "{slot=\"" + Label(slot) + "\"}";
	auto u = [](const std::atomic<uint64_t> &a) { return std::to_string(a.load()); };
	auto b = [](const std::atomic<bool> &a) { return std::string(a.load() ? "1" : "0"); };
	Metric(&out, "event_relay_events_received_total", "counter", "Events decoded from the replication slot.", l,
		   u(m.events_received));
	Metric(&out, "event_relay_events_published_total", "counter", "JetStream publish calls, retries included.", l,
		   u(m.events_published));
	Metric(&out, "event_relay_events_acked_total", "counter", "Publishes acknowledged by JetStream.", l,
		   u(m.events_acked));
	Metric(&out, "event_relay_events_duplicate_total", "counter",
		   "Acknowledgements JetStream flagged as duplicates (Nats-Msg-Id).", l, u(m.events_duplicate));
	Metric(&out, "event_relay_publish_errors_total", "counter",
		   "Failed publishes, negative acknowledgements and acknowledgement timeouts.", l, u(m.publish_errors));
	Metric(&out, "event_relay_republished_total", "counter", "Publishes of events already sent once.", l,
		   u(m.republished));
	Metric(&out, "event_relay_heartbeats_sent_total", "counter", "pg_logical_emit_message heartbeats written.", l,
		   u(m.heartbeats_sent));
	Metric(&out, "event_relay_heartbeats_received_total", "counter", "Heartbeats decoded from the slot.", l,
		   u(m.heartbeats_received));
	Metric(&out, "event_relay_decode_errors_total", "counter", "Slot messages that could not be parsed.", l,
		   u(m.decode_errors));
	Metric(&out, "event_relay_unpublishable_events_total", "counter",
		   "Events over NATS max_payload, skipped (never published).", l, u(m.events_unpublishable));
	Metric(&out, "event_relay_status_updates_total", "counter", "Standby status updates sent to PostgreSQL.", l,
		   u(m.status_updates_sent));
	out += "# HELP event_relay_reconnects_total Reconnections after a lost connection.\n"
		   "# TYPE event_relay_reconnects_total counter\n";
	out += "event_relay_reconnects_total{slot=\"" + Label(slot) + "\",target=\"postgres\"} " +
		   u(m.postgres_reconnects) + "\n";
	out += "event_relay_reconnects_total{slot=\"" + Label(slot) + "\",target=\"nats\"} " + u(m.nats_reconnects) +
		   "\n";
	Metric(&out, "event_relay_inflight", "gauge", "Publishes not yet acknowledged by JetStream.", l,
		   std::to_string(m.inflight.load()));
	Metric(&out, "event_relay_confirmed_lsn", "gauge", "LSN confirmed to PostgreSQL as flushed (numeric).", l,
		   u(m.confirmed_lsn));
	Metric(&out, "event_relay_received_lsn", "gauge", "Highest LSN received from PostgreSQL (numeric).", l,
		   u(m.received_lsn));
	Metric(&out, "event_relay_lag_bytes", "gauge",
		   "pg_current_wal_lsn() - confirmed_flush_lsn of the slot (-1 until measured).", l,
		   std::to_string(m.lag_bytes.load()));
	Metric(&out, "event_relay_max_lag_bytes", "gauge", "Configured lag alarm threshold.", l,
		   std::to_string(m.max_lag_bytes.load()));
	Metric(&out, "event_relay_postgres_up", "gauge", "1 when PostgreSQL is reachable.", l, b(m.postgres_up));
	Metric(&out, "event_relay_replication_streaming", "gauge", "1 while this relay streams from the slot.", l,
		   b(m.replication_streaming));
	Metric(&out, "event_relay_standby", "gauge", "1 while the slot is held by another relay.", l, b(m.standby));
	Metric(&out, "event_relay_nats_up", "gauge", "1 when connected to NATS.", l, b(m.nats_up));
	Metric(&out, "event_relay_backpressure", "gauge", "1 while reading pauses because max-inflight is reached.", l,
		   b(m.backpressure));
	Metric(&out, "event_relay_start_time_seconds", "gauge", "Process start, Unix time.", l,
		   std::to_string(m.start_time_unix.load()));
	AppendHistogram(&out, "event_relay_commit_to_ack_seconds",
					"Time from an event's commit (its commit_time) to its JetStream acknowledgement, wall clock.",
					slot, m.commit_to_ack);
	return out;
}

const char *HealthStatus(const Metrics &m) {
	if (!m.postgres_up.load() || !m.nats_up.load())
		return "down";
	int64_t lag = m.lag_bytes.load();
	if (lag >= 0 && lag > m.max_lag_bytes.load())
		return "degraded";
	if (m.events_unpublishable.load() > 0 || m.decode_errors.load() > 0)
		return "degraded"; // messages were skipped: an operator must look (until restart)
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
	out += "}}";
	return out;
}

} // namespace event::sidecar
