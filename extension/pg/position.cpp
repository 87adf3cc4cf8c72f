// position.cpp — global positions and the catch-up horizon (event.safe_position, read_all,
// read_category).
//
// Positions come from a sequence when a row is inserted, so they are not in commit order: a
// transaction holding position 10 may commit after one holding 11. A reader that paged past 11
// would skip 10 for ever. We make the reader stop below the smallest position of any
// transaction still in flight, correct by construction and with no clock involved:
//
//   writer, once per transaction:          reader (safe_position):
//     lock gate SHARE                         lock gate EXCLUSIVE (waits for writers in the window)
//     p := nextval(position sequence)         last := last value of the sequence
//     lock (position p) EXCLUSIVE until end   m := smallest p among held position locks
//       of the top-level transaction          unlock gate
//     unlock gate                             horizon := min(last, m - 1)
//
// The gate makes "take a position" and "announce it" one step as far as readers can tell: a
// reader sees either the position lock, or a sequence value that does not yet include p (and
// then p > last). Every later position of the transaction is larger than p. Lock release at
// commit or abort happens after the transaction's effects became visible, and the reader takes
// its snapshot after computing the horizon, so every position <= horizon is final and visible.
// A rolled-back transaction releases its lock like a committed one: its hole never stalls
// readers. An open transaction holds the horizon back until it ends; that is the price of
// never skipping. The locks are advisory locks with our own field4 values, visible in pg_locks.
#include "pg/compat.hpp"

extern "C" {
#include "commands/sequence.h"
#include "common/hashfn.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/resowner.h"
}

#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/horizon_checks.hpp"
#include "pg/position.hpp"
#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {

constexpr uint16 kGateField4 = 0x4501;
constexpr uint16 kPositionField4 = 0x4502;
constexpr uint16 kStreamOrderField4 = 0x4504;

LocalTransactionId registered_lxid = InvalidLocalTransactionId;

void GateTag(LOCKTAG *tag) {
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, kGateField4);
}

// The sequence's last value (0 before the first nextval).
int64 SequenceLastValue() {
	SPIPlanPtr plan = CachedPlan(PlanId::kSequenceLastValue,
	                             "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM event.events_position_seq",
	                             0, nullptr);
	if (SPI_execute_plan(plan, nullptr, nullptr, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "event: reading the position sequence failed");
	bool isnull;
	Datum value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetInt64(value);
}

void CheckCatchUpArgs(int64 after, int32 max_count) {
	if (after < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("after_position must not be negative"),
		                errdetail("after_position was %lld.", static_cast<long long>(after)),
		                errhint("Start from 0 to read from the beginning.")));
	if (max_count < 1 || max_count > 10000)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("max_count must be between 1 and 10000"),
		                errdetail("max_count was %d.", max_count), errhint("Page through larger ranges.")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("catch-up reads require READ COMMITTED isolation"),
		                errdetail("The transaction snapshot was taken before the safe position could be computed."),
		                errhint("Call it outside REPEATABLE READ or SERIALIZABLE transactions.")));
}

} // namespace

int64 NextPosition() {
	Oid seq = EventRelation("events_position_seq");
	if (MyProc->lxid == registered_lxid)
		return nextval_internal(seq, true);

	LOCKTAG gate;
	GateTag(&gate);
	(void)LockAcquire(&gate, ShareLock, false, false);
	int64 first = nextval_internal(seq, true);
	LOCKTAG mine;
	SET_LOCKTAG_ADVISORY(mine, MyDatabaseId, static_cast<uint32>(static_cast<uint64>(first) >> 32),
	                     static_cast<uint32>(first), kPositionField4);
	// Held by the top-level transaction, so a rolled-back savepoint does not release it early.
	ResourceOwner saved = CurrentResourceOwner;
	CurrentResourceOwner = TopTransactionResourceOwner;
	(void)LockAcquire(&mine, ExclusiveLock, false, false);
	CurrentResourceOwner = saved;
	LockRelease(&gate, ShareLock, false);
	registered_lxid = MyProc->lxid;
	return first;
}

void LockStreamOrder(const char *stream_id) {
	uint64 h = DatumGetUInt64(hash_any_extended(reinterpret_cast<const unsigned char *>(stream_id),
	                                            static_cast<int>(strlen(stream_id)), 0));
	LOCKTAG tag;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(h >> 32), static_cast<uint32>(h), kStreamOrderField4);
	// Held by the top-level transaction, like the stream row lock it shadows.
	ResourceOwner saved = CurrentResourceOwner;
	CurrentResourceOwner = TopTransactionResourceOwner;
	(void)LockAcquire(&tag, ExclusiveLock, false, false);
	CurrentResourceOwner = saved;
}

int64 SafePosition() {
	CheckHorizonPreconditions(); // not on a standby, sequence CACHE 1 (horizon_checks.cpp)
	LOCKTAG gate;
	GateTag(&gate);
	(void)LockAcquire(&gate, ExclusiveLock, false, false);
	int64 last = SequenceLastValue();
	int64 lowest_in_flight = PG_INT64_MAX;
	LockData *locks = GetLockStatusData();
	for (int i = 0; i < locks->nelements; i++) {
		const LockInstanceData &lock = locks->locks[i];
		if (lock.locktag.locktag_type != LOCKTAG_ADVISORY || lock.locktag.locktag_field4 != kPositionField4 ||
		    lock.locktag.locktag_field1 != MyDatabaseId || lock.holdMask == 0)
			continue;
		int64 p = static_cast<int64>((static_cast<uint64>(lock.locktag.locktag_field2) << 32) |
		                             lock.locktag.locktag_field3);
		lowest_in_flight = std::min(lowest_in_flight, p);
	}
	LockRelease(&gate, ExclusiveLock, false);
	return lowest_in_flight == PG_INT64_MAX ? last : std::min(last, lowest_in_flight - 1);
}

} // namespace event::pg

// event.safe_position(): the catch-up horizon.
EVENT_FUNCTION(event_safe_position) {
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	int64 horizon = event::pg::SafePosition();
	SPI_finish();
	PG_RETURN_INT64(horizon);
}

// event.read_all(after_position, max_count): all events after a position, never past the horizon.
EVENT_FUNCTION(event_read_all) {
	int64 after = PG_GETARG_INT64(0);
	int32 max_count = PG_GETARG_INT32(1);
	event::pg::CheckCatchUpArgs(after, max_count);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	int64 horizon = event::pg::SafePosition();
	static const Oid kTypes[] = {INT8OID, INT8OID, INT4OID};
	SPIPlanPtr plan = event::pg::CachedPlan(
		event::pg::PlanId::kReadAll,
		"SELECT * FROM event.events WHERE position OPERATOR(pg_catalog.>) $1 AND position OPERATOR(pg_catalog.<=) $2 "
		"ORDER BY position LIMIT $3",
		3, kTypes);
	Datum values[3] = {Int64GetDatum(after), Int64GetDatum(horizon), Int32GetDatum(max_count)};
	event::pg::ReturnPlanRows(fcinfo, plan, 3, kTypes, values);
	SPI_finish();
	return (Datum)0;
}

// event.read_category(entity_type, after_position, max_count): events of every stream of one
// entity type, in position order, never past the horizon.
EVENT_FUNCTION(event_read_category) {
	char *entity_type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64 after = PG_GETARG_INT64(1);
	int32 max_count = PG_GETARG_INT32(2);
	event::pg::CheckCatchUpArgs(after, max_count);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "event: SPI_connect failed");
	int64 horizon = event::pg::SafePosition();
	static const Oid kTypes[] = {TEXTOID, INT8OID, INT8OID, INT4OID};
	SPIPlanPtr plan = event::pg::CachedPlan(
		event::pg::PlanId::kReadCategory,
		"SELECT * FROM event.events WHERE stream_id IS NOT NULL "
		"AND pg_catalog.split_part(stream_id, ':', 1) OPERATOR(pg_catalog.=) ($1 COLLATE \"C\") "
		"AND position OPERATOR(pg_catalog.>) $2 AND position OPERATOR(pg_catalog.<=) $3 ORDER BY position LIMIT $4",
		4, kTypes);
	Datum values[4] = {CStringGetTextDatum(entity_type), Int64GetDatum(after), Int64GetDatum(horizon),
	                   Int32GetDatum(max_count)};
	event::pg::ReturnPlanRows(fcinfo, plan, 4, kTypes, values);
	SPI_finish();
	return (Datum)0;
}
