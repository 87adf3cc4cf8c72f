// sidecar_latency_test.cpp — commit_time parsing and the commit → ack latency histogram.
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "metrics.hpp"
#include "relay/decoded_message.hpp"

using namespace event::sidecar;
using namespace event::sidecar::relay;

namespace {

// Reference conversion through the C library (UTC).
int64_t Reference(int y, int mo, int d, int h, int mi, int s, int us) {
	std::tm tm{};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return static_cast<int64_t>(timegm(&tm)) * 1000000 + us;
}

std::string Format(int y, int mo, int d, int h, int mi, int s, int us) {
	char buf[40];
	std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, mo, d, h, mi, s, us);
	return buf;
}

} // namespace

TEST(SidecarCommitTime, Valid) {
	int64_t us = -1;
	ASSERT_TRUE(ParseCommitTime("1970-01-01T00:00:00.000000Z", &us));
	EXPECT_EQ(us, 0);
	ASSERT_TRUE(ParseCommitTime("2026-11-23T10:00:00.124001Z", &us));
	EXPECT_EQ(us, Reference(2026, 11, 23, 10, 0, 0, 124001));
	ASSERT_TRUE(ParseCommitTime("2000-02-29T23:59:59.999999Z", &us));
	EXPECT_EQ(us, Reference(2000, 2, 29, 23, 59, 59, 999999));
	ASSERT_TRUE(ParseCommitTime("9999-12-31T23:59:59.999999Z", &us));
	EXPECT_EQ(us, Reference(9999, 12, 31, 23, 59, 59, 999999));
}

TEST(SidecarCommitTime, MatchesTimegmOverManyDates) {
	// Every month of 1970..2200 on its first and last day, at varying times.
	static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	for (int y = 1970; y <= 2200; ++y) {
		for (int mo = 1; mo <= 12; ++mo) {
			bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
			int last = kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
			for (int d : {1, 15, last}) {
				int h = (y + d) % 24, mi = (mo * 7) % 60, s = (d * 13) % 60, frac = (y * 7919 + mo * 31 + d) % 1000000;
				std::string text = Format(y, mo, d, h, mi, s, frac);
				int64_t us = 0;
				ASSERT_TRUE(ParseCommitTime(text, &us)) << text;
				ASSERT_EQ(us, Reference(y, mo, d, h, mi, s, frac)) << text;
			}
		}
	}
}

TEST(SidecarCommitTime, RejectsAnythingElse) {
	for (const char *bad : {
			 "", "infinity", "-infinity", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00.12400Z",
			 "2026-11-23T10:00:00.1240011Z", "2026-11-23 10:00:00.124001Z", "2026-11-23T10:00:00.124001+00",
			 "2026-11-23T10:00:00.124001z", "2026/11/23T10:00:00.124001Z", "2026-11-23T10-00:00.124001Z",
			 "2026-11-23T10:00-00.124001Z", "2026-11-23T10:00:00,124001Z", "20a6-11-23T10:00:00.124001Z",
			 "2026-1x-23T10:00:00.124001Z", "2026-11-23T10:00:00.12400xZ", "2026-00-23T10:00:00.124001Z",
			 "2026-13-23T10:00:00.124001Z", "2026-11-00T10:00:00.124001Z", "2026-11-31T10:00:00.124001Z",
			 "2026-02-29T10:00:00.124001Z", "1900-02-29T10:00:00.124001Z", "2026-11-23T24:00:00.124001Z",
			 "2026-11-23T10:60:00.124001Z", "2026-11-23T10:00:60.124001Z", "1969-12-31T23:59:59.999999Z",
			 "-026-11-23T10:00:00.124001Z", "+2026-11-23T10:00:00.12400Z", " 2026-11-23T10:00:00.124001Z",
			 "2026-11-23T10:00:00.124001Z ", "\"2026-11-23T10:00:00.124001Z\""}) {
		int64_t us = 42;
		EXPECT_FALSE(ParseCommitTime(bad, &us)) << bad;
		EXPECT_EQ(us, 42) << bad;
	}
	// Embedded NUL and non-ASCII bytes at digit positions.
	std::string nul = "2026-11-23T10:00:00.124001Z";
	nul[3] = '\0';
	int64_t us = 0;
	EXPECT_FALSE(ParseCommitTime(nul, &us));
	std::string high = "2026-11-23T10:00:00.124001Z";
	high[20] = static_cast<char>(0xC3);
	EXPECT_FALSE(ParseCommitTime(high, &us));
}

TEST(SidecarCommitTime, FromPluginMessage) {
	DecodedMessage m;
	ParseDecodedMessage(R"({"event_id":"a","position":1,"event_type":"t","event_source":"s","event_category":"c",)"
						R"("lsn":"0/1","commit_time":"2026-11-23T10:00:00.124001Z"})",
						&m);
	ASSERT_EQ(m.kind, DecodedKind::kEvent) << m.error;
	EXPECT_EQ(m.commit_time_us, Reference(2026, 11, 23, 10, 0, 0, 124001));
	// Absent or malformed commit_time: still an event, latency unknown.
	ParseDecodedMessage(R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1"})", &m);
	ASSERT_EQ(m.kind, DecodedKind::kEvent) << m.error;
	EXPECT_EQ(m.commit_time_us, 0);
	ParseDecodedMessage(
		R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","commit_time":"infinity"})",
		&m);
	ASSERT_EQ(m.kind, DecodedKind::kEvent) << m.error;
	EXPECT_EQ(m.commit_time_us, 0);
}

TEST(SidecarHistogram, MicrosAsSeconds) {
	EXPECT_EQ(MicrosAsSeconds(0), "0");
	EXPECT_EQ(MicrosAsSeconds(500), "0.0005");
	EXPECT_EQ(MicrosAsSeconds(7500), "0.0075");
	EXPECT_EQ(MicrosAsSeconds(1000000), "1");
	EXPECT_EQ(MicrosAsSeconds(2500000), "2.5");
	EXPECT_EQ(MicrosAsSeconds(1234567), "1.234567");
	EXPECT_EQ(MicrosAsSeconds(-1500), "-0.0015");
}

TEST(SidecarHistogram, BucketsUseLessOrEqual) {
	LatencyHistogram h;
	h.Observe(-5);      // clock skew: counted as 0
	h.Observe(500);     // exactly on the first bound
	h.Observe(501);     // just above it
	h.Observe(20000);   // 20 ms bound
	h.Observe(5000000); // last finite bound
	h.Observe(5000001); // +Inf
	EXPECT_EQ(h.Bucket(0), 2u);
	EXPECT_EQ(h.Bucket(1), 1u);
	EXPECT_EQ(h.Bucket(9), 1u);
	EXPECT_EQ(h.Bucket(LatencyHistogram::kBounds - 1), 1u);
	EXPECT_EQ(h.Bucket(LatencyHistogram::kBounds), 1u);
	EXPECT_EQ(h.Count(), 6u);
	EXPECT_EQ(h.SumMicros(), 0 + 500 + 501 + 20000 + 5000000 + 5000001);
}

TEST(SidecarHistogram, PrometheusRendering) {
	LatencyHistogram h;
	h.Observe(400);
	h.Observe(2500);
	h.Observe(2600);
	h.Observe(9000000);
	std::string out;
	AppendHistogram(&out, "x_seconds", "Help text.", "sl\"ot", h);
	const std::string l = "slot=\"sl\\\"ot\"";
	std::string want = "# HELP x_seconds Help text.\n# TYPE x_seconds histogram\n";
	const char *les[] = {"0.0005", "0.001", "0.002", "0.003", "0.004", "0.005", "0.0075", "0.01", "0.015", "0.02",
						 "0.03",   "0.05",  "0.075", "0.1",   "0.25",  "0.5",   "1",      "2.5",  "5",     "+Inf"};
	int cumulative[] = {1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4};
	for (int i = 0; i < 20; ++i)
		want += std::string("x_seconds_bucket{") + l + ",le=\"" + les[i] + "\"} " + std::to_string(cumulative[i]) + "\n";
	want += "x_seconds_sum{" + l + "} 9.0055\n";
	want += "x_seconds_count{" + l + "} 4\n";
	EXPECT_EQ(out, want);
}

TEST(SidecarHistogram, InRelayMetrics) {
	Metrics m;
	m.commit_to_ack.Observe(3000);
	std::string text = RenderPrometheus(m, "event_relay");
	EXPECT_NE(text.find("# TYPE event_relay_commit_to_ack_seconds histogram\n"), std::string::npos);
	EXPECT_NE(text.find("event_relay_commit_to_ack_seconds_bucket{slot=\"event_relay\",le=\"0.003\"} 1\n"),
			  std::string::npos);
	EXPECT_NE(text.find("event_relay_commit_to_ack_seconds_bucket{slot=\"event_relay\",le=\"0.002\"} 0\n"),
			  std::string::npos);
	EXPECT_NE(text.find("event_relay_commit_to_ack_seconds_count{slot=\"event_relay\"} 1\n"), std::string::npos);
	EXPECT_NE(text.find("event_relay_commit_to_ack_seconds_sum{slot=\"event_relay\"} 0.003\n"), std::string::npos);
}
