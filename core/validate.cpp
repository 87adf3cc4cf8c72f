// validate.cpp — field validation rules (see validate.hpp).
#include "core/validate.hpp"

#include "core/errors.hpp"

#include <limits>

namespace event::core {
namespace {

constexpr size_t kDisplayBytes = 64;

bool IsAsciiSpace(char c) noexcept {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool IsAsciiControl(unsigned char c) noexcept {
	return c < 0x20 || c == 0x7F;
}

// Length in bytes of the control character starting at value[i], 0 if none.
size_t ControlCharAt(std::string_view value, size_t i) noexcept {
	const auto c = static_cast<unsigned char>(value[i]);
	if (IsAsciiControl(c))
		return 1;
	// C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
	if (c == 0xC2 && i + 1 < value.size()) {
		const auto next = static_cast<unsigned char>(value[i + 1]);
		if (next >= 0x80 && next <= 0x9F)
			return 2;
	}
	return 0;
}

bool IsEntityTypeChar(char c) noexcept {
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '-';
}

std::string Quoted(std::string_view value) {
	return "\"" + DisplayValue(value) + "\"";
}

[[noreturn]] void Fail(const char *sqlstate, std::string_view field, std::string_view value, std::string detail,
                       std::string hint) {
	throw SqlError(sqlstate, "invalid " + std::string(field) + " " + Quoted(value), std::move(detail),
	               std::move(hint));
}

void CheckLength(std::string_view field, std::string_view value, size_t max, const char *hint) {
	if (value.size() > max)
		Fail(kStringDataRightTruncation, field, value,
		     "The value is " + std::to_string(value.size()) + " bytes long; the limit is " + std::to_string(max) +
		         " bytes.",
		     hint);
}

void CheckNoControlChars(std::string_view field, std::string_view value, const char *hint) {
	if (HasControlChars(value))
		Fail(kInvalidParameterValue, field, value, "The value contains control characters.", hint);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = static_cast<char>(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = static_cast<char>(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

template <typename Container>
void CheckAllowedIn(std::string_view field, std::string_view value, const Container &allowed) {
	std::string list;
	for (const auto &candidate : allowed) {
		if (std::string_view(candidate) == value)
			return;
		if (!list.empty())
			list += ", ";
		list += candidate;
	}
	Fail(kInvalidParameterValue, field, value, "",
	     list.empty() ? "No " + std::string(field) + " values are defined." : "Allowed values: " + list + ".");
}

constexpr char kEventTypeHint[] =
    "An event type is a non-empty name of at most 255 bytes without control characters, such as \"order.created\".";
constexpr char kStreamIdHint[] = "A stream id has the form \"{entity_type}:{entity_id}\", for example \"order:42\"; "
                                 "entity_type uses only letters, digits, '_', '.' and '-'.";
constexpr char kExpectedVersionHint[] =
    "Use \"any\", \"no_stream\" (or 0) for a new stream, or the current stream version as a number >= 1.";

} // namespace

std::string_view TrimAscii(std::string_view value) noexcept {
	size_t begin = 0, end = value.size();
	while (begin < end && IsAsciiSpace(value[begin]))
		begin++;
	while (end > begin && IsAsciiSpace(value[end - 1]))
		end--;
	return value.substr(begin, end - begin);
}

bool HasControlChars(std::string_view value) noexcept {
	for (size_t i = 0; i < value.size(); i++) {
		if (ControlCharAt(value, i) != 0)
			return true;
	}
	return false;
}

std::string DisplayValue(std::string_view value) {
	std::string out;
	const bool cut = value.size() > kDisplayBytes;
	size_t keep = value.size();
	if (cut) {
		keep = kDisplayBytes;
		while (keep > 0 && (static_cast<unsigned char>(value[keep]) & 0xC0) == 0x80)
			keep--;
	}
	out.reserve(keep + 3);
	for (size_t i = 0; i < keep;) {
		const size_t control = ControlCharAt(value, i);
		if (control != 0) {
			out += '?';
			i += control;
		} else {
			out += value[i++];
		}
	}
	if (cut)
		out += "...";
	return out;
}

std::string ValidateEventType(std::string_view value) {
	const std::string_view trimmed = TrimAscii(value);
	if (trimmed.empty())
		Fail(kInvalidParameterValue, "event_type", value, "The event type is empty.", kEventTypeHint);
	CheckLength("event_type", trimmed, kMaxEventTypeBytes, kEventTypeHint);
	CheckNoControlChars("event_type", trimmed, kEventTypeHint);
	return std::string(trimmed);
}

StreamId ParseStreamId(std::string_view value) {
	CheckLength("stream_id", value, kMaxStreamIdBytes, kStreamIdHint);
	const size_t colon = value.find(':');
	if (colon == std::string_view::npos)
		Fail(kInvalidParameterValue, "stream_id", value, "The stream id has no ':' separator.", kStreamIdHint);
	const std::string_view type = value.substr(0, colon);
	const std::string_view id = value.substr(colon + 1);
	if (type.empty())
		Fail(kInvalidParameterValue, "stream_id", value, "The entity type before ':' is empty.", kStreamIdHint);
	if (id.empty())
		Fail(kInvalidParameterValue, "stream_id", value, "The entity id after ':' is empty.", kStreamIdHint);
	for (char c : type) {
		if (!IsEntityTypeChar(c))
			Fail(kInvalidParameterValue, "stream_id", value,
			     "The entity type \"" + DisplayValue(type) + "\" contains characters other than letters, digits, "
			     "'_', '.' and '-'.",
			     kStreamIdHint);
	}
	CheckNoControlChars("stream_id", value, kStreamIdHint);
	return StreamId{std::string(type), std::string(id)};
}

void ValidateEntityType(std::string_view value) {
	constexpr char kHint[] = "An entity type is letters, digits, '_', '.' and '-'; the stream id is "
	                         "\"{entity_type}:{entity_id}\".";
	if (value.empty())
		Fail(kInvalidParameterValue, "entity_type", value, "The entity type is empty.", kHint);
	CheckLength("entity_type", value, kMaxStreamIdBytes, kHint);
	for (char c : value) {
		if (!IsEntityTypeChar(c))
			Fail(kInvalidParameterValue, "entity_type", value,
			     c == ':' ? "The entity type contains ':'." : "The entity type contains characters other than letters, "
			                                                  "digits, '_', '.' and '-'.",
			     kHint);
	}
}

void ValidateUserId(std::string_view value) {
	constexpr char kHint[] = "A user id is at most 255 bytes long and has no control characters.";
	CheckLength("user_id", value, kMaxUserIdBytes, kHint);
	CheckNoControlChars("user_id", value, kHint);
}

void ValidateIdempotencyKey(std::string_view value) {
	constexpr char kHint[] = "An idempotency key is a non-empty string of at most 255 bytes without control characters.";
	if (value.empty())
		Fail(kInvalidParameterValue, "idempotency_key", value, "The idempotency key is empty.", kHint);
	CheckLength("idempotency_key", value, kMaxIdempotencyKeyBytes, kHint);
	CheckNoControlChars("idempotency_key", value, kHint);
}

ExpectedVersion ParseExpectedVersion(std::string_view text) {
	const std::string_view value = TrimAscii(text);
	if (EqualsIgnoreCase(value, "any"))
		return ExpectedVersion::Any();
	if (EqualsIgnoreCase(value, "no_stream"))
		return ExpectedVersion::NoStream();
	if (value.empty())
		Fail(kInvalidParameterValue, "expected_version", text, "The expected version is empty.", kExpectedVersionHint);

	int64_t number = 0;
	for (char c : value) {
		if (c < '0' || c > '9')
			Fail(kInvalidParameterValue, "expected_version", text,
			     "The expected version is neither a keyword nor a non-negative integer.", kExpectedVersionHint);
		const int digit = c - '0';
		if (number > (std::numeric_limits<int64_t>::max() - digit) / 10)
			Fail(kInvalidParameterValue, "expected_version", text, "The expected version is out of range.",
			     kExpectedVersionHint);
		number = number * 10 + digit;
	}
	return number == 0 ? ExpectedVersion::NoStream() : ExpectedVersion::Exact(number);
}

ExpectedVersion ExpectedVersionFromJsonNumber(std::string_view text) {
	for (char c : text) {
		if (c < '0' || c > '9')
			Fail(kInvalidParameterValue, "expected_version", text,
			     "The expected version must be an integer >= 0, not a fraction or a negative number.",
			     kExpectedVersionHint);
	}
	return ParseExpectedVersion(text);
}

ExpectedVersion ExpectedVersionFromInt(int64_t value) {
	if (value < 0)
		Fail(kInvalidParameterValue, "expected_version", std::to_string(value), "The expected version is negative.",
		     kExpectedVersionHint);
	return value == 0 ? ExpectedVersion::NoStream() : ExpectedVersion::Exact(value);
}

std::string ExpectedVersionToString(const ExpectedVersion &expected) {
	switch (expected.kind) {
	case ExpectedVersion::Kind::Any:
		return "any";
	case ExpectedVersion::Kind::NoStream:
		return "no_stream";
	case ExpectedVersion::Kind::Exact:
		break;
	}
	return std::to_string(expected.version);
}

void CheckAllowed(std::string_view field, std::string_view value, std::initializer_list<std::string_view> allowed) {
	CheckAllowedIn(field, value, allowed);
}

void CheckAllowed(std::string_view field, std::string_view value, const std::vector<std::string> &allowed) {
	CheckAllowedIn(field, value, allowed);
}

void ValidateName(std::string_view field, std::string_view value) {
	constexpr char kHint[] =
	    "A name starts with a lowercase letter followed by lowercase letters, digits or '_', at most 63 bytes.";
	if (value.empty())
		Fail(kInvalidParameterValue, field, value, "The name is empty.", kHint);
	if (value.size() > kMaxNameBytes)
		Fail(kInvalidParameterValue, field, value,
		     "The name is " + std::to_string(value.size()) + " bytes long; the limit is 63 bytes.", kHint);
	if (!(value[0] >= 'a' && value[0] <= 'z'))
		Fail(kInvalidParameterValue, field, value, "The name does not start with a lowercase letter.", kHint);
	for (char c : value) {
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			Fail(kInvalidParameterValue, field, value,
			     "The name contains characters other than lowercase letters, digits and '_'.", kHint);
	}
}

} // namespace event::core
