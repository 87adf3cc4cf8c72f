// json.cpp — JSON string escaping (see json.hpp).
#include "core/json.hpp"

#include <cstring>

namespace event::core {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Per byte: 0 = no escape, 'u' = \u00XX, else the letter of the two-character escape.
struct EscapeTable {
	char code[256];
	constexpr EscapeTable() : code() {
		for (int c = 0; c < 0x20; c++)
			code[c] = 'u';
		code[static_cast<int>('"')] = '"';
		code[static_cast<int>('\\')] = '\\';
		code[static_cast<int>('\b')] = 'b';
		code[static_cast<int>('\f')] = 'f';
		code[static_cast<int>('\n')] = 'n';
		code[static_cast<int>('\r')] = 'r';
		code[static_cast<int>('\t')] = 't';
	}
};
constexpr EscapeTable kEscape;

// Length of the longest prefix of [p, end) that needs no escape.
size_t PlainRun(const unsigned char *p, const unsigned char *end) noexcept {
	const unsigned char *q = p;
	while (q < end && kEscape.code[*q] == 0)
		q++;
	return static_cast<size_t>(q - p);
}

// Writes the escape sequence of c (a byte that needs one) at out; returns its length (2 or 6).
size_t WriteEscape(unsigned char c, char *out) noexcept {
	const char code = kEscape.code[c];
	out[0] = '\\';
	if (code != 'u') {
		out[1] = code;
		return 2;
	}
	out[1] = 'u';
	out[2] = '0';
	out[3] = '0';
	out[4] = kHexDigits[c >> 4];
	out[5] = kHexDigits[c & 0x0F];
	return 6;
}

} // namespace

size_t JsonEscapedLength(std::string_view value) noexcept {
	size_t n = 0;
	for (unsigned char c : value)
		n += kEscape.code[c] == 0 ? 1 : kEscape.code[c] == 'u' ? 6 : 2;
	return n;
}

char *WriteJsonEscaped(char *out, std::string_view value) noexcept {
	const auto *p = reinterpret_cast<const unsigned char *>(value.data());
	const unsigned char *const end = p + value.size();
	while (p < end) {
		const size_t run = PlainRun(p, end);
		memcpy(out, p, run);
		out += run;
		p += run;
		if (p < end)
			out += WriteEscape(*p++, out);
	}
	return out;
}

void AppendJsonEscaped(std::string &out, std::string_view value) {
	const auto *p = reinterpret_cast<const unsigned char *>(value.data());
	const unsigned char *const end = p + value.size();
	while (p < end) {
		const size_t run = PlainRun(p, end);
		out.append(reinterpret_cast<const char *>(p), run);
		p += run;
		if (p < end) {
			char escape[6];
			out.append(escape, WriteEscape(*p++, escape));
		}
	}
}

void AppendJsonString(std::string &out, std::string_view value) {
	out += '"';
	AppendJsonEscaped(out, value);
	out += '"';
}

std::string JsonQuote(std::string_view value) {
	std::string out;
	out.reserve(value.size() + 2);
	AppendJsonString(out, value);
	return out;
}

} // namespace event::core
