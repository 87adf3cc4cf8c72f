// subject.cpp — NATS subject building (see subject.hpp).
#include "core/subject.hpp"

namespace event::core {
namespace {

bool IsTokenChar(unsigned char c) noexcept {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Appends one token (value has no dots that should survive); empty -> "_".
void AppendSanitized(std::string &out, std::string_view value) {
	if (value.empty()) {
		out += '_';
		return;
	}
	for (size_t i = 0; i < value.size(); i++) {
		const auto c = static_cast<unsigned char>(value[i]);
		if (IsTokenChar(c)) {
			out += static_cast<char>(c);
		} else if ((c & 0xC0) == 0x80 && i > 0 && (static_cast<unsigned char>(value[i - 1]) & 0x80) != 0) {
			// continuation byte of a multibyte character already replaced by its lead byte
		} else {
			out += '_';
		}
	}
}

} // namespace

void AppendSubjectToken(std::string &out, std::string_view value) {
	AppendSanitized(out, value);
}

void AppendSubjectTokens(std::string &out, std::string_view value) {
	size_t start = 0;
	while (true) {
		const size_t dot = value.find('.', start);
		AppendSanitized(out, value.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
		if (dot == std::string_view::npos)
			break;
		out += '.';
		start = dot + 1;
	}
}

std::string EventSubject(std::string_view source, std::string_view category, std::string_view event_type) {
	std::string subject;
	subject.reserve(sizeof(kSubjectPrefix) + source.size() + category.size() + event_type.size() + 3);
	subject += kSubjectPrefix;
	subject += '.';
	AppendSubjectToken(subject, source);
	subject += '.';
	AppendSubjectToken(subject, category);
	subject += '.';
	AppendSubjectTokens(subject, event_type);
	return subject;
}

} // namespace event::core
