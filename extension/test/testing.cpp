// testing.cpp — internal SQL-callable hooks that exercise every branch of the C++/PG boundary.
//
// event._guard_test(kind text) RETURNS text      one guard/Call path per kind (test/pgtap/01_guard.sql)
// event._guard_leak_test(n int) RETURNS bigint   n caught PostgreSQL errors in rolled-back
//                                                subtransactions; returns TopMemoryContext's total
// Not part of the public API: the SQL functions are declared by the test-only extension event_test
// (extension/test/event_test--0.2.0.sql), which only the test harness creates. The C symbols live
// in event.so, because sql/event--0.1.0.sql references them.
#include "pg/compat.hpp"

#include "guard.hpp"

#include "core/errors.hpp"
#include "core/validate.hpp"

namespace {

using event::core::SqlError;
using event::pg::PgError;

// How many times a Sentinel was destroyed: shows that destructors ran during unwinding.
int64 sentinel_destructions = 0;

// A local with a non-trivial destructor, which a longjmp would skip. No PostgreSQL call inside.
struct Sentinel {
	std::string label;
	explicit Sentinel(std::string name) : label(std::move(name)) {
	}
	~Sentinel() {
		sentinel_destructions++;
	}
	Sentinel(const Sentinel &) = delete;
	Sentinel &operator=(const Sentinel &) = delete;
};

// A plain PostgreSQL error with detail and hint (C-style: no destructible locals).
void RaiseTestError(const char *label) {
	ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION), errmsg("guard test: postgres error from \"%s\"", label),
	                errdetail("The detail survives the boundary."), errhint("The hint survives the boundary.")));
}

// Error-context callback pushed on a frame that a C++ exception leaves (nested_pg_try).
void NestedContextCallback(void *) {
	errcontext("guard test nested context");
}

// Throws from inside a PG_TRY and from under a pushed error-context callback: neither epilogue
// runs, so PG_exception_stack and error_context_stack are left pointing into this dead frame.
// The guard must restore both before it raises.
void ThrowFromInsidePgTry() {
	ErrorContextCallback callback;
	callback.callback = NestedContextCallback;
	callback.arg = nullptr;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	PG_TRY();
	{
		throw SqlError(event::core::kInvalidParameterValue, "guard test: thrown inside PG_TRY",
		               "The exception left a PG_TRY block without PG_END_TRY.", "The guard restored the stacks.");
	}
	PG_CATCH();
	{
		PG_RE_THROW();
	}
	PG_END_TRY();
}

// Converts a C string to a text Datum. Through pg::Call: callers' frames own std::strings.
Datum TextResult(const char *value) {
	return PointerGetDatum(event::pg::Call(cstring_to_text, value));
}

const std::vector<std::string> kGuardTestKinds = {"ok",        "sql_error",     "pg_error", "pg_error_rethrow",
                                                  "bad_alloc", "std_exception", "unknown",  "nested_pg_try",
                                                  "destructions"};

} // namespace

// One boundary path per kind; see kGuardTestKinds.
EVENT_FUNCTION(event__guard_test) {
	if (PG_ARGISNULL(0))
		throw SqlError(event::core::kNullValueNotAllowed, "kind must not be null");
	const char *kind_cstr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const std::string kind(kind_cstr);
	event::core::CheckAllowed("kind", kind, kGuardTestKinds);

	if (kind == "ok")
		return TextResult("ok");
	if (kind == "sql_error")
		throw SqlError(event::core::kWrongExpectedVersion, "guard test: sql error",
		               "The detail survives the boundary.", "The hint survives the boundary.");
	if (kind == "pg_error") {
		// A frame owning a std::string calls PostgreSQL: Call turns the longjmp into PgError, so
		// the Sentinel destructor runs and the guard re-raises the original error unchanged.
		Sentinel owned("pg_error");
		event::pg::Call(RaiseTestError, owned.label.c_str());
		return TextResult("unreachable");
	}
	if (kind == "pg_error_rethrow") {
		// A built-in's error (22P02 from int4in), intercepted in C++ and rethrown unconverted.
		Sentinel owned("pg_error_rethrow");
		try {
			event::pg::Call(DirectFunctionCall1Coll, int4in, InvalidOid, CStringGetDatum("not a number"));
		} catch (const PgError &) {
			owned.label += " (seen)";
			throw;
		}
		return TextResult("unreachable");
	}
	if (kind == "bad_alloc")
		throw std::bad_alloc();
	if (kind == "std_exception")
		throw std::runtime_error("guard test: std exception");
	if (kind == "unknown")
		throw 42;
	if (kind == "nested_pg_try") {
		ThrowFromInsidePgTry();
		return TextResult("unreachable");
	}
	// "destructions"
	return TextResult(std::to_string(sentinel_destructions).c_str());
}

// Raises and swallows n PostgreSQL errors (each inside an internal subtransaction that is rolled
// back, style.md §4.5) and returns TopMemoryContext's total allocation, so a test can check that
// repeated calls do not grow memory.
EVENT_FUNCTION(event__guard_leak_test) {
	const int32 n = PG_GETARG_INT32(0);
	if (n < 0)
		throw SqlError(event::core::kInvalidParameterValue, "n must not be negative",
		               "The value was " + std::to_string(n) + ".");

	MemoryContext const caller_context = CurrentMemoryContext;
	ResourceOwner const caller_owner = CurrentResourceOwner;
	// Per-iteration context: the PgError's ErrorData is copied here and freed by the reset.
	MemoryContext const loop_context =
	    AllocSetContextCreate(caller_context, "event guard leak test", ALLOCSET_SMALL_SIZES);
	int32 caught = 0;

	for (int32 i = 0; i < n; i++) {
		BeginInternalSubTransaction(nullptr);
		MemoryContextSwitchTo(loop_context);
		try {
			event::pg::Call(RaiseTestError, "leak test");
		} catch (const PgError &) {
			caught++; // allowed: the subtransaction is rolled back below
		}
		MemoryContextSwitchTo(caller_context);
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_context);
		CurrentResourceOwner = caller_owner;
		MemoryContextReset(loop_context);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(loop_context);

	if (caught != n)
		elog(ERROR, "guard leak test caught %d of %d errors", caught, n);
	PG_RETURN_INT64(static_cast<int64>(MemoryContextMemAllocated(TopMemoryContext, true)));
}
