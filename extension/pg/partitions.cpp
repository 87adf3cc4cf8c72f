// partitions.cpp — partition management: event.create_partitions() and the check the append
// path makes before inserting.
//
// A month's partition is created as a plain table and then ATTACHed: ATTACH PARTITION takes
// only a SHARE UPDATE EXCLUSIVE lock on the parent, so concurrent appends keep running (CREATE
// TABLE ... PARTITION OF would take ACCESS EXCLUSIVE). Creation runs as the owner of
// event.events, so roles that may only append can still trigger it. An advisory lock
// serialises creators; the loser finds the table and skips.
#include "pg/compat.hpp"

extern "C" {
#include "pgtime.h"
#include "storage/lock.h"
#include "utils/syscache.h"
}

#include "core/uuid7.hpp"
#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/partitions.hpp"

namespace event::pg {
namespace {

constexpr uint16 kPartitionLockField4 = 0x4503;

// Months covered by a partition that this backend has seen exist: [covered_lo, covered_hi).
bool covered_valid = false;
uint64 covered_lo = 0;
uint64 covered_hi = 0;

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64 DaysFromCivil(int y, int m, int d) {
	y -= m <= 2;
	const int64 era = (y >= 0 ? y : y - 399) / 400;
	const int64 yoe = y - era * 400;
	const int64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

uint64 MonthStartMs(int year, int month) {
	return static_cast<uint64>(DaysFromCivil(year, month, 1)) * 86400000ULL;
}

void MonthOf(uint64 unix_ms, int *year, int *month) {
	pg_time_t t = static_cast<pg_time_t>(unix_ms / 1000);
	struct pg_tm *tm = pg_gmtime(&t);
	*year = tm->tm_year + 1900;
	*month = tm->tm_mon + 1;
}

void NextMonth(int *year, int *month) {
	if (++*month > 12) {
		*month = 1;
		++*year;
	}
}

void UuidText(uint64 ms, char out[37]) {
	core::FormatUuid(core::FloorForMillis(ms), out);
}

// Creates the partitions of one month unless they exist; returns true if it created them.
bool CreateMonth(int year, int month) {
	char events_name[NAMEDATALEN];
	char status_name[NAMEDATALEN];
	snprintf(events_name, sizeof(events_name), "events_p%04d%02d", year, month);
	snprintf(status_name, sizeof(status_name), "event_status_p%04d%02d", year, month);
	Oid ns = EventNamespace();
	if (OidIsValid(get_relname_relid(events_name, ns)))
		return false;

	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, kPartitionLockField4);
	(void)LockAcquire(&tag, ExclusiveLock, false, false);
	AcceptInvalidationMessages();
	if (OidIsValid(get_relname_relid(events_name, ns)))
		return false;

	int y2 = year, m2 = month;
	NextMonth(&y2, &m2);
	char lo[37], hi[37];
	UuidText(MonthStartMs(year, month), lo);
	UuidText(MonthStartMs(y2, m2), hi);

	Oid owner;
	{
		HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(EventRelation("events")));
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "event: cache lookup failed for event.events");
		owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
		ReleaseSysCache(tuple);
	}
	Oid save_user;
	int save_sec;
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	const char *const kTables[][2] = {{"events", events_name}, {"event_status", status_name}};
	for (const auto &pair : kTables) {
		char sql[1024];
		snprintf(sql, sizeof(sql),
		         "CREATE TABLE event.%s (LIKE event.%s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
		         "INCLUDING COMPRESSION)",
		         pair[1], pair[0]);
		if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "event: creating partition %s failed", pair[1]);
		snprintf(sql, sizeof(sql), "ALTER TABLE event.%s ATTACH PARTITION event.%s FOR VALUES FROM ('%s') TO ('%s')",
		         pair[0], pair[1], lo, hi);
		if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "event: attaching partition %s failed", pair[1]);
	}
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON event.%s "
	         "FOR EACH STATEMENT EXECUTE FUNCTION event.forbid_event_change()",
	         events_name);
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "event: creating trigger on %s failed", events_name);
	SPI_finish();
	SetUserIdAndSecContext(save_user, save_sec);
	return true;
}

} // namespace

void EnsurePartitionFor(uint64 unix_ms) {
	if (covered_valid && unix_ms >= covered_lo && unix_ms < covered_hi)
		return;
	int year, month;
	MonthOf(unix_ms, &year, &month);
	CreateMonth(year, month);
	covered_lo = MonthStartMs(year, month);
	NextMonth(&year, &month);
	covered_hi = MonthStartMs(year, month);
	covered_valid = true;
}

void ResetPartitionCache() {
	covered_valid = false;
}

} // namespace event::pg

// event.create_partitions(through): the partitions from the current month through `through`.
EVENT_FUNCTION(event_create_partitions) {
	TimestampTz through = PG_GETARG_TIMESTAMPTZ(0);
	uint64 now_ms = static_cast<uint64>(timestamptz_to_time_t(GetCurrentTimestamp())) * 1000;
	uint64 through_ms = static_cast<uint64>(std::max<int64>(0, timestamptz_to_time_t(through))) * 1000;
	int year, month;
	event::pg::MonthOf(now_ms, &year, &month);
	int created = 0;
	for (int guard = 0; guard < 1200 && event::pg::MonthStartMs(year, month) <= through_ms; guard++) {
		if (event::pg::CreateMonth(year, month))
			created++;
		event::pg::NextMonth(&year, &month);
	}
	PG_RETURN_INT32(created);
}
