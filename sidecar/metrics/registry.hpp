// registry.hpp — the sidecar's metrics registry: counters, gauges and histograms with labels,
// rendered in the Prometheus text exposition format (0.0.4) for GET /metrics.
//
// Any module registers its metrics once (at startup or lazily) and keeps the returned reference;
// families and their children live as long as the registry (the process-wide Default()).
//
//   auto &created = metrics::Default().Counter("event_api_events_created_total", "Events created.", {"route"});
//   created.With({"/api/v1/events/create"}).Inc();
//   auto &depth = metrics::Default().Gauge("event_api_queue_depth", "Requests waiting for a commit.");
//   depth.With().Set(12);
//   auto &lat = metrics::Default().Histogram("event_api_commit_seconds", "Commit latency.", {});
//   lat.With().Observe(0.004);
//   metrics::Default().Callback("event_relay_lag_bytes", "gauge", "…", [] { return "…"; });  // see below
//
// Updates are lock-free atomics; With() takes a mutex only to find or create a child (keep the
// child reference on hot paths). Registering the same name twice returns the same family (with
// the same type and labels; a mismatch throws std::logic_error: a programming error at startup).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace event::sidecar::metrics {

using Labels = std::vector<std::string>; // label values, in the order of the family's label names

class Counter {
public:
	void Inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
	uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
	std::atomic<uint64_t> value_{0};
};

class Gauge {
public:
	void Set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
	void Add(int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
	int64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
	std::atomic<int64_t> value_{0};
};

// Default latency bounds in seconds: 0.5 ms … 10 s.
const std::vector<double> &DefaultLatencyBounds();

class Histogram {
public:
	explicit Histogram(const std::vector<double> *bounds);
	void Observe(double value) noexcept;
	// Snapshot: per-bucket (non-cumulative) counts, the last is +Inf; and the sum.
	std::vector<uint64_t> Buckets() const;
	double Sum() const noexcept;

private:
	const std::vector<double> *bounds_;
	std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
	std::atomic<uint64_t> sum_nanos_{0}; // sum in units of 1e-9 (values are >= 0)
};

// A metric family: one name, HELP, TYPE, label names; children by label values.
template <typename T>
class Family {
public:
	Family(std::string name, std::string help, std::vector<std::string> label_names,
		   std::vector<double> bounds = {});
	// The child for these label values (created on first use). Wrong arity throws std::logic_error.
	T &With(const Labels &values = {});
	const std::string &name() const { return name_; }
	const std::vector<std::string> &label_names() const { return label_names_; }
	// Appends the exposition of this family.
	void Render(std::string *out, const char *type) const;

private:
	std::string name_, help_;
	std::vector<std::string> label_names_;
	std::vector<double> bounds_;
	mutable std::mutex mu_;
	std::map<Labels, std::unique_ptr<T>> children_;
};

using CounterFamily = Family<metrics::Counter>;
using GaugeFamily = Family<metrics::Gauge>;
using HistogramFamily = Family<metrics::Histogram>;

class Registry {
public:
	Registry();
	~Registry();
	Registry(const Registry &) = delete;
	Registry &operator=(const Registry &) = delete;

	CounterFamily &Counter(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
	GaugeFamily &Gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names = {});
	HistogramFamily &Histogram(std::string_view name, std::string_view help, std::vector<std::string> label_names = {},
							   std::vector<double> bounds = DefaultLatencyBounds());
	// A metric whose samples are computed at scrape time: render() returns the sample lines
	// ("name{l=\"v\"} 1\n" ...) without HELP/TYPE; type is "counter", "gauge" or "histogram".
	void Callback(std::string_view name, std::string_view type, std::string_view help,
				  std::function<std::string()> render);
	// The whole exposition, families in registration order.
	std::string Render() const;

private:
	struct Entry;
	Entry *Find(std::string_view name, std::string_view type);
	// Finds or creates the family name of this type (member of Entry that holds it).
	template <typename F>
	F &GetOrAdd(std::unique_ptr<F> Entry::*member, std::string_view name, const char *type, std::string_view help,
				std::vector<std::string> label_names, std::vector<double> bounds);
	mutable std::mutex mu_;
	std::vector<std::unique_ptr<Entry>> entries_;
};

// The process-wide registry (served by GET /metrics).
Registry &Default();

// Escapes a Prometheus label value (\\, \", \n).
std::string EscapeLabel(std::string_view value);
// A label set as exposition text: {a="x",b="y"} ("" when empty).
std::string FormatLabels(const std::vector<std::string> &names, const Labels &values);
// A number as Prometheus text (integers without exponent, "+Inf").
std::string FormatValue(double v);

} // namespace event::sidecar::metrics
