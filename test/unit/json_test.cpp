// json_test.cpp — JSON string escaping (RFC 8259).
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace event::core {
namespace {

TEST(Json, EscapedLengthMatchesWhatIsWritten) {
	std::string every;
	for (int c = 0; c < 256; c++)
		every += static_cast<char>(c);
	for (const std::string &value : {std::string(), std::string("plain"), std::string("a\"b\\c\n"), every}) {
		std::string out;
		AppendJsonEscaped(out, value);
		EXPECT_EQ(JsonEscapedLength(value), out.size());
	}
	EXPECT_EQ(JsonEscapedLength(std::string(1, '\x01')), 6u);
}

TEST(Json, PlainTextPassesThrough) {
	EXPECT_EQ(JsonQuote(""), "\"\"");
	EXPECT_EQ(JsonQuote("hello world"), "\"hello world\"");
	EXPECT_EQ(JsonQuote("a/b"), "\"a/b\""); // '/' needs no escape
}

TEST(Json, QuotesAndBackslash) {
	EXPECT_EQ(JsonQuote("say \"hi\""), R"("say \"hi\"")");
	EXPECT_EQ(JsonQuote("C:\\dir\\"), R"("C:\\dir\\")");
	EXPECT_EQ(JsonQuote("\\\""), R"("\\\"")");
}

TEST(Json, ShortEscapes) {
	EXPECT_EQ(JsonQuote("\b\f\n\r\t"), R"("\b\f\n\r\t")");
}

TEST(Json, EveryControlCharacter) {
	for (int c = 0; c < 0x20; c++) {
		const std::string input(1, static_cast<char>(c));
		std::string expected;
		switch (c) {
		case '\b':
			expected = "\\b";
			break;
		case '\f':
			expected = "\\f";
			break;
		case '\n':
			expected = "\\n";
			break;
		case '\r':
			expected = "\\r";
			break;
		case '\t':
			expected = "\\t";
			break;
		default: {
			char buf[8];
			snprintf(buf, sizeof(buf), "\\u%04x", c);
			expected = buf;
		}
		}
		std::string out;
		AppendJsonEscaped(out, input);
		EXPECT_EQ(out, expected) << "char " << c;
	}
}

TEST(Json, NulInsideValue) {
	const std::string input("a\0b", 3);
	EXPECT_EQ(JsonQuote(input), "\"a\\u0000b\"");
}

TEST(Json, DelAndUnicodePassThrough) {
	EXPECT_EQ(JsonQuote("\x7f"), "\"\x7f\"");
	EXPECT_EQ(JsonQuote("żółć € 😀 \u2028"), "\"żółć € 😀 \u2028\"");
}

TEST(Json, AppendsToExistingContent) {
	std::string out = "{\"k\":";
	AppendJsonString(out, "v\n");
	out += '}';
	EXPECT_EQ(out, "{\"k\":\"v\\n\"}");
}

TEST(Json, MixedRunsAtBothEnds) {
	EXPECT_EQ(JsonQuote("\"start middle end\""), "\"\\\"start middle end\\\"\"");
	EXPECT_EQ(JsonQuote("\x01x\x1f"), "\"\\u0001x\\u001f\"");
}

TEST(Json, LongInput) {
	std::string input(100000, 'x');
	input[50000] = '"';
	const std::string out = JsonQuote(input);
	EXPECT_EQ(out.size(), input.size() + 3);
	EXPECT_EQ(out.substr(50000, 4), "x\\\"x");
}

} // namespace
} // namespace event::core
