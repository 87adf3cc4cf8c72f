// immutability.cpp — the triggers that keep event.events written only by the write path: stored
// events are immutable (UPDATE, DELETE, TRUNCATE), and a plain INSERT or COPY into the table is
// refused with a pointer to the function to use.
#include "pg/compat.hpp"

extern "C" {
#include "commands/trigger.h"
}

#include "guard.hpp"
#include "pg/extension_state.hpp"
#include "pg/sqlstate.hpp"

namespace event::pg {
int write_path_inserting = 0;
}

// event.forbid_event_change(): raises EV003 unless a superuser enabled event.allow_event_mutation.
EVENT_FUNCTION(event_forbid_event_change) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("event.forbid_event_change() must be called as a trigger")));
	auto *trigdata = reinterpret_cast<TriggerData *>(fcinfo->context);
	TriggerEvent ev = trigdata->tg_event;
	if (event::pg::allow_event_mutation && superuser()) {
		if (TRIGGER_FIRED_BY_UPDATE(ev))
			return PointerGetDatum(trigdata->tg_newtuple);
		if (TRIGGER_FIRED_BY_DELETE(ev))
			return PointerGetDatum(trigdata->tg_trigtuple);
		return PointerGetDatum(nullptr);
	}
	const char *what = TRIGGER_FIRED_BY_UPDATE(ev) ? "UPDATE" : TRIGGER_FIRED_BY_DELETE(ev) ? "DELETE" : "TRUNCATE";
	ereport(ERROR, (errcode(event::pg::SqlState(event::core::kEventImmutable)), errmsg("stored events are immutable"),
	                errdetail("%s on %s is not allowed.", what, RelationGetRelationName(trigdata->tg_relation)),
	                errhint("Record a new event instead. Processing status lives in event.event_status "
	                        "(event.update_status); retention drops whole partitions.")));
	return (Datum)0;
}

// event.refuse_direct_insert(): BEFORE INSERT FOR EACH STATEMENT on event.events. The write
// path's own INSERT runs with write_path_inserting set and passes; any other INSERT or COPY into
// the table (which would otherwise fail with "no partition of relation events found for row" or
// forge a position, stream version or counter) is refused with EV004. A statement-level trigger
// costs one call per statement, not per row. pg_dump restores load the partitions themselves,
// where this trigger does not fire.
EVENT_FUNCTION(event_refuse_direct_insert) {
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("event.refuse_direct_insert() must be called as a trigger")));
	if (event::pg::write_path_inserting > 0)
		return PointerGetDatum(nullptr);
	ereport(ERROR, (errcode(event::pg::SqlState(event::core::kDirectWrite)),
	                errmsg("events are stored only through the event functions"),
	                errdetail("A plain INSERT or COPY into event.events bypasses positions, streams and counters."),
	                errhint("Call event.create_event(), event.create_events() or event.append_to_stream().")));
	return (Datum)0;
}
