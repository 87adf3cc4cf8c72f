// spi_plans.cpp — backend-lifetime cache of prepared SPI plans (see spi_plans.hpp).
#include "pg/compat.hpp"

extern "C" {
#include "executor/tstoreReceiver.h"
#include "funcapi.h"
#include "nodes/params.h"
}

#include "pg/spi_plans.hpp"

namespace event::pg {
namespace {
SPIPlanPtr plans[static_cast<int>(PlanId::kCount)];
} // namespace

SPIPlanPtr CachedPlanIfPrepared(PlanId id) {
	return plans[static_cast<int>(id)];
}

SPIPlanPtr CachedPlan(PlanId id, const char *sql, int nargs, const Oid *argtypes) {
	SPIPlanPtr &slot = plans[static_cast<int>(id)];
	if (slot != nullptr)
		return slot;
	SPIPlanPtr plan = SPI_prepare(sql, nargs, const_cast<Oid *>(argtypes));
	if (plan == nullptr)
		elog(ERROR, "event: SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "event: SPI_keepplan failed");
	slot = plan;
	return slot;
}

void ReturnPlanRows(FunctionCallInfo fcinfo, SPIPlanPtr plan, int nargs, const Oid *argtypes, const Datum *values) {
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	ParamListInfo params = makeParamList(nargs);
	for (int i = 0; i < nargs; i++) {
		params->params[i].value = values[i];
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = argtypes[i];
	}
	// The executor writes each row straight into the result (no SPI tuple table to copy from).
	DestReceiver *dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult, CurrentMemoryContext, false, nullptr, nullptr);
	SPIExecuteOptions options;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = false; // a fresh snapshot, taken after the caller's checks (horizon)
	options.dest = dest;
	int rc = SPI_execute_plan_extended(plan, &options);
	dest->rDestroy(dest);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "event: SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
}

} // namespace event::pg
