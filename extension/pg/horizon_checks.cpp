// horizon_checks.cpp — preconditions of the catch-up horizon (position.cpp), checked before it
// is computed by event.safe_position, read_all and read_category.
//
// 1. Not in recovery (defect 1). The horizon comes from the position sequence and the position
//    locks of in-flight writers. A hot standby has neither: its sequence value is the one the
//    primary pre-logged (up to 32 ahead) and it sees none of the primary's locks, so it would
//    return position 5 while 4 is still open on the primary, and 4 would never be delivered. The
//    reads refuse to run there (EV005) instead of returning a horizon that is not one.
// 2. The position sequence has CACHE 1. With a larger cache a backend takes positions from a
//    block it reserved earlier, so a later transaction can hold a lower position than the
//    sequence's last value without having announced it under the gate, and the horizon would
//    pass it. Refused (55000) rather than detected too late.
#include "pg/compat.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/pg_sequence.h"
#include "utils/syscache.h"
}

#include "core/errors.hpp"
#include "pg/extension_state.hpp"
#include "pg/horizon_checks.hpp"
#include "pg/sqlstate.hpp"

namespace event::pg {

void CheckHorizonPreconditions() {
	if (RecoveryInProgress())
		ereport(ERROR, (errcode(SqlState(core::kNotOnStandby)),
		                errmsg("catch-up reads cannot run on a server in recovery"),
		                errdetail("A standby does not see the primary's in-flight positions, so it cannot tell "
		                          "which events are final."),
		                errhint("Read from the primary: read_all, read_category and safe_position need it.")));
	HeapTuple tuple = SearchSysCache1(SEQRELID, ObjectIdGetDatum(EventRelation("events_position_seq")));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "event: cache lookup failed for event.events_position_seq");
	const int64 cache = reinterpret_cast<Form_pg_sequence>(GETSTRUCT(tuple))->seqcache;
	ReleaseSysCache(tuple);
	if (cache != 1)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("event.events_position_seq must have CACHE 1"),
		                errdetail("Its cache is %lld; cached positions would let the catch-up horizon pass events "
		                          "still in flight.",
		                          static_cast<long long>(cache)),
		                errhint("Run ALTER SEQUENCE event.events_position_seq CACHE 1.")));
}

} // namespace event::pg
