// spi_plans.cpp — backend-lifetime cache of prepared SPI plans (see spi_plans.hpp).
#include "pg/compat.hpp"

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

} // namespace event::pg
