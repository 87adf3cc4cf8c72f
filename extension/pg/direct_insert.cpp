// direct_insert.cpp — the append's row inserts without an executor run.
//
// An INSERT through SPI pays, for one row, a plan-cache check, executor start and end, the
// set-up of tuple routing for the partitioned table (the leaf's ResultRelInfo, its indexes),
// the statement trigger that refuses direct inserts, and the after-trigger queue. Of these only
// the leaf, its constraints and its indexes matter for a row of the write path; this file does
// exactly those, the way COPY does: find the leaf with the parent's partition bounds,
// ExecConstraints, table_tuple_insert (table_multi_insert for a batch), ExecInsertIndexTuples
// (unique checks included). For a batch it also saves building the column arrays and unnesting
// them again, and writes one heap WAL record per page rather than one per row. Whenever
// a plain INSERT would do more (see direct_insert.hpp) it does nothing and the caller falls back
// to the SPI INSERT, so triggers, row security and unusual partitions keep their behaviour.
//
// What the executor builds again for every statement, this file builds once per backend and
// leaf (LeafPlan): the leaf's CHECK constraints read from their node strings, planned and
// compiled, and its indexes' IndexInfo with their expression and predicate states. They were 5 %
// of a single-event append. A plan is valid until a relcache invalidation of the leaf or of one
// of its indexes (any DDL on them, which also waits for our lock on the leaf).
//
// UpdateStreamDirect does the same for the stream head's update (direct_insert.hpp): an index
// lookup and a heap update instead of an UPDATE's executor start, run and end.
#include "pg/compat.hpp"

extern "C" {
#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
}

#include "pg/column_types.hpp"
#include "pg/direct_insert.hpp"
#include "pg/event_record.hpp"
#include "pg/extension_state.hpp"

namespace event::pg {
namespace {

// The statement trigger of event.events that refuses other inserts (sql/event--0.2.0.sql); it
// lets the write path pass, so skipping it changes nothing.
const char kRefuseTrigger[] = "events_insert_via_functions";

// True if an INSERT into rel would fire a trigger other than kRefuseTrigger.
bool HasInsertTriggers(Relation rel) {
	const TriggerDesc *td = rel->trigdesc;
	if (td == nullptr)
		return false;
	if (td->trig_insert_before_row || td->trig_insert_after_row || td->trig_insert_instead_row ||
	    td->trig_insert_after_statement || td->trig_insert_new_table)
		return true;
	for (int i = 0; i < td->numtriggers; i++) {
		const Trigger &t = td->triggers[i];
		if (TRIGGER_FOR_INSERT(t.tgtype) && strcmp(t.tgname, kRefuseTrigger) != 0)
			return true;
	}
	return false;
}

// True if rel has exactly n columns, none dropped or generated, column c of type type_of(c).
template <typename TypeOf> bool ColumnsAre(Relation rel, int n, TypeOf type_of) {
	TupleDesc desc = RelationGetDescr(rel);
	if (desc->natts != n || (desc->constr != nullptr && desc->constr->has_generated_stored))
		return false;
	for (int c = 0; c < n; c++) {
		Form_pg_attribute att = TupleDescAttr(desc, c);
		if (att->attisdropped || att->atttypid != type_of(c))
			return false;
	}
	return true;
}

// True if rel has exactly the event columns, in order, with their types, and nothing that the
// executor would compute or check per row beyond NOT NULL and CHECK constraints.
bool PlainEventTable(Relation rel) {
	if (rel->rd_rel->relrowsecurity)
		return false;
	return ColumnsAre(rel, kEventColumns, [](int c) { return EventColumnType(c).type; });
}

// The leaf partition of parent that holds a row with this event_id, as tuple routing would find
// it, or InvalidOid if that is not a plain leaf found by its bounds (no default partition, no
// partition being detached).
Oid LeafFor(Relation parent, Datum event_id) {
	PartitionKey key = RelationGetPartitionKey(parent);
	if (key == nullptr || key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 ||
	    key->partattrs[0] != kColEventId + 1)
		return InvalidOid;
	PartitionDesc pd = RelationGetPartitionDesc(parent, true);
	if (pd == nullptr || pd->nparts == 0 || pd->detached_exist)
		return InvalidOid;
	bool equal = false;
	int offset = partition_range_datum_bsearch(key->partsupfunc, key->partcollation, pd->boundinfo, 1, &event_id, &equal);
	int index = pd->boundinfo->indexes[offset + 1];
	if (index < 0 || !pd->is_leaf[index])
		return InvalidOid;
	return pd->oids[index];
}

// One leaf's constraint and index states, built in their own memory context (a child of
// CacheMemoryContext). An invalidation only marks a plan stale: a call may still be using it
// (invalidations arrive while relations are opened), so a stale or evicted plan's context is
// moved under TopTransactionContext and goes with the transaction, after every call of it.
struct LeafPlan {
	Oid leaf = InvalidOid;
	bool valid = false;
	MemoryContext cxt = nullptr;
	int nchecks = 0;
	ExprState **checks = nullptr; // as ResultRelInfo.ri_ConstraintExprs, one per constr->check
	int nindexes = 0;
	Oid *index_oids = nullptr;     // RelationGetIndexList order, as ExecOpenIndices
	IndexInfo **index_infos = nullptr;
};

constexpr int kLeafPlans = 8; // this month's leaf and a few more
LeafPlan leaf_plans[kLeafPlans];
int next_victim = 0;
bool callback_registered = false;

void InvalidateLeafPlans(Datum, Oid relid) {
	for (LeafPlan &p : leaf_plans) {
		bool hit = p.valid && (relid == InvalidOid || relid == p.leaf);
		for (int i = 0; p.valid && !hit && i < p.nindexes; i++)
			hit = p.index_oids[i] == relid;
		if (hit)
			p.valid = false;
	}
}

void RetirePlan(LeafPlan &p) {
	if (p.cxt != nullptr)
		MemoryContextSetParent(p.cxt, TopTransactionContext);
	p = LeafPlan();
}

// Builds the plan of leaf (locked by the caller), or returns nullptr if its indexes are not all
// plain B-trees (then the executor's own ExecOpenIndices is used, per call).
LeafPlan *BuildLeafPlan(Relation leaf) {
	List *index_list = RelationGetIndexList(leaf);
	const int nindexes = list_length(index_list);
	// Built under the transaction first: an error half-way leaves nothing behind.
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "event leaf plan", ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	LeafPlan built;
	built.leaf = RelationGetRelid(leaf);
	built.cxt = cxt;
	const TupleConstr *constr = leaf->rd_att->constr;
	const int nchecks = constr == nullptr ? 0 : constr->num_check;
	built.nchecks = nchecks;
	if (nchecks > 0) {
		built.checks = static_cast<ExprState **>(palloc(sizeof(ExprState *) * nchecks));
		for (int i = 0; i < nchecks; i++) // as ExecRelCheck builds them on first use
			built.checks[i] = ExecInitExpr(expression_planner(static_cast<Expr *>(stringToNode(constr->check[i].ccbin))),
			                               nullptr);
	}
	built.nindexes = nindexes;
	built.index_oids = static_cast<Oid *>(palloc(sizeof(Oid) * (nindexes + 1)));
	built.index_infos = static_cast<IndexInfo **>(palloc(sizeof(IndexInfo *) * (nindexes + 1)));
	bool plain = true;
	int i = 0;
	ListCell *lc;
	foreach (lc, index_list) {
		Relation index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo *info = BuildIndexInfo(index);
		plain = plain && index->rd_rel->relam == BTREE_AM_OID && info->ii_ExclusionOps == nullptr;
		// The states FormIndexDatum and ExecInsertIndexTuples would build per statement.
		List *states = NIL;
		ListCell *e;
		foreach (e, info->ii_Expressions)
			states = lappend(states, ExecInitExpr(expression_planner(static_cast<Expr *>(lfirst(e))), nullptr));
		info->ii_ExpressionsState = states;
		if (info->ii_Predicate != NIL)
			info->ii_PredicateState =
				ExecInitQual(reinterpret_cast<List *>(expression_planner(reinterpret_cast<Expr *>(info->ii_Predicate))),
				             nullptr);
		built.index_oids[i] = RelationGetRelid(index);
		built.index_infos[i++] = info;
		index_close(index, NoLock);
	}
	MemoryContextSwitchTo(old);
	list_free(index_list);
	if (!plain) {
		MemoryContextDelete(cxt);
		return nullptr;
	}
	if (!callback_registered) {
		CacheRegisterRelcacheCallback(InvalidateLeafPlans, (Datum)0);
		callback_registered = true;
	}
	LeafPlan *slot = nullptr;
	for (LeafPlan &p : leaf_plans)
		if (slot == nullptr && p.cxt == nullptr)
			slot = &p;
	if (slot == nullptr) {
		slot = &leaf_plans[next_victim];
		next_victim = (next_victim + 1) % kLeafPlans;
		RetirePlan(*slot);
	}
	MemoryContextSetParent(cxt, CacheMemoryContext);
	built.valid = true;
	*slot = built;
	return slot;
}

// True if plan still describes leaf as the relcache has it now: a second line of defence behind
// the invalidations (a plan whose shape differs from the relation's would be used out of bounds).
bool PlanMatches(const LeafPlan &plan, Relation leaf) {
	const TupleConstr *constr = leaf->rd_att->constr;
	if (plan.nchecks != (constr == nullptr ? 0 : constr->num_check))
		return false;
	if (!leaf->rd_indexvalid)
		return true; // the list is not loaded, so nothing could have changed it since the plan
	if (list_length(leaf->rd_indexlist) != plan.nindexes)
		return false;
	int i = 0;
	ListCell *lc;
	foreach (lc, leaf->rd_indexlist)
		if (lfirst_oid(lc) != plan.index_oids[i++])
			return false;
	return true;
}

// The constraint states and open indexes of rri's leaf (locked by the caller), from its plan;
// what InitResultRelInfo's caller gets from ExecOpenIndices and ExecRelCheck's first call.
void OpenLeaf(ResultRelInfo *rri, Relation leaf) {
	const Oid oid = RelationGetRelid(leaf);
	LeafPlan *plan = nullptr;
	for (LeafPlan &p : leaf_plans) {
		if (p.leaf != oid)
			continue;
		if (p.valid && PlanMatches(p, leaf))
			plan = &p;
		else
			RetirePlan(p);
	}
	if (plan == nullptr)
		plan = BuildLeafPlan(leaf);
	if (plan == nullptr) {
		ExecOpenIndices(rri, false);
		return;
	}
	rri->ri_ConstraintExprs = plan->checks;
	if (plan->nindexes == 0)
		return;
	rri->ri_NumIndices = plan->nindexes;
	rri->ri_IndexRelationDescs = static_cast<RelationPtr>(palloc(sizeof(Relation) * plan->nindexes));
	rri->ri_IndexRelationInfo = static_cast<IndexInfo **>(palloc(sizeof(IndexInfo *) * plan->nindexes));
	for (int i = 0; i < plan->nindexes; i++) {
		rri->ri_IndexRelationDescs[i] = index_open(plan->index_oids[i], RowExclusiveLock);
		rri->ri_IndexRelationInfo[i] = plan->index_infos[i];
	}
}

} // namespace

bool InsertEventsDirect(const EventRecord *const *rows, int n) {
	CheckEventColumns(); // once per backend, as before the SPI INSERT's first plan
	if (n <= 0)
		return true;
	if (XactReadOnly || IsInParallelMode())
		return false; // the executor raises its usual error
	Oid parent_oid = EventRelation("events");
	if (pg_class_aclcheck(parent_oid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		return false; // the SPI INSERT raises the usual permission error
	Relation parent = table_open(parent_oid, RowExclusiveLock);
	const bool plain = !HasInsertTriggers(parent) && PlainEventTable(parent);

	// Every row's leaf, and every distinct leaf opened and checked, before anything is written:
	// either all rows go in here or none does. A batch normally has one leaf (this month's).
	int *leaf_at = static_cast<int *>(palloc(sizeof(int) * n)); // the row's index in leaves
	Relation *leaves = static_cast<Relation *>(palloc(sizeof(Relation) * n));
	int nleaves = 0;
	bool ok = plain;
	for (int i = 0; i < n && ok; i++) {
		Oid oid = rows[i]->nulls[kColEventId] ? InvalidOid : LeafFor(parent, rows[i]->values[kColEventId]);
		ok = OidIsValid(oid);
		if (!ok)
			break;
		int k = 0;
		while (k < nleaves && RelationGetRelid(leaves[k]) != oid)
			k++;
		leaf_at[i] = k;
		if (k < nleaves)
			continue;
		Relation leaf = table_open(oid, RowExclusiveLock);
		leaves[nleaves++] = leaf;
		ok = leaf->rd_rel->relkind == RELKIND_RELATION && !HasInsertTriggers(leaf) && PlainEventTable(leaf);
	}
	if (!ok) {
		for (int k = 0; k < nleaves; k++)
			table_close(leaves[k], NoLock);
		table_close(parent, NoLock);
		pfree(leaf_at);
		pfree(leaves);
		return false;
	}

	EState *estate = CreateExecutorState();
	estate->es_output_cid = GetCurrentCommandId(true);
	ResultRelInfo **rris = static_cast<ResultRelInfo **>(palloc0(sizeof(ResultRelInfo *) * nleaves));
	TupleTableSlot **slots = static_cast<TupleTableSlot **>(palloc(sizeof(TupleTableSlot *) * n));
	// Runs of consecutive rows with the same leaf, in request order (the order of their WAL
	// records, hence of decoding): one row by table_tuple_insert, more by one table_multi_insert
	// (one heap WAL record per page instead of one per row, as COPY writes).
	for (int a = 0; a < n;) {
		const int k = leaf_at[a];
		int b = a + 1;
		while (b < n && leaf_at[b] == k)
			b++;
		Relation leaf = leaves[k];
		if (rris[k] == nullptr) {
			rris[k] = makeNode(ResultRelInfo);
			InitResultRelInfo(rris[k], leaf, 0, nullptr, 0);
			OpenLeaf(rris[k], leaf);
		}
		ResultRelInfo *rri = rris[k];
		for (int i = a; i < b; i++) {
			TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(leaf), table_slot_callbacks(leaf));
			memcpy(slot->tts_values, rows[i]->values, sizeof(Datum) * kEventColumns);
			memcpy(slot->tts_isnull, rows[i]->nulls, sizeof(bool) * kEventColumns);
			ExecStoreVirtualTuple(slot);
			if (leaf->rd_att->constr != nullptr)
				ExecConstraints(rri, slot, estate); // NOT NULL and the stream CHECK, as the INSERT would
			slots[i - a] = slot;
		}
		if (b - a == 1)
			table_tuple_insert(leaf, slots[0], estate->es_output_cid, 0, nullptr);
		else
			table_multi_insert(leaf, slots, b - a, estate->es_output_cid, 0, nullptr);
		for (int i = 0; i < b - a; i++) {
			List *recheck = ExecInsertIndexTuples(rri, slots[i], estate, false, false, nullptr, NIL);
			if (recheck != NIL)
				elog(ERROR, "event: unexpected deferred index check on %s", RelationGetRelationName(leaf));
			ResetPerTupleExprContext(estate);
			ExecDropSingleTupleTableSlot(slots[i]);
		}
		a = b;
	}

	for (int k = 0; k < nleaves; k++) {
		if (rris[k] != nullptr)
			ExecCloseIndices(rris[k]);
		table_close(leaves[k], NoLock);
	}
	FreeExecutorState(estate);
	table_close(parent, NoLock);
	pfree(slots);
	pfree(rris);
	pfree(leaf_at);
	pfree(leaves);
	// What SPI does after a statement: later statements of this transaction see the rows.
	CommandCounterIncrement();
	return true;
}

namespace {

// event.event_streams' columns (sql/event--0.2.0.sql), 1-based.
enum StreamColumn : int {
	kStreamId = 1,
	kStreamEntityType,
	kStreamEntityId,
	kStreamVersion,
	kStreamLastEventId,
	kStreamLastPosition,
	kStreamCreatedAt,
	kStreamUpdatedAt,
	kStreamColumns = kStreamUpdatedAt
};

// True if rel is the stream table as the install script makes it: a plain table with exactly
// these columns and types, no row security, no trigger that an UPDATE would fire.
bool PlainStreamTable(Relation rel) {
	static constexpr Oid kTypes[kStreamColumns] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, UUIDOID, INT8OID,
	                                               TIMESTAMPTZOID, TIMESTAMPTZOID};
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relrowsecurity)
		return false;
	const TriggerDesc *td = rel->trigdesc;
	if (td != nullptr && (td->trig_update_before_row || td->trig_update_after_row || td->trig_update_instead_row ||
	                      td->trig_update_before_statement || td->trig_update_after_statement ||
	                      td->trig_update_new_table || td->trig_update_old_table))
		return false;
	return ColumnsAre(rel, kStreamColumns, [](int c) { return kTypes[c]; });
}

// The primary key (stream_id) of a plain stream table, else InvalidOid.
Oid StreamPrimaryKey(Relation rel) {
	if (!PlainStreamTable(rel))
		return InvalidOid;
	return RelationGetPrimaryKeyIndex(rel);
}

} // namespace

StreamUpdate UpdateStreamDirect(const char *stream_id, int64 count, Datum last_event_id, Datum last_position,
                                TimestampTz now, int64 *version) {
	if (XactReadOnly || IsInParallelMode())
		return StreamUpdate::kFallback;
	const Oid oid = EventRelation("event_streams");
	if (pg_class_aclcheck(oid, GetUserId(), ACL_UPDATE) != ACLCHECK_OK ||
	    pg_class_aclcheck(oid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return StreamUpdate::kFallback; // the SPI UPDATE raises the usual permission error
	Relation rel = table_open(oid, RowExclusiveLock);
	const Oid pk = StreamPrimaryKey(rel);
	if (!OidIsValid(pk)) {
		table_close(rel, NoLock);
		return StreamUpdate::kFallback;
	}
	Relation index = index_open(pk, AccessShareLock);

	// As the SPI UPDATE: the statement's snapshot, after a command counter increment (earlier
	// writes of this transaction visible), taken now that the stream lock is held (the previous
	// writer of the stream has committed, so its update is in the snapshot).
	CommandCounterIncrement();
	Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
	ScanKeyData key;
	text *wanted = cstring_to_text(stream_id);
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_TEXTEQ,
	                       PointerGetDatum(wanted));
	TupleTableSlot *old_slot = table_slot_create(rel, nullptr);
	IndexScanDesc scan = index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, nullptr, 0);
	const bool found = index_getnext_slot(scan, ForwardScanDirection, old_slot);
	index_endscan(scan);
	StreamUpdate result = found ? StreamUpdate::kFallback : StreamUpdate::kNotFound;
	if (found) {
		slot_getallattrs(old_slot);
		TupleTableSlot *new_slot = table_slot_create(rel, nullptr);
		ExecClearTuple(new_slot);
		memcpy(new_slot->tts_values, old_slot->tts_values, sizeof(Datum) * kStreamColumns);
		memcpy(new_slot->tts_isnull, old_slot->tts_isnull, sizeof(bool) * kStreamColumns);
		int64 next;
		if (old_slot->tts_isnull[kStreamVersion - 1] ||
		    pg_add_s64_overflow(DatumGetInt64(old_slot->tts_values[kStreamVersion - 1]), count, &next))
			next = -1; // the SPI UPDATE raises the proper error
		if (next >= 0) {
			new_slot->tts_values[kStreamVersion - 1] = Int64GetDatum(next);
			new_slot->tts_values[kStreamLastEventId - 1] = last_event_id;
			new_slot->tts_values[kStreamLastPosition - 1] = last_position;
			new_slot->tts_values[kStreamUpdatedAt - 1] = TimestampTzGetDatum(now);
			new_slot->tts_isnull[kStreamVersion - 1] = new_slot->tts_isnull[kStreamLastEventId - 1] = false;
			new_slot->tts_isnull[kStreamLastPosition - 1] = new_slot->tts_isnull[kStreamUpdatedAt - 1] = false;
			ExecStoreVirtualTuple(new_slot);
			TM_FailureData tmfd;
			LockTupleMode lockmode;
			bool update_indexes = false;
			// Not waiting: a row locked or changed by anyone else is left to the executor.
			const TM_Result tm = table_tuple_update(rel, &old_slot->tts_tid, new_slot, GetCurrentCommandId(true),
			                                        snapshot, InvalidSnapshot, false, &tmfd, &lockmode,
			                                        &update_indexes);
			if (tm == TM_Ok) {
				if (update_indexes) { // not a HOT update: new entries in both indexes, as the executor adds
					EState *estate = CreateExecutorState();
					ResultRelInfo *rri = makeNode(ResultRelInfo);
					InitResultRelInfo(rri, rel, 0, nullptr, 0);
					ExecOpenIndices(rri, false);
					List *recheck = ExecInsertIndexTuples(rri, new_slot, estate, true, false, nullptr, NIL);
					if (recheck != NIL)
						elog(ERROR, "event: unexpected deferred index check on event_streams");
					ExecCloseIndices(rri);
					FreeExecutorState(estate);
				}
				*version = next;
				result = StreamUpdate::kUpdated;
			}
		}
		ExecDropSingleTupleTableSlot(new_slot);
	}
	ExecDropSingleTupleTableSlot(old_slot);
	pfree(wanted);
	UnregisterSnapshot(snapshot);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	if (result == StreamUpdate::kUpdated)
		CommandCounterIncrement(); // later statements of the transaction see the new head
	return result;
}

} // namespace event::pg
