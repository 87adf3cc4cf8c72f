// sidecar_message_test.cpp — event_decoder payloads, subjects, /health and request lines.
#include <gtest/gtest.h>

#include <string>

#include "metrics.hpp"
#include "relay/decoded_message.hpp"

using namespace event::sidecar;
using namespace event::sidecar::relay;

TEST(SidecarDecodedMessage, Event) {
	DecodedMessage m;
	ParseDecodedMessage(
		R"({"event_id":"01a2-x","position":1,"event_type":"order.created","event_source":"backend",)"
		R"("event_category":"order","user_id":null,"stream_id":"order:1","stream_version":3,"data":{"k":"v"},)"
		R"("metadata":{},"context":{},"idempotency_key":null,"timestamp":"2026-01-01T00:00:00Z",)"
		R"("created_at":"2026-01-01T00:00:00Z","xid":123,"lsn":"0/16B3748","commit_time":"2026-01-01T00:00:00Z"})",
		&m);
	ASSERT_EQ(m.kind, DecodedKind::kEvent) << m.error;
	EXPECT_EQ(m.event_id, "01a2-x");
	EXPECT_EQ(m.lsn, 0x16B3748u);
	EXPECT_EQ(m.stream_id, "order:1");
	EXPECT_EQ(m.stream_version, 3);
	EXPECT_EQ(SubjectFor(m), "events.backend.order.order.created");
}

TEST(SidecarDecodedMessage, Heartbeat) {
	DecodedMessage m;
	ASSERT_TRUE(ParseDecodedMessage(R"({"heartbeat":true,"lsn":"1/A","content":"2026-…"})", &m));
	ASSERT_EQ(m.kind, DecodedKind::kHeartbeat);
	EXPECT_EQ(m.lsn, 0x10000000Au);
}

TEST(SidecarDecodedMessage, Invalid) {
	for (const char *bad :
		 {"", "[]", "{", "{\"event_id\":\"a\"}", "{\"lsn\":\"0/1\"}", "{\"lsn\":\"zz\",\"heartbeat\":true}",
		  "{\"lsn\":\"0/1\",\"event_id\":\"a\",\"event_type\":\"t\",\"event_source\":\"s\"}",
		  "{\"lsn\":\"0/1\",\"event_id\":1,\"event_type\":\"t\",\"event_source\":\"s\",\"event_category\":\"c\"}"}) {
		DecodedMessage m;
		EXPECT_FALSE(ParseDecodedMessage(bad, &m)) << bad;
		EXPECT_EQ(m.kind, DecodedKind::kInvalid) << bad;
		EXPECT_FALSE(m.error.empty()) << bad;
	}
}

TEST(SidecarDecodedMessage, SubjectIsSanitised) {
	DecodedMessage m;
	m.event_source = "back end";
	m.event_category = "a.b";
	m.event_type = "x.*.>";
	std::string s = SubjectFor(m);
	EXPECT_EQ(s.rfind("events.", 0), 0u);
	EXPECT_EQ(s.find_first_of(" *>"), std::string::npos) << s;
	EXPECT_EQ(s.substr(0, 20), "events.back_end.a_b.");
}

TEST(SidecarMetrics, HealthStatus) {
	Metrics m;
	m.max_lag_bytes = 100;
	EXPECT_STREQ(HealthStatus(m), "down");
	m.postgres_up = true;
	m.nats_up = true;
	EXPECT_STREQ(HealthStatus(m), "ok");
	m.lag_bytes = 101;
	EXPECT_STREQ(HealthStatus(m), "degraded");
	std::string json = RenderHealthJson(m, "event_relay");
	EXPECT_NE(json.find("\"status\":\"degraded\""), std::string::npos) << json;
	EXPECT_NE(json.find("\"slot\":\"event_relay\""), std::string::npos) << json;
	EXPECT_NE(json.find("\"lag_bytes\":101"), std::string::npos) << json;
	EXPECT_NE(json.find("\"ingester\":{\"lag_messages\":null}"), std::string::npos) << json;
	m.ingester_lag = 7;
	EXPECT_NE(RenderHealthJson(m, "s").find("\"ingester\":{\"lag_messages\":7}"), std::string::npos);
	EXPECT_EQ(RenderHealthJson(m, "s").find("api_pool"), std::string::npos) << "not shown when not set";
	m.lag_bytes = 50;
	Metrics::ApiPoolState pool{0, 3};
	m.api_pool = [&pool] { return pool; };
	EXPECT_STREQ(HealthStatus(m), "degraded") << "API pool without a connection";
	EXPECT_NE(RenderHealthJson(m, "s").find("\"api_pool\":{\"state\":\"reconnecting\",\"connections\":0,\"queue_depth\":3}"),
	          std::string::npos) << RenderHealthJson(m, "s");
	pool.connections = 4;
	EXPECT_STREQ(HealthStatus(m), "ok");
	EXPECT_NE(RenderHealthJson(m, "s").find("\"api_pool\":{\"state\":\"connected\",\"connections\":4"),
	          std::string::npos);
	m.lag_bytes = 101;
	m.nats_up = false;
	EXPECT_STREQ(HealthStatus(m), "down");
	std::string prom = RenderPrometheus(m, "s");
	EXPECT_NE(prom.find("event_relay_lag_bytes{slot=\"s\"} 101\n"), std::string::npos);
	EXPECT_NE(prom.find("# TYPE event_relay_events_published_total counter"), std::string::npos);
}
