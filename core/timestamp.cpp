// timestamp.cpp — the wire format of timestamps (see timestamp.hpp).
#include "core/timestamp.hpp"

#include <cstdio>
#include <limits>

namespace event::core {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
// Days from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
constexpr int64_t kPgEpochDays = 10957;

// Two decimal digits of v (0..99).
char *Put2(char *out, unsigned v) noexcept {
	out[0] = static_cast<char>('0' + v / 10);
	out[1] = static_cast<char>('0' + v % 10);
	return out + 2;
}

// Floor division for negative values (times before 2000).
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

} // namespace

size_t FormatTimestamp(int64_t pg_micros, char (&out)[kTimestampBufferSize]) noexcept {
	// PostgreSQL's DT_NOBEGIN / DT_NOEND.
	if (pg_micros == std::numeric_limits<int64_t>::min())
		return static_cast<size_t>(snprintf(out, sizeof(out), "-infinity"));
	if (pg_micros == std::numeric_limits<int64_t>::max())
		return static_cast<size_t>(snprintf(out, sizeof(out), "infinity"));

	const int64_t seconds = FloorDiv(pg_micros, kMicrosPerSecond);
	const auto micros = static_cast<unsigned>(pg_micros - seconds * kMicrosPerSecond);
	const int64_t days = FloorDiv(seconds, kSecondsPerDay);
	const auto second_of_day = static_cast<unsigned>(seconds - days * kSecondsPerDay);
	int64_t year;
	unsigned month, day;
	CivilFromDays(days + kPgEpochDays, year, month, day);
	char *p = out;
	if (year >= 0 && year <= 9999) {
		p = Put2(p, static_cast<unsigned>(year / 100));
		p = Put2(p, static_cast<unsigned>(year % 100));
	} else {
		// Outside PostgreSQL's usual range; rare enough for snprintf.
		p += snprintf(p, 24, "%04lld", static_cast<long long>(year));
	}
	*p++ = '-';
	p = Put2(p, month);
	*p++ = '-';
	p = Put2(p, day);
	*p++ = 'T';
	p = Put2(p, second_of_day / 3600);
	*p++ = ':';
	p = Put2(p, second_of_day / 60 % 60);
	*p++ = ':';
	p = Put2(p, second_of_day % 60);
	*p++ = '.';
	p = Put2(p, micros / 10000);
	p = Put2(p, micros / 100 % 100);
	p = Put2(p, micros % 100);
	*p++ = 'Z';
	*p = '\0';
	return static_cast<size_t>(p - out);
}

} // namespace event::core
