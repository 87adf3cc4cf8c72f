// decoder_message_test.cpp — the hand-written message writer of the event_decoder plugin:
// timestamps against the C library, escaping, field selection, formats and the size bound.
#include "decoder/message.hpp"

#include "core/json.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <limits>
#include <random>

namespace event::decoder {
namespace {

constexpr int64_t kPgEpochUnixSeconds = 946684800; // 2000-01-01T00:00:00Z

// Reference formatting through gmtime_r and snprintf.
std::string ReferenceTimestamp(int64_t pg_micros) {
	int64_t seconds = pg_micros / 1000000;
	int64_t micros = pg_micros % 1000000;
	if (micros < 0) {
		micros += 1000000;
		seconds -= 1;
	}
	const time_t unix_seconds = static_cast<time_t>(seconds + kPgEpochUnixSeconds);
	struct tm tm {};
	gmtime_r(&unix_seconds, &tm);
	char text[64];
	snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	         tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros));
	return text;
}

std::string Timestamp(int64_t pg_micros) {
	char text[kTimestampBufferSize];
	const size_t len = FormatTimestamp(pg_micros, text);
	EXPECT_EQ(len, strlen(text));
	return std::string(text, len);
}

TEST(DecoderTimestamp, KnownValues) {
	EXPECT_EQ(Timestamp(0), "2000-01-01T00:00:00.000000Z");
	EXPECT_EQ(Timestamp(-1), "1999-12-31T23:59:59.999999Z");
	EXPECT_EQ(Timestamp(INT64_C(848748000123456)), "2026-11-23T11:20:00.123456Z");
	EXPECT_EQ(Timestamp(std::numeric_limits<int64_t>::max()), "infinity");
	EXPECT_EQ(Timestamp(std::numeric_limits<int64_t>::min()), "-infinity");
}

TEST(DecoderTimestamp, MatchesGmtimeOverFourCenturies) {
	std::mt19937_64 random(42);
	// 1900-01-01 .. 2300-01-01, in microseconds since 2000.
	std::uniform_int_distribution<int64_t> range(INT64_C(-3155673600000000), INT64_C(9467107200000000));
	for (int i = 0; i < 200000; i++) {
		const int64_t value = range(random);
		ASSERT_EQ(Timestamp(value), ReferenceTimestamp(value)) << value;
	}
}

TEST(DecoderTimestamp, YearsBeyondFourDigits) {
	// 253402300800 = 10000-01-01T00:00:00Z in Unix seconds: the first five-digit year.
	const int64_t seconds = INT64_C(253402300800) - kPgEpochUnixSeconds;
	EXPECT_EQ(Timestamp(seconds * 1000000), "10000-01-01T00:00:00.000000Z");
	EXPECT_EQ(Timestamp(seconds * 1000000 - 1), "9999-12-31T23:59:59.999999Z");
}

EventValues SampleValues() {
	EventValues v;
	v.text[kEventId] = "01234567-89ab-7cde-8f01-23456789abcd";
	v.text[kPosition] = "42";
	v.text[kEventType] = "order.placed";
	v.text[kEventSource] = "backend";
	v.text[kEventCategory] = "order";
	v.text[kUserId] = "user_1";
	v.is_null[kStreamId] = true;
	v.is_null[kStreamVersion] = true;
	v.text[kData] = R"({"total": 10})";
	v.text[kMetadata] = "{}";
	v.text[kContext] = "{}";
	v.is_null[kIdempotencyKey] = true;
	v.text[kTimestamp] = "2026-11-23T11:20:00.123456Z";
	v.text[kCreatedAt] = "2026-11-23T11:20:00.123457Z";
	return v;
}

CommitInfo SampleCommit() {
	CommitInfo commit;
	commit.xid = 777;
	commit.lsn = 0x16B374D848ull;
	commit.commit_time = INT64_C(848748000123456);
	return commit;
}

std::string Write(const EventMessageWriter &writer, const EventValues &values) {
	std::string out = "prefix:";
	writer.Append(out, values);
	EXPECT_EQ(out.compare(0, 7, "prefix:"), 0);
	const std::string message = out.substr(7);
	EXPECT_LE(message.size(), writer.Bound(values));
	return message;
}

TEST(DecoderMessage, CompactDefault) {
	EventMessageWriter writer{Options{}};
	writer.SetCommit(SampleCommit());
	EXPECT_EQ(Write(writer, SampleValues()),
	          R"({"event_id":"01234567-89ab-7cde-8f01-23456789abcd","position":42,"event_type":"order.placed",)"
	          R"("event_source":"backend","event_category":"order","user_id":"user_1","stream_id":null,)"
	          R"("stream_version":null,"data":{"total": 10},"metadata":{},"context":{},"idempotency_key":null,)"
	          R"("timestamp":"2026-11-23T11:20:00.123456Z","created_at":"2026-11-23T11:20:00.123457Z",)"
	          R"("xid":777,"lsn":"16/B374D848","commit_time":"2026-11-23T11:20:00.123456Z"})");
}

TEST(DecoderMessage, CommitChangesAreReflected) {
	EventMessageWriter writer{Options{}};
	CommitInfo commit = SampleCommit();
	writer.SetCommit(commit);
	commit.xid = 778;
	commit.lsn = 0x10;
	writer.SetCommit(commit);
	EXPECT_EQ(writer.commit(), commit);
	const std::string message = Write(writer, SampleValues());
	EXPECT_NE(message.find(R"("xid":778,"lsn":"0/10",)"), std::string::npos) << message;
}

TEST(DecoderMessage, FieldSelectionAndCommitOptions) {
	Options options;
	options.fields = kRequiredFields | (FieldMask{1} << kEventType) | (FieldMask{1} << kStreamVersion);
	options.include_xid = false;
	options.include_commit_time = false;
	EventMessageWriter writer{options};
	writer.SetCommit(SampleCommit());
	EventValues values = SampleValues();
	values.is_null[kStreamVersion] = false;
	values.text[kStreamVersion] = "7";
	EXPECT_EQ(Write(writer, values),
	          R"({"event_id":"01234567-89ab-7cde-8f01-23456789abcd","position":42,"event_type":"order.placed",)"
	          R"("stream_version":7,"lsn":"16/B374D848"})");
	options.include_lsn = false;
	EventMessageWriter bare{options};
	EXPECT_EQ(Write(bare, values),
	          R"({"event_id":"01234567-89ab-7cde-8f01-23456789abcd","position":42,"event_type":"order.placed",)"
	          R"("stream_version":7})");
}

TEST(DecoderMessage, Pretty) {
	Options options;
	options.format = Format::kJsonPretty;
	options.fields = kRequiredFields;
	EventMessageWriter writer{options};
	writer.SetCommit(SampleCommit());
	EXPECT_EQ(Write(writer, SampleValues()), "{\n  \"event_id\": \"01234567-89ab-7cde-8f01-23456789abcd\",\n"
	                                         "  \"position\": 42,\n  \"xid\": 777,\n  \"lsn\": \"16/B374D848\",\n"
	                                         "  \"commit_time\": \"2026-11-23T11:20:00.123456Z\"\n}");
}

TEST(DecoderMessage, EscapesTextFieldsLikeCoreJson) {
	EventMessageWriter writer{Options{}};
	std::string every_byte;
	for (int c = 1; c < 256; c++)
		every_byte += static_cast<char>(c);
	every_byte += '\0';
	const std::string cases[] = {"", "plain", "quote\"back\\slash", "tab\tnew\nline", every_byte,
	                             std::string(1000, '\x01'), "ünïcödé €"};
	for (const std::string &text : cases) {
		EventValues values = SampleValues();
		values.text[kEventType] = text;
		values.text[kUserId] = text;
		values.text[kIdempotencyKey] = text;
		values.is_null[kIdempotencyKey] = false;
		const std::string message = Write(writer, values);
		const std::string quoted = core::JsonQuote(text);
		EXPECT_NE(message.find("\"event_type\":" + quoted + ","), std::string::npos);
		EXPECT_NE(message.find("\"user_id\":" + quoted + ","), std::string::npos);
		EXPECT_NE(message.find("\"idempotency_key\":" + quoted + ","), std::string::npos);
	}
}

TEST(DecoderMessage, BoundHoldsForWorstCaseText) {
	EventMessageWriter writer{Options{}};
	writer.SetCommit(SampleCommit());
	const std::string controls(4096, '\x1f');
	EventValues values = SampleValues();
	for (int f : {kEventType, kEventSource, kEventCategory, kUserId, kStreamId, kIdempotencyKey}) {
		values.text[f] = controls;
		values.is_null[f] = false;
	}
	values.text[kStreamVersion] = "1";
	values.is_null[kStreamVersion] = false;
	std::string buffer(writer.Bound(values) + 64, '#');
	const size_t len = writer.Write(values, buffer.data());
	EXPECT_LE(len, writer.Bound(values));
	EXPECT_EQ(buffer.substr(writer.Bound(values)), std::string(64, '#')); // nothing written beyond
	EXPECT_EQ(buffer[len - 1], '}');
}

TEST(DecoderMessage, Heartbeat) {
	std::string out;
	AppendHeartbeatMessage(out, Format::kJson, 0x10, "tick \"1\"");
	EXPECT_EQ(out, R"({"heartbeat":true,"lsn":"0/10","content":"tick \"1\""})");
}

} // namespace
} // namespace event::decoder
