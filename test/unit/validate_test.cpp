// validate_test.cpp — validation rules for user-supplied event fields.
#include "core/errors.hpp"
#include "core/validate.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace event::core {
namespace {

// Runs fn, expects a SqlError and returns it (or a blank one after a test failure).
SqlError Catch(const std::function<void()> &fn) {
	try {
		fn();
	} catch (const SqlError &e) {
		return e;
	}
	ADD_FAILURE() << "no SqlError thrown";
	return SqlError("", "");
}

void ExpectInvalid(const std::function<void()> &fn, const std::string &sqlstate, const std::string &message) {
	const SqlError e = Catch(fn);
	EXPECT_EQ(e.sqlstate(), sqlstate);
	EXPECT_EQ(e.message(), message);
	EXPECT_FALSE(e.hint().empty()) << "every validation error has a hint";
	EXPECT_EQ(e.message().back() == '.', false) << "messages have no final period";
}

// ---- helpers ----

TEST(Validate, TrimAscii) {
	EXPECT_EQ(TrimAscii("  a b \t\r\n"), "a b");
	EXPECT_EQ(TrimAscii(""), "");
	EXPECT_EQ(TrimAscii(" \t "), "");
	EXPECT_EQ(TrimAscii("x"), "x");
}

TEST(Validate, HasControlChars) {
	EXPECT_FALSE(HasControlChars("plain text, ünïcödé €"));
	EXPECT_TRUE(HasControlChars("a\tb"));
	EXPECT_TRUE(HasControlChars(std::string("a\0b", 3)));
	EXPECT_TRUE(HasControlChars("\x7f"));
	EXPECT_TRUE(HasControlChars("\xc2\x85")); // U+0085 NEL, a C1 control
	EXPECT_FALSE(HasControlChars("\xc2\xa0")); // U+00A0 NBSP is not a control
}

TEST(Validate, DisplayValueShortensAndMasks) {
	EXPECT_EQ(DisplayValue("abc"), "abc");
	EXPECT_EQ(DisplayValue("a\nb"), "a?b");
	EXPECT_EQ(DisplayValue("a\xc2\x85z"), "a?z");
	const std::string long_value(100, 'x');
	EXPECT_EQ(DisplayValue(long_value), std::string(64, 'x') + "...");
	// A 2-byte character straddling the cut is dropped whole.
	const std::string straddle = std::string(63, 'x') + "é" + "tail";
	EXPECT_EQ(DisplayValue(straddle), std::string(63, 'x') + "...");
}

// ---- event_type ----

TEST(Validate, EventTypeAcceptsAndTrims) {
	EXPECT_EQ(ValidateEventType("order.created"), "order.created");
	EXPECT_EQ(ValidateEventType("  user signed up \t"), "user signed up");
	EXPECT_EQ(ValidateEventType("zamówienie.złożone"), "zamówienie.złożone");
	EXPECT_EQ(ValidateEventType(std::string(255, 'e')), std::string(255, 'e'));
	EXPECT_EQ(ValidateEventType(" " + std::string(255, 'e') + " "), std::string(255, 'e'));
}

TEST(Validate, EventTypeRejects) {
	ExpectInvalid([] { ValidateEventType(""); }, kInvalidParameterValue, "invalid event_type \"\"");
	ExpectInvalid([] { ValidateEventType(" \t "); }, kInvalidParameterValue, "invalid event_type \" ? \"");
	ExpectInvalid([] { ValidateEventType(std::string(256, 'e')); }, kStringDataRightTruncation,
	              "invalid event_type \"" + std::string(64, 'e') + "...\"");
	ExpectInvalid([] { ValidateEventType("a\nb"); }, kInvalidParameterValue, "invalid event_type \"a?b\"");
	ExpectInvalid([] { ValidateEventType(std::string("a\0b", 3)); }, kInvalidParameterValue,
	              "invalid event_type \"a?b\"");
	ExpectInvalid([] { ValidateEventType("a\x7f"); }, kInvalidParameterValue, "invalid event_type \"a?\"");
}

TEST(Validate, EventTypeTooLongDetailGivesSizes) {
	const SqlError e = Catch([] { ValidateEventType(std::string(300, 'e')); });
	EXPECT_EQ(e.detail(), "The value is 300 bytes long; the limit is 255 bytes.");
}

// ---- stream_id ----

TEST(Validate, StreamIdParses) {
	StreamId s = ParseStreamId("order:42");
	EXPECT_EQ(s.entity_type, "order");
	EXPECT_EQ(s.entity_id, "42");
	// Split at the first ':' — the id may contain more.
	s = ParseStreamId("user:tenant:7");
	EXPECT_EQ(s.entity_type, "user");
	EXPECT_EQ(s.entity_id, "tenant:7");
	s = ParseStreamId("Billing.Invoice-v2_x:ab cd é");
	EXPECT_EQ(s.entity_type, "Billing.Invoice-v2_x");
	EXPECT_EQ(s.entity_id, "ab cd é");
	const std::string max = "t:" + std::string(253, 'i');
	EXPECT_EQ(ParseStreamId(max).entity_id.size(), 253u);
}

TEST(Validate, StreamIdRejects) {
	ExpectInvalid([] { ParseStreamId(""); }, kInvalidParameterValue, "invalid stream_id \"\"");
	ExpectInvalid([] { ParseStreamId("order"); }, kInvalidParameterValue, "invalid stream_id \"order\"");
	ExpectInvalid([] { ParseStreamId(":42"); }, kInvalidParameterValue, "invalid stream_id \":42\"");
	ExpectInvalid([] { ParseStreamId("order:"); }, kInvalidParameterValue, "invalid stream_id \"order:\"");
	ExpectInvalid([] { ParseStreamId(":"); }, kInvalidParameterValue, "invalid stream_id \":\"");
	ExpectInvalid([] { ParseStreamId("or der:1"); }, kInvalidParameterValue, "invalid stream_id \"or der:1\"");
	ExpectInvalid([] { ParseStreamId("zamówienie:1"); }, kInvalidParameterValue,
	              "invalid stream_id \"zamówienie:1\"");
	ExpectInvalid([] { ParseStreamId("a/b:1"); }, kInvalidParameterValue, "invalid stream_id \"a/b:1\"");
	ExpectInvalid([] { ParseStreamId("order:4\n2"); }, kInvalidParameterValue, "invalid stream_id \"order:4?2\"");
	ExpectInvalid([] { ParseStreamId("t:" + std::string(254, 'i')); }, kStringDataRightTruncation,
	              "invalid stream_id \"t:" + std::string(62, 'i') + "...\"");
}

TEST(Validate, StreamIdDetails) {
	EXPECT_EQ(Catch([] { ParseStreamId("order"); }).detail(), "The stream id has no ':' separator.");
	EXPECT_EQ(Catch([] { ParseStreamId(":1"); }).detail(), "The entity type before ':' is empty.");
	EXPECT_EQ(Catch([] { ParseStreamId("o:"); }).detail(), "The entity id after ':' is empty.");
}

// ---- user_id, idempotency_key ----

TEST(Validate, UserId) {
	EXPECT_NO_THROW(ValidateUserId(""));
	EXPECT_NO_THROW(ValidateUserId("user-123@example.com"));
	EXPECT_NO_THROW(ValidateUserId(std::string(255, 'u')));
	ExpectInvalid([] { ValidateUserId(std::string(256, 'u')); }, kStringDataRightTruncation,
	              "invalid user_id \"" + std::string(64, 'u') + "...\"");
	ExpectInvalid([] { ValidateUserId("u\r1"); }, kInvalidParameterValue, "invalid user_id \"u?1\"");
}

TEST(Validate, IdempotencyKey) {
	EXPECT_NO_THROW(ValidateIdempotencyKey("0190b6e4-8f3a-7c21-9d4e-3b2a1c0d9e8f"));
	EXPECT_NO_THROW(ValidateIdempotencyKey(std::string(255, 'k')));
	ExpectInvalid([] { ValidateIdempotencyKey(""); }, kInvalidParameterValue, "invalid idempotency_key \"\"");
	ExpectInvalid([] { ValidateIdempotencyKey(std::string(256, 'k')); }, kStringDataRightTruncation,
	              "invalid idempotency_key \"" + std::string(64, 'k') + "...\"");
	ExpectInvalid([] { ValidateIdempotencyKey("k\x01"); }, kInvalidParameterValue, "invalid idempotency_key \"k?\"");
}

// ---- expected_version ----

TEST(Validate, ExpectedVersionFromText) {
	EXPECT_EQ(ParseExpectedVersion("any"), ExpectedVersion::Any());
	EXPECT_EQ(ParseExpectedVersion("ANY"), ExpectedVersion::Any());
	EXPECT_EQ(ParseExpectedVersion(" any "), ExpectedVersion::Any());
	EXPECT_EQ(ParseExpectedVersion("no_stream"), ExpectedVersion::NoStream());
	EXPECT_EQ(ParseExpectedVersion("No_Stream"), ExpectedVersion::NoStream());
	EXPECT_EQ(ParseExpectedVersion("0"), ExpectedVersion::NoStream());
	EXPECT_EQ(ParseExpectedVersion("000"), ExpectedVersion::NoStream());
	EXPECT_EQ(ParseExpectedVersion("1"), ExpectedVersion::Exact(1));
	EXPECT_EQ(ParseExpectedVersion("42"), ExpectedVersion::Exact(42));
	EXPECT_EQ(ParseExpectedVersion("007"), ExpectedVersion::Exact(7));
	EXPECT_EQ(ParseExpectedVersion("9223372036854775807"), ExpectedVersion::Exact(INT64_MAX));
}

TEST(Validate, ExpectedVersionTextRejects) {
	for (const char *bad : {"", " ", "-1", "+1", "1.0", "1e3", "abc", "any1", "no stream", "nostream", "0x10",
	                        "9223372036854775808", "99999999999999999999", "1 2"}) {
		const SqlError e = Catch([bad] { ParseExpectedVersion(bad); });
		EXPECT_EQ(e.sqlstate(), kInvalidParameterValue) << bad;
		EXPECT_EQ(e.message(), "invalid expected_version \"" + std::string(bad) + "\"") << bad;
		EXPECT_NE(e.hint().find("no_stream"), std::string::npos) << bad;
	}
}

TEST(Validate, ExpectedVersionFromJsonNumber) {
	EXPECT_EQ(ExpectedVersionFromJsonNumber("0"), ExpectedVersion::NoStream());
	EXPECT_EQ(ExpectedVersionFromJsonNumber("7"), ExpectedVersion::Exact(7));
	// numeric_out's text of JSON numbers that are not integers >= 0: refused, never rounded.
	for (const char *bad : {"1.5", "-0.4", "2.0", "-1", "1e3", "", "99999999999999999999"}) {
		const SqlError e = Catch([bad] { ExpectedVersionFromJsonNumber(bad); });
		EXPECT_EQ(e.sqlstate(), kInvalidParameterValue) << bad;
		EXPECT_EQ(e.message(), "invalid expected_version \"" + std::string(bad) + "\"") << bad;
	}
}

TEST(Validate, EntityType) {
	ValidateEntityType("order");
	ValidateEntityType("billing.invoice-2_x");
	ExpectInvalid([] { ValidateEntityType("a:b"); }, kInvalidParameterValue, "invalid entity_type \"a:b\"");
	ExpectInvalid([] { ValidateEntityType(""); }, kInvalidParameterValue, "invalid entity_type \"\"");
	ExpectInvalid([] { ValidateEntityType("a b"); }, kInvalidParameterValue, "invalid entity_type \"a b\"");
}

TEST(Validate, ExpectedVersionFromInt) {
	EXPECT_EQ(ExpectedVersionFromInt(0), ExpectedVersion::NoStream());
	EXPECT_EQ(ExpectedVersionFromInt(1), ExpectedVersion::Exact(1));
	EXPECT_EQ(ExpectedVersionFromInt(INT64_MAX), ExpectedVersion::Exact(INT64_MAX));
	ExpectInvalid([] { ExpectedVersionFromInt(-1); }, kInvalidParameterValue, "invalid expected_version \"-1\"");
	ExpectInvalid([] { ExpectedVersionFromInt(INT64_MIN); }, kInvalidParameterValue,
	              "invalid expected_version \"-9223372036854775808\"");
}

TEST(Validate, ExpectedVersionToString) {
	EXPECT_EQ(ExpectedVersionToString(ExpectedVersion::Any()), "any");
	EXPECT_EQ(ExpectedVersionToString(ExpectedVersion::NoStream()), "no_stream");
	EXPECT_EQ(ExpectedVersionToString(ExpectedVersion::Exact(12)), "12");
}

// ---- allowed values ----

TEST(Validate, CheckAllowedAccepts) {
	EXPECT_NO_THROW(CheckAllowed("source", "web", {"web", "api", "mobile"}));
	EXPECT_NO_THROW(CheckAllowed("status", "done", std::vector<std::string>{"pending", "done"}));
}

TEST(Validate, CheckAllowedRejectsWithHint) {
	SqlError e = Catch([] { CheckAllowed("source", "Web", {"web", "api", "mobile"}); });
	EXPECT_EQ(e.sqlstate(), kInvalidParameterValue);
	EXPECT_EQ(e.message(), "invalid source \"Web\"");
	EXPECT_EQ(e.hint(), "Allowed values: web, api, mobile.");

	e = Catch([] { CheckAllowed("status", "", std::vector<std::string>{"pending"}); });
	EXPECT_EQ(e.message(), "invalid status \"\"");
	EXPECT_EQ(e.hint(), "Allowed values: pending.");

	e = Catch([] { CheckAllowed("category", "x", std::vector<std::string>{}); });
	EXPECT_EQ(e.hint(), "No category values are defined.");
}

// ---- names ----

TEST(Validate, NameAccepts) {
	EXPECT_NO_THROW(ValidateName("source", "web"));
	EXPECT_NO_THROW(ValidateName("source", "a"));
	EXPECT_NO_THROW(ValidateName("category", "user_events_2"));
	EXPECT_NO_THROW(ValidateName("category", "a" + std::string(62, '_')));
}

TEST(Validate, NameRejects) {
	for (const std::string bad : {"", "Web", "1web", "_web", "we-b", "we b", "web.app", "wéb", "web\n"}) {
		const SqlError e = Catch([&bad] { ValidateName("source", bad); });
		EXPECT_EQ(e.sqlstate(), kInvalidParameterValue) << bad;
		EXPECT_EQ(e.message().rfind("invalid source \"", 0), 0u) << bad;
		EXPECT_FALSE(e.hint().empty());
	}
	ExpectInvalid([] { ValidateName("source", std::string(64, 'a')); }, kInvalidParameterValue,
	              "invalid source \"" + std::string(64, 'a') + "\"");
}

// ---- errors.hpp ----

TEST(Errors, SqlStateFormat) {
	for (const char *ok : {kWrongExpectedVersion, kSchemaValidation, kInvalidParameterValue, kInvalidTextRepresentation,
	                       kProgramLimitExceeded, kStringDataRightTruncation, kObjectNotInPrerequisiteState,
	                       kFeatureNotSupported, kInsufficientPrivilege, kNullValueNotAllowed, kInvalidRowCountInLimit,
	                       kInvalidRowCountInOffset, kOutOfMemory, kInternalError}) {
		EXPECT_TRUE(IsValidSqlState(ok)) << ok;
	}
	for (const char *bad : {"", "EV01", "EV0011", "ev001", "EV-01"})
		EXPECT_FALSE(IsValidSqlState(bad)) << bad;
}

TEST(Errors, SqlErrorParts) {
	const SqlError e(kWrongExpectedVersion, "wrong expected version", "Detail.", "Hint.");
	EXPECT_EQ(e.sqlstate(), "EV001");
	EXPECT_STREQ(e.what(), "wrong expected version");
	EXPECT_EQ(e.detail(), "Detail.");
	EXPECT_EQ(e.hint(), "Hint.");
}

} // namespace
} // namespace event::core
