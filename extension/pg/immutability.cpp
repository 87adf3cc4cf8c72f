// immutability.cpp — the trigger that keeps stored events immutable (UPDATE, DELETE, TRUNCATE).
#include "pg/compat.hpp"

extern "C" {
#include "commands/trigger.h"
}

#include "guard.hpp"
#include "pg/extension_state.hpp"

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
	ereport(ERROR, (errcode(MAKE_SQLSTATE('E', 'V', '0', '0', '3')), errmsg("stored events are immutable"),
	                errdetail("%s on %s is not allowed.", what, RelationGetRelationName(trigdata->tg_relation)),
	                errhint("Record a new event instead. Processing status lives in event.event_status "
	                        "(event.update_status); retention drops whole partitions.")));
	return (Datum)0;
}
