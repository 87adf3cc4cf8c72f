// message.cpp — assembling event_decoder messages (see message.hpp).
#include "decoder/message.hpp"

#include "core/json.hpp"

#include <charconv>
#include <cstdio>
#include <limits>

namespace event::decoder {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
// Days from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
constexpr int64_t kPgEpochDays = 10957;

// Kind of each EventField: true = JSON string (escaped, quoted), false = copied as is.
constexpr bool kIsString[kEventFieldCount] = {
    true,  // event_id
    false, // position
    true,  // event_type
    true,  // event_source
    true,  // event_category
    true,  // user_id
    true,  // stream_id
    false, // stream_version
    false, // data
    false, // metadata
    false, // context
    true,  // idempotency_key
    true,  // timestamp
    true,  // created_at
};

// Floor division and modulo for negative values (times before 2000).
int64_t FloorDiv(int64_t a, int64_t b) {
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
void CivilFromDays(int64_t days, int64_t &year, unsigned &month, unsigned &day) {
	days += 719468;
	const int64_t era = FloorDiv(days, 146097);
	const auto doe = static_cast<unsigned>(days - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	day = doy - (153 * mp + 2) / 5 + 1;
	month = mp < 10 ? mp + 3 : mp - 9;
	year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

// Separators of the two formats.
struct Style {
	const char *open;       // before the first key
	const char *between;    // between members
	const char *colon;      // between key and value
	const char *close;      // after the last value
};
constexpr Style kCompact = {"{", ",", ":", "}"};
constexpr Style kPretty = {"{\n  ", ",\n  ", ": ", "\n}"};

const Style &StyleOf(Format format) {
	return format == Format::kJsonPretty ? kPretty : kCompact;
}

// Writes the separator and the quoted key of the next member.
void Key(std::string &out, const Style &style, bool &first, const char *key) {
	out += first ? style.open : style.between;
	first = false;
	out += '"';
	out += key;
	out += '"';
	out += style.colon;
}

} // namespace

size_t FormatTimestamp(int64_t pg_micros, char (&out)[kTimestampBufferSize]) noexcept {
	// PostgreSQL's DT_NOBEGIN / DT_NOEND.
	if (pg_micros == std::numeric_limits<int64_t>::min())
		return static_cast<size_t>(snprintf(out, sizeof(out), "-infinity"));
	if (pg_micros == std::numeric_limits<int64_t>::max())
		return static_cast<size_t>(snprintf(out, sizeof(out), "infinity"));

	const int64_t seconds = FloorDiv(pg_micros, kMicrosPerSecond);
	const int64_t micros = pg_micros - seconds * kMicrosPerSecond;
	const int64_t days = FloorDiv(seconds, kSecondsPerDay);
	const int64_t second_of_day = seconds - days * kSecondsPerDay;
	int64_t year;
	unsigned month, day;
	CivilFromDays(days + kPgEpochDays, year, month, day);
	const int n = snprintf(out, sizeof(out), "%04lld-%02u-%02uT%02d:%02d:%02d.%06dZ", static_cast<long long>(year),
	                       month, day, static_cast<int>(second_of_day / 3600),
	                       static_cast<int>(second_of_day / 60 % 60), static_cast<int>(second_of_day % 60),
	                       static_cast<int>(micros));
	return n < 0 ? 0 : static_cast<size_t>(n);
}

size_t FormatLsn(uint64_t lsn, char (&out)[kLsnBufferSize]) noexcept {
	const int n = snprintf(out, sizeof(out), "%X/%X", static_cast<unsigned>(lsn >> 32), static_cast<unsigned>(lsn));
	return n < 0 ? 0 : static_cast<size_t>(n);
}

void AppendEventMessage(std::string &out, const Options &options, const EventValues &values,
                        const CommitInfo &commit) {
	const Style &style = StyleOf(options.format);
	bool first = true;
	for (int f = 0; f < kEventFieldCount; f++) {
		if ((options.fields & (FieldMask{1} << f)) == 0)
			continue;
		Key(out, style, first, kEventFieldNames[f]);
		if (values.is_null[f])
			out += "null";
		else if (kIsString[f])
			core::AppendJsonString(out, values.text[f]);
		else
			out.append(values.text[f].data(), values.text[f].size());
	}
	if (options.include_xid) {
		char number[16];
		const auto result = std::to_chars(number, number + sizeof(number), commit.xid);
		Key(out, style, first, "xid");
		out.append(number, static_cast<size_t>(result.ptr - number));
	}
	if (options.include_lsn) {
		char lsn[kLsnBufferSize];
		const size_t len = FormatLsn(commit.lsn, lsn);
		Key(out, style, first, "lsn");
		out += '"';
		out.append(lsn, len);
		out += '"';
	}
	if (options.include_commit_time) {
		char time[kTimestampBufferSize];
		const size_t len = FormatTimestamp(commit.commit_time, time);
		Key(out, style, first, "commit_time");
		out += '"';
		out.append(time, len);
		out += '"';
	}
	out += style.close;
}

void AppendHeartbeatMessage(std::string &out, Format format, uint64_t lsn, std::string_view content) {
	const Style &style = StyleOf(format);
	bool first = true;
	Key(out, style, first, "heartbeat");
	out += "true";
	char text[kLsnBufferSize];
	const size_t len = FormatLsn(lsn, text);
	Key(out, style, first, "lsn");
	out += '"';
	out.append(text, len);
	out += '"';
	Key(out, style, first, "content");
	core::AppendJsonString(out, content);
	out += style.close;
}

} // namespace event::decoder
