// sidecar_registry_test.cpp — the metrics registry (sidecar/metrics/) and its Prometheus text.
#include <gtest/gtest.h>

#include <stdexcept>

#include "metrics.hpp"
#include "metrics/registry.hpp"

using namespace event::sidecar;

TEST(SidecarRegistry, CountersGaugesAndLabels) {
	metrics::Registry r;
	auto &req = r.Counter("http_requests_total", "Requests.", {"route", "status"});
	req.With({"/a", "200"}).Inc();
	req.With({"/a", "200"}).Inc(2);
	req.With({"/b\"x", "404"}).Inc();
	r.Gauge("queue_depth", "Depth.").With().Set(-3);
	EXPECT_EQ(&r.Counter("http_requests_total", "Requests.", {"route", "status"}), &req); // same family
	EXPECT_THROW(r.Gauge("http_requests_total", "x"), std::logic_error);
	EXPECT_THROW(r.Counter("http_requests_total", "x", {"route"}), std::logic_error);
	EXPECT_THROW(req.With({"/a"}), std::logic_error);
	EXPECT_EQ(r.Render(), "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n"
						  "http_requests_total{route=\"/a\",status=\"200\"} 3\n"
						  "http_requests_total{route=\"/b\\\"x\",status=\"404\"} 1\n"
						  "# HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth -3\n");
}

TEST(SidecarRegistry, Histogram) {
	metrics::Registry r;
	auto &h = r.Histogram("d_seconds", "Latency.", {"route"}, {0.01, 0.1, 1});
	h.With({"/x"}).Observe(0.01); // on the bound: le is inclusive
	h.With({"/x"}).Observe(0.05);
	h.With({"/x"}).Observe(5);
	h.With({"/x"}).Observe(-1); // counted as 0
	EXPECT_EQ(r.Render(), "# HELP d_seconds Latency.\n# TYPE d_seconds histogram\n"
						  "d_seconds_bucket{route=\"/x\",le=\"0.01\"} 2\n"
						  "d_seconds_bucket{route=\"/x\",le=\"0.1\"} 3\n"
						  "d_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
						  "d_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
						  "d_seconds_sum{route=\"/x\"} 5.06\n"
						  "d_seconds_count{route=\"/x\"} 4\n");
}

TEST(SidecarRegistry, RelayMetricsKeepTheirNames) {
	Metrics m;
	m.events_received = 7;
	m.nats_reconnects = 2;
	m.lag_bytes = 12;
	metrics::Registry r;
	RegisterRelayMetrics(&r, &m, "s1");
	std::string text = r.Render();
	EXPECT_NE(text.find("# TYPE event_relay_events_received_total counter\nevent_relay_events_received_total{slot=\"s1\"} 7\n"),
			  std::string::npos)
		<< text;
	EXPECT_NE(text.find("event_relay_reconnects_total{slot=\"s1\",target=\"nats\"} 2\n"), std::string::npos);
	EXPECT_NE(text.find("event_relay_lag_bytes{slot=\"s1\"} 12\n"), std::string::npos);
	m.lag_bytes = 13; // read at scrape time
	EXPECT_NE(r.Render().find("event_relay_lag_bytes{slot=\"s1\"} 13\n"), std::string::npos);
	EXPECT_THROW(RegisterRelayMetrics(&r, &m, "s1"), std::logic_error);
	EXPECT_EQ(metrics::FormatValue(0.25), "0.25");
	EXPECT_EQ(metrics::FormatValue(3), "3");
}
