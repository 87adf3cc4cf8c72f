// decoded_message.cpp — single-pass reader of event_decoder messages (see decoded_message.hpp).
#include "relay/decoded_message.hpp"

#include <cstring>

#include "core/hex.hpp"
#include "core/subject.hpp"

namespace event::sidecar::relay {

namespace {

// Byte classes inside a JSON string: 0 ordinary, 1 '"', 2 '\\', 3 control character (invalid).
struct StringClasses {
	unsigned char cls[256];
	constexpr StringClasses() : cls() {
		for (int c = 0; c < 0x20; ++c)
			cls[c] = 3;
		cls[static_cast<unsigned char>('"')] = 1;
		cls[static_cast<unsigned char>('\\')] = 2;
	}
};
constexpr StringClasses kString;

// Four hex digits at p (caller checked the length); -1 if any is not hex.
int Hex4(const char *p) {
	int v = 0;
	for (int i = 0; i < 4; ++i) {
		int d = core::HexDigitValue(p[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

void AppendUtf8(std::string *out, uint32_t cp) {
	if (cp < 0x80) {
		*out += static_cast<char>(cp);
	} else if (cp < 0x800) {
		*out += static_cast<char>(0xC0 | (cp >> 6));
		*out += static_cast<char>(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*out += static_cast<char>(0xE0 | (cp >> 12));
		*out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
		*out += static_cast<char>(0x80 | (cp & 0x3F));
	} else {
		*out += static_cast<char>(0xF0 | (cp >> 18));
		*out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
		*out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
		*out += static_cast<char>(0x80 | (cp & 0x3F));
	}
}

// Decodes the escapes of a string body already checked by Scanner::String. False for a lone
// UTF-16 surrogate (which has no UTF-8 form).
bool Unescape(std::string_view raw, std::string *out) {
	out->clear();
	out->reserve(raw.size());
	for (size_t i = 0; i < raw.size(); ++i) {
		char c = raw[i];
		if (c != '\\') {
			*out += c;
			continue;
		}
		char e = raw[++i];
		switch (e) {
		case 'b': *out += '\b'; break;
		case 'f': *out += '\f'; break;
		case 'n': *out += '\n'; break;
		case 'r': *out += '\r'; break;
		case 't': *out += '\t'; break;
		case 'u': {
			uint32_t cp = static_cast<uint32_t>(Hex4(raw.data() + i + 1));
			i += 4;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return false;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (i + 6 >= raw.size() || raw[i + 1] != '\\' || raw[i + 2] != 'u')
					return false;
				uint32_t low = static_cast<uint32_t>(Hex4(raw.data() + i + 3));
				if (low < 0xDC00 || low > 0xDFFF)
					return false;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
				i += 6;
			}
			AppendUtf8(out, cp);
			break;
		}
		default: *out += e; break; // '"', '\\', '/'
		}
	}
	return true;
}

// A cursor over the payload with the few JSON productions the reader needs. Every method
// returns false on a syntax error and never reads past the end.
class Scanner {
public:
	explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

	void SkipWs() {
		while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
			++p_;
	}
	// Skips whitespace; true (and consumed) if the next byte is c.
	bool Consume(char c) {
		SkipWs();
		if (p_ < end_ && *p_ == c) {
			++p_;
			return true;
		}
		return false;
	}
	// The next non-whitespace byte, '\0' at the end.
	char Peek() {
		SkipWs();
		return p_ < end_ ? *p_ : '\0';
	}
	bool AtEnd() {
		SkipWs();
		return p_ == end_;
	}

	// At '"': reads a string. *raw = the text between the quotes (still escaped); *escaped =
	// whether it holds a backslash escape.
	bool String(std::string_view *raw, bool *escaped) {
		if (p_ >= end_ || *p_ != '"')
			return false;
		const char *start = ++p_;
		*escaped = false;
		for (;;) {
			// Eight bytes at a time while none of them is '"', '\\' or a control character (SWAR
			// zero-byte tests; a false positive only sends the block to the byte loop below).
			constexpr uint64_t k01 = 0x0101010101010101ULL, k80 = 0x8080808080808080ULL;
			while (end_ - p_ >= 8) {
				uint64_t v;
				std::memcpy(&v, p_, 8);
				const uint64_t quote = v ^ (k01 * '"'), backslash = v ^ (k01 * '\\');
				if ((((quote - k01) & ~quote) | ((backslash - k01) & ~backslash) | ((v - k01 * 0x20) & ~v)) & k80)
					break;
				p_ += 8;
			}
			while (p_ < end_ && kString.cls[static_cast<unsigned char>(*p_)] == 0)
				++p_;
			if (p_ >= end_)
				return false;
			switch (kString.cls[static_cast<unsigned char>(*p_)]) {
			case 1:
				*raw = std::string_view(start, static_cast<size_t>(p_ - start));
				++p_;
				return true;
			case 2:
				*escaped = true;
				if (end_ - p_ < 2)
					return false;
				if (p_[1] == 'u') {
					if (end_ - p_ < 6 || Hex4(p_ + 2) < 0)
						return false;
					p_ += 6;
				} else if (std::strchr("\"\\/bfnrt", p_[1]) != nullptr && p_[1] != '\0') {
					p_ += 2;
				} else {
					return false;
				}
				break;
			default:
				return false; // raw control character
			}
		}
	}

	// A number token; *is_int64 and *value when it is an integer that fits in int64.
	bool Number(bool *is_int64, long long *value) {
		const char *start = p_;
		bool negative = false;
		if (p_ < end_ && *p_ == '-') {
			negative = true;
			++p_;
		}
		if (p_ >= end_ || *p_ < '0' || *p_ > '9')
			return false;
		unsigned long long mag = 0;
		bool overflow = false;
		if (*p_ == '0') {
			++p_;
		} else {
			while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
				unsigned d = static_cast<unsigned>(*p_ - '0');
				if (mag > (~0ULL - d) / 10)
					overflow = true;
				else
					mag = mag * 10 + d;
				++p_;
			}
		}
		bool integral = true;
		if (p_ < end_ && *p_ == '.') {
			integral = false;
			++p_;
			if (p_ >= end_ || *p_ < '0' || *p_ > '9')
				return false;
			while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
				++p_;
		}
		if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
			integral = false;
			++p_;
			if (p_ < end_ && (*p_ == '+' || *p_ == '-'))
				++p_;
			if (p_ >= end_ || *p_ < '0' || *p_ > '9')
				return false;
			while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
				++p_;
		}
		const unsigned long long limit = negative ? (1ULL << 63) : (1ULL << 63) - 1;
		*is_int64 = integral && !overflow && mag <= limit && p_ > start;
		if (*is_int64)
			*value = negative ? static_cast<long long>(0 - mag) : static_cast<long long>(mag);
		return true;
	}

	// true, false or null; *word gets which.
	bool Literal(std::string_view *word) {
		for (std::string_view w : {std::string_view("true"), std::string_view("false"), std::string_view("null")}) {
			if (static_cast<size_t>(end_ - p_) >= w.size() && std::memcmp(p_, w.data(), w.size()) == 0) {
				p_ += w.size();
				*word = w;
				return true;
			}
		}
		return false;
	}

	// A member key and its colon.
	bool Key(std::string_view *raw, bool *escaped) {
		SkipWs();
		return String(raw, escaped) && Consume(':');
	}

	// Skips any value, nested containers included (iteratively: no recursion, any depth).
	bool SkipValue() {
		std::string open; // the containers entered, innermost last: '{' or '['
		std::string_view ignored;
		bool escaped = false;
		for (;;) {
			// A value starts here.
			char c = Peek();
			if (c == '{' || c == '[') {
				++p_;
				if (Consume(c == '{' ? '}' : ']')) {
					// empty container: a complete value
				} else {
					open += c;
					if (c == '{' && !Key(&ignored, &escaped))
						return false;
					continue;
				}
			} else if (c == '"') {
				if (!String(&ignored, &escaped))
					return false;
			} else if (c == '-' || (c >= '0' && c <= '9')) {
				bool is_int = false;
				long long v = 0;
				if (!Number(&is_int, &v))
					return false;
			} else if (!Literal(&ignored)) {
				return false;
			}
			// A value ended: close the containers that end here, then expect the next value.
			for (;;) {
				if (open.empty())
					return true;
				const char top = open.back();
				if (Consume(',')) {
					if (top == '{' && !Key(&ignored, &escaped))
						return false;
					break;
				}
				if (!Consume(top == '{' ? '}' : ']'))
					return false;
				open.pop_back();
			}
		}
	}

private:
	const char *p_;
	const char *end_;
};

// The members the relay reads; bit positions in the "seen" mask.
enum Member : unsigned {
	kLsn,
	kHeartbeatKey,
	kEventId,
	kEventType,
	kEventSource,
	kEventCategory,
	kStreamId,
	kIdempotencyKey,
	kStreamVersion,
	kCommitTime,
	kOther,
};

Member Classify(std::string_view key) {
	switch (key.size()) {
	case 3:
		return key == "lsn" ? kLsn : kOther;
	case 8:
		return key == "event_id" ? kEventId : kOther;
	case 9:
		if (key == "heartbeat")
			return kHeartbeatKey;
		return key == "stream_id" ? kStreamId : kOther;
	case 10:
		return key == "event_type" ? kEventType : kOther;
	case 11:
		return key == "commit_time" ? kCommitTime : kOther;
	case 12:
		return key == "event_source" ? kEventSource : kOther;
	case 15:
		return key == "idempotency_key" ? kIdempotencyKey : kOther;
	case 14:
		if (key == "event_category")
			return kEventCategory;
		return key == "stream_version" ? kStreamVersion : kOther;
	default:
		return kOther;
	}
}

// Reads digits of a fixed-format number at p; false if any is not a digit.
bool Digits(const char *p, int n, int *out) {
	int v = 0;
	for (int i = 0; i < n; ++i) {
		unsigned d = static_cast<unsigned char>(p[i]) - static_cast<unsigned>('0');
		if (d > 9)
			return false;
		v = v * 10 + static_cast<int>(d);
	}
	*out = v;
	return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int y, int m, int d) {
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const int yoe = y - era * 400;
	const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return static_cast<int64_t>(era) * 146097 + doe - 719468;
}

bool Fail(DecodedMessage *m, const char *why) {
	m->kind = DecodedKind::kInvalid;
	m->error = why;
	return false;
}

} // namespace

bool ParseCommitTime(std::string_view t, int64_t *unix_micros) {
	// 0123456789012345678901234567
	// YYYY-MM-DDTHH:MM:SS.ffffffZ
	if (t.size() != 27 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
		t[19] != '.' || t[26] != 'Z')
		return false;
	const char *p = t.data();
	int year, month, day, hour, minute, second, micros;
	if (!Digits(p, 4, &year) || !Digits(p + 5, 2, &month) || !Digits(p + 8, 2, &day) || !Digits(p + 11, 2, &hour) ||
		!Digits(p + 14, 2, &minute) || !Digits(p + 17, 2, &second) || !Digits(p + 20, 6, &micros))
		return false;
	static constexpr int kDaysIn[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (year < 1970 || month < 1 || month > 12 || day < 1 || day > kDaysIn[month - 1] || hour > 23 || minute > 59 ||
		second > 59)
		return false;
	const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (month == 2 && day == 29 && !leap)
		return false;
	const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
	*unix_micros = seconds * 1000000 + micros;
	return true;
}

bool ParseDecodedMessage(std::string_view payload, DecodedMessage *m) {
	m->kind = DecodedKind::kInvalid;
	m->lsn = 0;
	m->event_id = m->event_type = m->event_source = m->event_category = m->stream_id = m->idempotency_key =
		std::string_view();
	m->stream_version = 0;
	m->commit_time_us = 0;
	m->error.clear();

	constexpr const char *kNotObject = "payload is not a JSON object";
	Scanner s(payload);
	if (!s.Consume('{'))
		return Fail(m, kNotObject);
	std::string_view lsn_text, commit_time_text;
	bool have_lsn = false, have_commit_time = false, heartbeat = false;
	bool have_string[6] = {}; // event_id, event_type, event_source, event_category, stream_id, idempotency_key
	std::string_view *const string_field[6] = {&m->event_id, &m->event_type, &m->event_source, &m->event_category,
											   &m->stream_id, &m->idempotency_key};
	unsigned seen = 0;
	std::string escaped_key, lsn_unescaped, commit_time_unescaped; // only used for escaped text
	if (!s.Consume('}')) {
		for (;;) {
			std::string_view key;
			bool escaped = false;
			if (!s.Key(&key, &escaped))
				return Fail(m, kNotObject);
			if (escaped) {
				if (!Unescape(key, &escaped_key))
					return Fail(m, kNotObject);
				key = escaped_key;
			}
			Member member = Classify(key);
			if (member != kOther && (seen & (1u << member)) != 0)
				member = kOther; // a repeated key: the first one counts
			seen |= 1u << member;
			const char next = s.Peek();
			bool handled = false;
			if (next == '"' && member != kOther && member != kHeartbeatKey && member != kStreamVersion) {
				std::string_view raw;
				if (!s.String(&raw, &escaped))
					return Fail(m, kNotObject);
				handled = true;
				if (member == kLsn || member == kCommitTime) {
					std::string &buf = member == kLsn ? lsn_unescaped : commit_time_unescaped;
					if (escaped) {
						if (!Unescape(raw, &buf))
							return Fail(m, kNotObject);
						raw = buf;
					}
					(member == kLsn ? lsn_text : commit_time_text) = raw;
					(member == kLsn ? have_lsn : have_commit_time) = true;
				} else {
					const int f = static_cast<int>(member) - kEventId;
					if (escaped) {
						if (!Unescape(raw, &m->unescaped[f]))
							return Fail(m, kNotObject);
						raw = m->unescaped[f];
					}
					*string_field[f] = raw;
					have_string[f] = true;
				}
			} else if (member == kHeartbeatKey && next == 't') {
				std::string_view word;
				if (!s.Literal(&word))
					return Fail(m, kNotObject);
				heartbeat = word == "true";
				handled = true;
			} else if (member == kStreamVersion && (next == '-' || (next >= '0' && next <= '9'))) {
				bool is_int = false;
				long long v = 0;
				if (!s.Number(&is_int, &v))
					return Fail(m, kNotObject);
				if (is_int)
					m->stream_version = v;
				handled = true;
			}
			if (!handled && !s.SkipValue())
				return Fail(m, kNotObject);
			if (s.Consume(','))
				continue;
			if (s.Consume('}'))
				break;
			return Fail(m, kNotObject);
		}
	}
	if (!s.AtEnd())
		return Fail(m, kNotObject);

	if (!have_lsn || !ParseLsn(lsn_text, &m->lsn))
		return Fail(m, "missing or malformed \"lsn\"");
	if (heartbeat) {
		m->kind = DecodedKind::kHeartbeat;
		return true;
	}
	if (!have_string[0] || m->event_id.empty())
		return Fail(m, "missing \"event_id\"");
	if (!have_string[1] || !have_string[2] || !have_string[3])
		return Fail(m, "missing event_type, event_source or event_category");
	if (!have_commit_time || !ParseCommitTime(commit_time_text, &m->commit_time_us))
		m->commit_time_us = 0;
	m->kind = DecodedKind::kEvent;
	return true;
}

void AppendSubject(std::string *out, const DecodedMessage &m) {
	*out += core::kSubjectPrefix;
	*out += '.';
	core::AppendSubjectToken(*out, m.event_source);
	*out += '.';
	core::AppendSubjectToken(*out, m.event_category);
	*out += '.';
	core::AppendSubjectTokens(*out, m.event_type);
}

std::string SubjectFor(const DecodedMessage &m) {
	std::string out;
	AppendSubject(&out, m);
	return out;
}

} // namespace event::sidecar::relay
