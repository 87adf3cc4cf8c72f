// sidecar_scan_test.cpp — the relay's single-pass reader of event_decoder messages, checked
// against a RapidJSON DOM reference (the reader it replaced) on crafted and mutated inputs.
#include <gtest/gtest.h>
#include "core/rapidjson.hpp"

#include <random>
#include <string>
#include <vector>

#include "relay/decoded_message.hpp"

using namespace event::sidecar::relay;

namespace {

// What the reference reader extracts; kind 2 = invalid.
struct Expected {
	int kind = 2;
	Lsn lsn = 0;
	std::string event_id, event_type, event_source, event_category, stream_id;
	long long stream_version = 0;
	int64_t commit_time_us = 0;
};

bool RefString(const rapidjson::Value &obj, const char *name, std::string *out) {
	auto it = obj.FindMember(name);
	if (it == obj.MemberEnd() || !it->value.IsString())
		return false;
	out->assign(it->value.GetString(), it->value.GetStringLength());
	return true;
}

// The previous implementation (RapidJSON DOM), as the reference.
Expected Reference(const std::string &payload) {
	Expected e;
	rapidjson::Document doc;
	doc.Parse(payload.data(), payload.size());
	if (doc.HasParseError() || !doc.IsObject())
		return e;
	std::string lsn_text;
	if (!RefString(doc, "lsn", &lsn_text) || !ParseLsn(lsn_text, &e.lsn))
		return e;
	auto hb = doc.FindMember("heartbeat");
	if (hb != doc.MemberEnd() && hb->value.IsBool() && hb->value.GetBool()) {
		e.kind = 1;
		return e;
	}
	if (!RefString(doc, "event_id", &e.event_id) || e.event_id.empty())
		return e;
	if (!RefString(doc, "event_type", &e.event_type) || !RefString(doc, "event_source", &e.event_source) ||
		!RefString(doc, "event_category", &e.event_category))
		return e;
	RefString(doc, "stream_id", &e.stream_id);
	auto sv = doc.FindMember("stream_version");
	if (sv != doc.MemberEnd() && sv->value.IsInt64())
		e.stream_version = sv->value.GetInt64();
	std::string ct;
	if (!RefString(doc, "commit_time", &ct) || !ParseCommitTime(ct, &e.commit_time_us))
		e.commit_time_us = 0;
	e.kind = 0;
	return e;
}

// Parses with the scanner and compares with the reference; returns a description of the first
// difference, "" if none.
std::string Compare(const std::string &payload) {
	Expected want = Reference(payload);
	DecodedMessage m;
	bool ok = ParseDecodedMessage(payload, &m);
	int kind = m.kind == DecodedKind::kEvent ? 0 : m.kind == DecodedKind::kHeartbeat ? 1 : 2;
	if (ok != (kind != 2))
		return "return value disagrees with kind";
	if (kind != want.kind)
		return "kind " + std::to_string(kind) + ", reference " + std::to_string(want.kind) + " (" + m.error + ")";
	if (kind == 2 && m.error.empty())
		return "invalid without an error";
	if (kind == 2)
		return "";
	if (m.lsn != want.lsn)
		return "lsn";
	if (kind == 1)
		return "";
	if (m.event_id != want.event_id || m.event_type != want.event_type || m.event_source != want.event_source ||
		m.event_category != want.event_category || m.stream_id != want.stream_id)
		return "string field";
	if (m.stream_version != want.stream_version)
		return "stream_version";
	if (m.commit_time_us != want.commit_time_us)
		return "commit_time";
	return "";
}

const char *const kEvent =
	R"({"event_id":"019ab2c4-5e6f-7a81-9b2c-3d4e5f607182","position":1,"event_type":"order.created",)"
	R"("event_source":"backend","event_category":"order","user_id":"u-1","stream_id":"order:42",)"
	R"("stream_version":7,"data":{"amount": 19.99, "items": [{"sku": "a\"}]", "n": [1, 2, [3, {}]]}], "x": null},)"
	R"("metadata":{"k": "v\\", "t": true, "f": false, "e": 1.5e-3},"context":{},"idempotency_key":null,)"
	R"("timestamp":"2026-11-23T10:00:00.123456Z","created_at":"2026-11-23T10:00:00.123789Z","xid":778,)"
	R"("lsn":"0/1BB4D50","commit_time":"2026-11-23T10:00:00.124001Z"})";

} // namespace

TEST(SidecarScan, PluginMessage) {
	DecodedMessage m;
	ASSERT_TRUE(ParseDecodedMessage(kEvent, &m)) << m.error;
	EXPECT_EQ(m.event_id, "019ab2c4-5e6f-7a81-9b2c-3d4e5f607182");
	EXPECT_EQ(m.event_type, "order.created");
	EXPECT_EQ(m.event_source, "backend");
	EXPECT_EQ(m.event_category, "order");
	EXPECT_EQ(m.stream_id, "order:42");
	EXPECT_EQ(m.stream_version, 7);
	EXPECT_EQ(m.lsn, 0x1BB4D50u);
	EXPECT_EQ(Compare(kEvent), "");
}

TEST(SidecarScan, PrettyFormatAndOrder) {
	std::string pretty = "{\n  \"lsn\": \"0/10\",\n  \"event_category\": \"c\",\n  \"event_source\" : \"s\",\r\n\t"
						 "\"event_type\": \"t\",\n  \"stream_id\": null,\n  \"stream_version\": null,\n  "
						 "\"event_id\": \"id\"\n}\n";
	DecodedMessage m;
	ASSERT_TRUE(ParseDecodedMessage(pretty, &m)) << m.error;
	EXPECT_EQ(m.event_id, "id");
	EXPECT_EQ(m.stream_id, "");
	EXPECT_EQ(m.stream_version, 0);
	EXPECT_EQ(Compare(pretty), "");
}

TEST(SidecarScan, EscapedRoutingFields) {
	std::string msg = R"({"event_id":"a\/b","event_type":"caf\u00e9.\"x\"","event_source":"s\\t","event_category":"\ud83d\ude00",)"
					  R"("stream_id":"o\n1","lsn":"0/1"})";
	DecodedMessage m;
	ASSERT_TRUE(ParseDecodedMessage(msg, &m)) << m.error;
	EXPECT_EQ(m.event_id, "a/b");
	EXPECT_EQ(m.event_type, "caf\xc3\xa9.\"x\"");
	EXPECT_EQ(m.event_source, "s\\t");
	EXPECT_EQ(m.event_category, "\xf0\x9f\x98\x80");
	EXPECT_EQ(m.stream_id, "o\n1");
	EXPECT_EQ(Compare(msg), "");
	EXPECT_EQ(SubjectFor(m), "events.s_t._.caf_._x_");
	// A lone surrogate has no UTF-8 form: rejected like RapidJSON does.
	EXPECT_FALSE(ParseDecodedMessage(R"({"event_id":"a","event_type":"\ud800","event_source":"s","event_category":"c","lsn":"0/1"})", &m));
}

TEST(SidecarScan, FirstOfRepeatedKeysAndWrongTypes) {
	for (const char *msg : {
			 R"({"event_id":"a","event_id":"b","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","lsn":"0/2"})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","stream_version":1.5})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","stream_version":-9223372036854775808})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","stream_version":9223372036854775808})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","stream_version":"3"})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","stream_id":5})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","heartbeat":false})",
			 R"({"heartbeat":true,"heartbeat":false,"lsn":"0/1"})", R"({"heartbeat":"true","lsn":"0/1"})",
			 R"({"heartbeat":1,"lsn":"0/1"})", R"({"lsn":1,"heartbeat":true})", R"({"l\u0073n":"0/5","heartbeat":true})",
			 R"({"event_id":"","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1"})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":["c"],"lsn":"0/1"})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","commit_time":"2026-11-23T10:00:00.124001Z"})",
			 R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","lsn":"0/1","commit_time":"2026-11-23T10:00:00.12400\u0031Z"})",
		 }) {
		EXPECT_EQ(Compare(msg), "") << msg;
	}
}

TEST(SidecarScan, SyntaxErrors) {
	for (const char *bad : {
			 "", " ", "{", "}", "[]", "null", "\"x\"", "{\"lsn\":\"0/1\",\"heartbeat\":true", "{\"lsn\":\"0/1\",\"heartbeat\":true}}",
			 "{\"lsn\":\"0/1\",\"heartbeat\":true} x", "{\"lsn\":\"0/1\",\"heartbeat\":true,}", "{,\"lsn\":\"0/1\"}",
			 "{\"lsn\" \"0/1\"}", "{\"lsn\":\"0/1\" \"heartbeat\":true}", "{lsn:\"0/1\"}", "{'lsn':'0/1'}",
			 "{\"lsn\":\"0/1\",\"heartbeat\":tru}", "{\"lsn\":\"0/1\",\"heartbeat\":True}", "{\"lsn\":\"0/1\",\"x\":nul}",
			 "{\"lsn\":\"0/1\",\"x\":01}", "{\"lsn\":\"0/1\",\"x\":1.}", "{\"lsn\":\"0/1\",\"x\":.5}", "{\"lsn\":\"0/1\",\"x\":1e}",
			 "{\"lsn\":\"0/1\",\"x\":-}", "{\"lsn\":\"0/1\",\"x\":+1}", "{\"lsn\":\"0/1\",\"x\":[1,]}", "{\"lsn\":\"0/1\",\"x\":[1 2]}",
			 "{\"lsn\":\"0/1\",\"x\":{\"a\"}}", "{\"lsn\":\"0/1\",\"x\":{\"a\":1,}}", "{\"lsn\":\"0/1\",\"x\":{1:2}}",
			 "{\"lsn\":\"0/1\",\"x\":[}", "{\"lsn\":\"0/1\",\"x\":{]}", "{\"lsn\":\"0/1\",\"x\":{\"a\":[1}]}",
			 "{\"lsn\":\"0/1\",\"x\":\"a\\qb\"}", "{\"lsn\":\"0/1\",\"x\":\"\\u12\"}", "{\"lsn\":\"0/1\",\"x\":\"\\u12G4\"}",
			 "{\"lsn\":\"0/1\",\"x\":\"tab\there\"}", "{\"lsn\":\"0/1\",\"x\":\"unterminated}", "{\"lsn\":\"0/1\",\"x\":\"\\",
			 "{\"lsn\":\"0/1\",\"x\":NaN}", "{\"lsn\":\"0/1\",\"x\":Infinity}", "{\"lsn\":\"0/1\" /* c */}",
		 }) {
		DecodedMessage m;
		EXPECT_FALSE(ParseDecodedMessage(bad, &m)) << bad;
		EXPECT_EQ(m.kind, DecodedKind::kInvalid) << bad;
		EXPECT_EQ(Compare(bad), "") << bad;
	}
	// Embedded NUL bytes.
	std::string nul = "{\"lsn\":\"0/1\",\"heartbeat\":true}";
	nul.insert(8, 1, '\0');
	DecodedMessage m;
	EXPECT_FALSE(ParseDecodedMessage(nul, &m));
	EXPECT_FALSE(ParseDecodedMessage(std::string(R"({"lsn":"0/1","heartbeat":true})") + '\0', &m));
}

TEST(SidecarScan, DeepNestingWithoutRecursion) {
	std::string deep = R"({"event_id":"a","event_type":"t","event_source":"s","event_category":"c","data":)";
	for (int i = 0; i < 100000; ++i)
		deep += (i % 2) ? "{\"k\":" : "[";
	deep += "1";
	for (int i = 100000 - 1; i >= 0; --i)
		deep += (i % 2) ? "}" : "]";
	deep += R"(,"lsn":"0/1"})";
	DecodedMessage m;
	ASSERT_TRUE(ParseDecodedMessage(deep, &m)) << m.error;
	EXPECT_EQ(m.event_id, "a");
	deep.insert(deep.size() - 20, "]");
	EXPECT_FALSE(ParseDecodedMessage(deep, &m));
}

TEST(SidecarScan, ReusedMessageIsReset) {
	DecodedMessage m;
	ASSERT_TRUE(ParseDecodedMessage(kEvent, &m));
	ASSERT_TRUE(ParseDecodedMessage(R"({"heartbeat":true,"lsn":"0/2"})", &m));
	EXPECT_EQ(m.kind, DecodedKind::kHeartbeat);
	EXPECT_EQ(m.event_id, "");
	EXPECT_EQ(m.stream_version, 0);
	EXPECT_EQ(m.commit_time_us, 0);
	EXPECT_TRUE(m.error.empty());
}

// Random single and double mutations of valid messages: the scanner must agree with the
// reference on validity and on every extracted field, and never read out of bounds (ASan/valgrind).
TEST(SidecarScan, MutationsAgreeWithReference) {
	const std::vector<std::string> bases = {
		kEvent,
		R"({"heartbeat":true,"lsn":"1/A","content":"2026-11-23 10:00:00+00"})",
		R"({"event_id":"x","position":2,"event_type":"a.b","event_source":"system","event_category":"telemetry",)"
		R"("user_id":null,"stream_id":null,"stream_version":null,"data":[],"metadata":{},"context":{"ip":"1.2.3.4"},)"
		R"("idempotency_key":"k\"1","timestamp":"2026-01-01T00:00:00.000000Z","lsn":"0/16B3748"})",
	};
	const char kAlphabet[] = "{}[]\",:\\ 0123456789-+.eEtrufalsn\x01\x7f\xc3u/";
	std::mt19937 rng(20261123);
	int disagreements = 0;
	for (int iter = 0; iter < 60000; ++iter) {
		std::string s = bases[iter % bases.size()];
		int edits = 1 + static_cast<int>(rng() % 2);
		for (int e = 0; e < edits && !s.empty(); ++e) {
			size_t pos = rng() % s.size();
			char c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
			switch (rng() % 3) {
			case 0: s.erase(pos, 1); break;
			case 1: s.insert(pos, 1, c); break;
			default: s[pos] = c; break;
			}
		}
		std::string diff = Compare(s);
		if (!diff.empty() && ++disagreements <= 10)
			ADD_FAILURE() << diff << " for: " << s;
	}
	EXPECT_EQ(disagreements, 0);
}
