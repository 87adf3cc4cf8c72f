// sidecar_pub_ack_test.cpp — JetStream's publish answers as the frontend collector reads them
// (sidecar/nats/pub_ack.hpp).
#include <gtest/gtest.h>

#include "nats/pub_ack.hpp"

using event::sidecar::nats::ParsePubAck;
using event::sidecar::nats::TrackedAck;

TEST(SidecarPubAck, Stored) {
	TrackedAck a = ParsePubAck(R"({"stream":"EVENTS","seq":42})");
	EXPECT_TRUE(a.ok);
	EXPECT_FALSE(a.duplicate);
	EXPECT_TRUE(a.error.empty());
	a = ParsePubAck(R"({"stream":"EVENTS","domain":"hub","seq":18446744073709551615})");
	EXPECT_TRUE(a.ok);
}

TEST(SidecarPubAck, Duplicate) {
	TrackedAck a = ParsePubAck(R"({"stream":"EVENTS","seq":42,"duplicate":true})");
	EXPECT_TRUE(a.ok);
	EXPECT_TRUE(a.duplicate);
	EXPECT_FALSE(ParsePubAck(R"({"stream":"EVENTS","seq":42,"duplicate":false})").duplicate);
}

TEST(SidecarPubAck, Error) {
	TrackedAck a =
		ParsePubAck(R"({"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"EVENTS","seq":0})");
	EXPECT_FALSE(a.ok);
	EXPECT_EQ(a.error, "JetStream error: maximum messages exceeded (err_code 10077)");
	a = ParsePubAck(R"({"error":"odd"})");
	EXPECT_FALSE(a.ok);
	EXPECT_EQ(a.error, "JetStream error");
}

TEST(SidecarPubAck, Unexpected) {
	for (const char *text : {"", "null", "[1]", "{\"stream\":\"EVENTS\"}", "{\"seq\":1}", "{\"stream\":1,\"seq\":1}",
	                         "{\"stream\":\"EVENTS\",\"seq\":-1}", "{\"stream\":\"EVENTS\",\"seq\":1", "+ACK"}) {
		TrackedAck a = ParsePubAck(text);
		EXPECT_FALSE(a.ok) << text;
		EXPECT_EQ(a.error.rfind("unexpected JetStream answer: ", 0), 0u) << text;
	}
}
