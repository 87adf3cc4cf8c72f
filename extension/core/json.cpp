// json.cpp — JSON string escaping (see json.hpp).
#include "core/json.hpp"

namespace event::core {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// The two-character escape for c, or 0 if c needs \u00XX (c < 0x20) or no escape.
char ShortEscape(unsigned char c) noexcept {
	switch (c) {
	case '"':
		return '"';
	case '\\':
		return '\\';
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	default:
		return 0;
	}
}

bool NeedsEscape(unsigned char c) noexcept {
	return c < 0x20 || c == '"' || c == '\\';
}

} // namespace

void AppendJsonEscaped(std::string &out, std::string_view value) {
	const char *const data = value.data();
	const size_t size = value.size();
	size_t run_start = 0;
	for (size_t i = 0; i < size; i++) {
		const auto c = static_cast<unsigned char>(data[i]);
		if (!NeedsEscape(c))
			continue;
		out.append(data + run_start, i - run_start);
		const char short_form = ShortEscape(c);
		if (short_form != 0) {
			const char escape[2] = {'\\', short_form};
			out.append(escape, 2);
		} else {
			const char escape[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0x0F]};
			out.append(escape, 6);
		}
		run_start = i + 1;
	}
	out.append(data + run_start, size - run_start);
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
