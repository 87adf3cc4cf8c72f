// partitions.cpp — partition management: event.create_partitions() and the check the append
// path makes before inserting.
//
// A month's partition is created as a plain table and then ATTACHed: ATTACH PARTITION takes
// only a SHARE UPDATE EXCLUSIVE lock on the parent, so concurrent appends keep running (CREATE
// TABLE ... PARTITION OF would take ACCESS EXCLUSIVE). Creation runs as the owner of
// event.events, so roles that may only append can still trigger it. An advisory lock
// serialises creators; the loser finds the table and skips.
//
// The append path does not create a missing month inside the caller's transaction if it can
// avoid it: a partition created there is invisible to every other writer until that transaction
// ends, and they would all queue behind it (or deadlock, if the caller waits for one of them).
// Instead it starts a short-lived background worker that creates the month in a transaction of
// its own and waits for it (event_partition_worker_main). Only when that cannot work — no worker
// slot, the caller itself holds a lock the worker would need, the worker failed — does it fall
// back to creating the month in the caller's transaction. No partition is created by the install
// script, so every partition is an ordinary table that pg_dump dumps (sql/event--0.1.0.sql).
#include "pg/compat.hpp"

extern "C" {
#include "catalog/pg_authid_d.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "pgtime.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PGDLLEXPORT void event_partition_worker_main(Datum arg);
}

#include "core/uuid7.hpp"
#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/partitions.hpp"

namespace event::pg {
namespace {

constexpr uint16 kPartitionLockField4 = 0x4503;

// event.create_partitions creates at most this many months ahead of the current one (defect 9:
// '30 years' or 'infinity' took thousands of locks and exhausted shared memory).
constexpr int kMaxMonthsAhead = 24;

// Session settings that would change where or how the DDL below creates a table; the caller's
// (or the database's) values are replaced for the duration of CreateMonth, so a role cannot
// place partitions in a tablespace or access method of its choice through this function.
const char *const kDdlSettings[][2] = {
	{"default_tablespace", ""},
	{"default_table_access_method", "heap"},
	{"default_toast_compression", "pglz"},
	{"search_path", "pg_catalog"}, // the worker runs with the database's settings
};

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

// Name of the month's partition of event.events.
void EventsPartitionName(int year, int month, char (&out)[NAMEDATALEN]) {
	snprintf(out, sizeof(out), "events_p%04d%02d", year, month);
}

// Creates the partitions of one month unless they exist; returns true if it created them.
bool CreateMonth(int year, int month) {
	char events_name[NAMEDATALEN];
	char status_name[NAMEDATALEN];
	EventsPartitionName(year, month, events_name);
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

	const int guc_level = NewGUCNestLevel();
	for (const auto &setting : kDdlSettings)
		(void)set_config_option(setting[0], setting[1], PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

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
	// (stream_id, stream_version) is unique per partition (docs/architecture.md). A unique index
	// on the partitioned parent would have to contain the partition key, so each partition gets
	// its own; versions come only from the event_streams row, which makes them unique overall.
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "CREATE UNIQUE INDEX %s_stream_key ON event.%s (stream_id, stream_version) WHERE stream_id IS NOT NULL",
	         events_name, events_name);
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "event: creating the stream index on %s failed", events_name);
	snprintf(sql, sizeof(sql),
	         "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON event.%s "
	         "FOR EACH STATEMENT EXECUTE FUNCTION event.forbid_event_change()",
	         events_name);
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "event: creating trigger on %s failed", events_name);
	SPI_finish();
	AtEOXact_GUC(true, guc_level);
	SetUserIdAndSecContext(save_user, save_sec);
	return true;
}

// What the worker needs to know, in BackgroundWorker::bgw_extra.
struct WorkerRequest {
	Oid database;
	Oid role;
	int year;
	int month;
};

// True if the month's partition of event.events exists (as this backend now sees the catalog).
bool MonthExists(int year, int month) {
	char name[NAMEDATALEN];
	EventsPartitionName(year, month, name);
	AcceptInvalidationMessages();
	return OidIsValid(get_relname_relid(name, EventNamespace()));
}

// True if this transaction holds a lock the worker would wait for: the creators' advisory lock,
// or a lock on event.events / event.event_status that conflicts with ATTACH PARTITION.
bool HoldsCreatorLocks() {
	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0, 0, kPartitionLockField4);
	if (LockHeldByMe(&tag, ExclusiveLock))
		return true;
	for (const char *table : {"events", "event_status"}) {
		SET_LOCKTAG_RELATION(tag, MyDatabaseId, EventRelation(table));
		for (LOCKMODE mode = ShareUpdateExclusiveLock; mode <= AccessExclusiveLock; mode++) {
			if (LockHeldByMe(&tag, mode))
				return true;
		}
	}
	return false;
}

// Creates the month in a background worker's own transaction and waits for it. Returns true if
// the partition exists afterwards; false if the caller should create it itself.
bool CreateMonthInWorker(int year, int month) {
	if (HoldsCreatorLocks() || !IsUnderPostmaster)
		return false;
	BackgroundWorker worker;
	memset(&worker, 0, sizeof(worker));
	snprintf(worker.bgw_name, BGW_MAXLEN, "event partition creator %04d-%02d", year, month);
	snprintf(worker.bgw_type, BGW_MAXLEN, "event partition creator");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "event");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "event_partition_worker_main");
	worker.bgw_notify_pid = MyProcPid;
	WorkerRequest request{MyDatabaseId, BOOTSTRAP_SUPERUSERID, year, month};
	static_assert(sizeof(request) <= BGW_EXTRALEN, "request must fit bgw_extra");
	memcpy(worker.bgw_extra, &request, sizeof(request));
	BackgroundWorkerHandle *handle = nullptr;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return false; // no free worker slot (max_worker_processes)
	for (;;) {
		pid_t pid;
		const BgwHandleStatus status = GetBackgroundWorkerPid(handle, &pid);
		if (status == BGWH_STOPPED || status == BGWH_POSTMASTER_DIED)
			break;
		// Interruptible: statement_timeout or a cancel ends the wait (the worker finishes alone).
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 50, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	pfree(handle);
	return MonthExists(year, month);
}

} // namespace

void EnsurePartitionFor(uint64 unix_ms) {
	if (covered_valid && unix_ms >= covered_lo && unix_ms < covered_hi)
		return;
	int year, month;
	MonthOf(unix_ms, &year, &month);
	if (!MonthExists(year, month) && !CreateMonthInWorker(year, month)) {
		// Created in the caller's own transaction: it exists only if that transaction commits
		// (a rolled-back savepoint, ROLLBACK, or ROLLBACK PREPARED of a 2PC transaction, where
		// this backend sees no abort at all, takes it away). So it is not cached: the next
		// append looks at the catalog again (defect 11).
		CreateMonth(year, month);
		return;
	}
	covered_lo = MonthStartMs(year, month);
	NextMonth(&year, &month);
	covered_hi = MonthStartMs(year, month);
	covered_valid = true;
}

void ResetPartitionCache() {
	covered_valid = false;
}

} // namespace event::pg

// event.create_partitions(through): the partitions from the current month through `through`,
// at most kMaxMonthsAhead months ahead (admin only: EXECUTE is not granted to PUBLIC).
EVENT_FUNCTION(event_create_partitions) {
	TimestampTz through = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(through))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("through must be finite"),
		                errhint("Pass a time at most %d months ahead, for example now() + interval '2 months'.",
		                        event::pg::kMaxMonthsAhead)));
	uint64 now_ms = static_cast<uint64>(timestamptz_to_time_t(GetCurrentTimestamp())) * 1000;
	uint64 through_ms = static_cast<uint64>(std::max<int64>(0, timestamptz_to_time_t(through))) * 1000;
	int year, month;
	event::pg::MonthOf(now_ms, &year, &month);
	// The first month that may not be created: the current month + kMaxMonthsAhead + 1.
	int end_year = year, end_month = month;
	for (int i = 0; i <= event::pg::kMaxMonthsAhead; i++)
		event::pg::NextMonth(&end_year, &end_month);
	if (through_ms >= event::pg::MonthStartMs(end_year, end_month))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("through is more than %d months ahead", event::pg::kMaxMonthsAhead),
		                errdetail("Partitions can be created up to the month before %04d-%02d.", end_year, end_month),
		                errhint("Create partitions a few months ahead and run event.create_partitions() monthly.")));
	int created = 0;
	while (event::pg::MonthStartMs(year, month) <= through_ms) {
		if (event::pg::CreateMonth(year, month))
			created++;
		event::pg::NextMonth(&year, &month);
	}
	PG_RETURN_INT32(created);
}

// The background worker started by CreateMonthInWorker: creates one month's partitions in its
// own transaction. It gives up on a lock it cannot get within 10 s (the caller then falls back);
// an error ends the worker (ERROR is FATAL in a background worker) and the caller sees no table.
void event_partition_worker_main(Datum) {
	event::pg::WorkerRequest request;
	memcpy(&request, MyBgworkerEntry->bgw_extra, sizeof(request));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(request.database, request.role, 0);
	event::pg::Guard([&] {
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		SetConfigOption("lock_timeout", "10s", PGC_SUSET, PGC_S_SESSION);
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "creating event partitions");
		event::pg::CreateMonth(request.year, request.month);
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, nullptr);
	});
}
