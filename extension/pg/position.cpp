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
//
// Finding m cheaply. Listing every lock of the server (GetLockStatusData) costs ~20 us with 200
// max_connections, more than the page read it guards. Only a transaction's first position is
// locked, and it is locked as it is taken, never later; so a position that was not locked when
// this backend last looked (below the sequence value it saw then) will never be. Each backend
// remembers that value and the positions it found locked below it; the next horizon tests only
// those, and the positions taken since, each with a conditional lock (held by another backend:
// in flight). This backend's own open position counts too: its own locks never conflict with it.
// When many positions were taken since, or the sequence is not the one remembered (recreated,
// restarted: keyed on its OID and file), the full lock list is read as before.
#include "pg/compat.hpp"

extern "C" {
#include "commands/sequence.h"
#include "common/hashfn.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/relcache.h"
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

// Positions taken since the last look that are tested one by one (a test costs well under a
// microsecond); beyond, the lock list is read.
constexpr int64 kMaxProbedPositions = 16;
// Locked positions remembered between two horizons; with more, the next one reads the list.
constexpr int kMaxRememberedPositions = 32;

LocalTransactionId registered_lxid = InvalidLocalTransactionId;
int64 registered_position = 0; // the position locked by the transaction registered_lxid

// What this backend saw at its last horizon: on sequence `sequence` (file `file`), the positions
// <= checked_to locked by other transactions were exactly locked[0..n), ascending.
struct LockedPositions {
	Oid sequence = InvalidOid;
	Oid file = InvalidOid;
	int64 checked_to = 0;
	int n = 0;
	int64 locked[kMaxRememberedPositions];
};
LockedPositions seen;

void GateTag(LOCKTAG *tag) {
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, kGateField4);
}

void PositionTag(LOCKTAG *tag, int64 position) {
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, static_cast<uint32>(static_cast<uint64>(position) >> 32),
	                     static_cast<uint32>(position), kPositionField4);
}

// The sequence's last value (0 before the first nextval), read by the builtin behind
// pg_sequence_last_value() rather than a query: no executor run per horizon.
int64 SequenceLastValue(Oid seq) {
	LOCAL_FCINFO(call, 1);
	InitFunctionCallInfoData(*call, nullptr, 1, InvalidOid, nullptr, nullptr);
	call->args[0].value = ObjectIdGetDatum(seq);
	call->args[0].isnull = false;
	Datum value = pg_sequence_last_value(call);
	return call->isnull ? 0 : DatumGetInt64(value);
}

Oid SequenceFile(Oid seq) {
	Relation rel = RelationIdGetRelation(seq);
	if (!RelationIsValid(rel))
		elog(ERROR, "event: could not open relation %u", seq);
	Oid file = rel->rd_node.relNode;
	RelationClose(rel);
	return file;
}

// Whether another transaction holds the lock of position p.
bool LockedByOther(int64 p) {
	LOCKTAG tag;
	PositionTag(&tag, p);
	if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ShareLock, false);
	return false;
}

// The positions locked now: those remembered that are still locked, then those taken since the
// last look, tested one by one. False (nothing changed) if that would take too many tests.
bool ProbeLocked(LockedPositions *next, Oid seq, Oid file, int64 last) {
	if (seen.sequence != seq || seen.file != file || last < seen.checked_to || last - seen.checked_to > kMaxProbedPositions)
		return false;
	next->n = 0;
	for (int i = 0; i < seen.n; i++)
		if (LockedByOther(seen.locked[i]))
			next->locked[next->n++] = seen.locked[i];
	for (int64 p = seen.checked_to + 1; p <= last; p++) {
		if (!LockedByOther(p))
			continue;
		if (next->n == kMaxRememberedPositions)
			return false;
		next->locked[next->n++] = p;
	}
	return true;
}

// The same from the full lock list (this backend's own lock is in it too, and is left out).
void ListLocked(LockedPositions *next) {
	next->n = 0;
	bool overflow = false;
	int64 lowest = PG_INT64_MAX;
	LockData *locks = GetLockStatusData();
	for (int i = 0; i < locks->nelements; i++) {
		const LockInstanceData &lock = locks->locks[i];
		if (lock.locktag.locktag_type != LOCKTAG_ADVISORY || lock.locktag.locktag_field4 != kPositionField4 ||
		    lock.locktag.locktag_field1 != MyDatabaseId || lock.holdMask == 0 || lock.pid == MyProcPid)
			continue;
		int64 p = static_cast<int64>((static_cast<uint64>(lock.locktag.locktag_field2) << 32) |
		                             lock.locktag.locktag_field3);
		lowest = std::min(lowest, p);
		if (next->n < kMaxRememberedPositions)
			next->locked[next->n++] = p;
		else
			overflow = true;
	}
	std::sort(next->locked, next->locked + next->n);
	if (overflow) {
		next->locked[0] = lowest;    // the horizon needs only the lowest
		next->sequence = InvalidOid; // not remembered: the next horizon reads the list again
	}
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
	PositionTag(&mine, first);
	// Held by the top-level transaction, so a rolled-back savepoint does not release it early.
	ResourceOwner saved = CurrentResourceOwner;
	CurrentResourceOwner = TopTransactionResourceOwner;
	(void)LockAcquire(&mine, ExclusiveLock, false, false);
	CurrentResourceOwner = saved;
	LockRelease(&gate, ShareLock, false);
	registered_lxid = MyProc->lxid;
	registered_position = first;
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
	Oid seq = EventRelation("events_position_seq");
	LOCKTAG gate;
	GateTag(&gate);
	(void)LockAcquire(&gate, ExclusiveLock, false, false);
	int64 last = SequenceLastValue(seq);
	Oid file = SequenceFile(seq);
	LockedPositions next;
	next.sequence = seq;
	next.file = file;
	next.checked_to = last;
	if (!ProbeLocked(&next, seq, file, last))
		ListLocked(&next);
	LockRelease(&gate, ExclusiveLock, false);
	seen = next;
	int64 lowest_in_flight = next.n > 0 ? next.locked[0] : PG_INT64_MAX;
	if (MyProc->lxid == registered_lxid)
		lowest_in_flight = std::min(lowest_in_flight, registered_position);
	return lowest_in_flight == PG_INT64_MAX ? last : std::min(last, lowest_in_flight - 1);
}

} // namespace event::pg

// event.safe_position(): the catch-up horizon.
EVENT_FUNCTION(event_safe_position) {
	PG_RETURN_INT64(event::pg::SafePosition());
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
