// guard.hpp — the single C++/PostgreSQL boundary (style.md §4).
//
// Two directions, two tools:
//   * PostgreSQL -> our C++:  event::pg::Guard(body) around every function PostgreSQL calls
//     (fmgr functions via EVENT_FUNCTION, triggers, output-plugin and xact callbacks, hooks).
//     No C++ exception ever crosses into PostgreSQL; each becomes ereport(ERROR).
//   * our C++ -> PostgreSQL:  event::pg::Call(fn, args...) around a PG function that can
//     ereport(ERROR) when the calling C++ frame owns objects with destructors. The longjmp is
//     caught right there and turned into a C++ exception (PgError) that unwinds normally.
//
// Why this is needed
// ------------------
// PostgreSQL reports errors with siglongjmp to the innermost sigsetjmp (PG_exception_stack).
// A longjmp skips C++ destructors of every frame it crosses (leaks, held locks, broken
// invariants), and a C++ exception unwinding through PostgreSQL's C frames would skip their
// PG_TRY cleanup and leave PG_exception_stack / error_context_stack pointing at dead stack.
// So each mechanism must stay on its own side:
//   - Guard catches everything C++ can throw. Inside a catch handler it only copies text into
//     fixed-size local buffers: any PostgreSQL call there (even palloc) may longjmp out of the
//     handler, which skips __cxa_end_catch and corrupts the C++ runtime's exception state.
//     It calls ereport/ReThrowError only after the handler has closed.
//   - SQLSTATE, message, detail and hint are kept (unlike pg_duckdb we never collapse errors to
//     XX000; unlike plv8 we never ereport inside a catch).
//   - If a C++ throw escaped from inside an inner PG_TRY, or from a function that pushed an
//     ErrorContextCallback, PG_exception_stack / error_context_stack still point into frames
//     that no longer exist; the next ereport would jump into garbage. Guard saves both at entry
//     and restores them before raising.
//   - Call places the sigsetjmp directly around the single call: nothing with a destructor may
//     live between the sigsetjmp and the PostgreSQL code that longjmps (pg_ducklake #248).
//   - A PgError caught in C++ must go back up to the entry Guard (which re-raises it intact
//     with ReThrowError). Swallowing it is only allowed when the work ran in an internal
//     subtransaction that is rolled back (BeginInternalSubTransaction /
//     RollbackAndReleaseCurrentSubTransaction), as PL/Python and plv8 do.
//   - Destructors never call PostgreSQL: they may run while an exception unwinds.
#pragma once

// Core headers before compat.hpp is allowed either way; keep PostgreSQL first for consistency.
#include "pg/compat.hpp"

#include "core/errors.hpp"

namespace event::pg {

// A PostgreSQL error caught by pg::Call, as a C++ exception. Holds the ErrorData copied by
// CopyErrorData, palloc'd in the memory context that was current when Call was entered; it is
// freed with that context (the destructor makes no PostgreSQL call, style.md §4.6).
class PgError : public std::exception {
public:
	explicit PgError(ErrorData *edata) noexcept : edata_(edata) {
	}

	// The copied error; never null when thrown by pg::Call.
	ErrorData *data() const noexcept {
		return edata_;
	}
	// The packed SQLSTATE (edata->sqlerrcode), 0 if there is no data.
	int sqlerrcode() const noexcept {
		return edata_ ? edata_->sqlerrcode : 0;
	}
	// The primary message.
	const char *what() const noexcept override {
		return edata_ && edata_->message ? edata_->message : "PostgreSQL error";
	}

private:
	ErrorData *edata_;
};

namespace detail {

// Stacks and memory context at boundary entry, restored before raising.
struct BoundaryState {
	sigjmp_buf *exception_stack;
	ErrorContextCallback *context_stack;
	MemoryContext memory_context;
};

// What a catch handler captured: plain data only, filled without any PostgreSQL call.
struct PendingError {
	static constexpr size_t kMessageSize = 2048;
	static constexpr size_t kDetailSize = 2048;
	static constexpr size_t kHintSize = 1024;

	ErrorData *edata; // set for a PgError: re-raised as is
	char sqlstate[6];
	char message[kMessageSize];
	char detail[kDetailSize];
	char hint[kHintSize];
};

// Capture functions: noexcept, no PostgreSQL calls, safe inside a catch handler.
void Capture(PendingError &out, const core::SqlError &error) noexcept;
void Capture(PendingError &out, const PgError &error) noexcept;
void CaptureOutOfMemory(PendingError &out) noexcept;
void Capture(PendingError &out, const std::exception &error) noexcept;
void CaptureUnknown(PendingError &out) noexcept;

// Current stacks and memory context.
BoundaryState Enter() noexcept;
// Restores stacks that a throw left pointing into dead frames (called on the success path too).
void RestoreStacks(const BoundaryState &state) noexcept;
// Restores the boundary state, then raises the captured error as ereport(ERROR) / ReThrowError.
[[noreturn]] void Raise(const PendingError &error, const BoundaryState &state);

} // namespace detail

// Runs body() (returning Datum, void or any value) and converts every C++ exception into a
// PostgreSQL ERROR with the same SQLSTATE/message/detail/hint. Use directly in callbacks:
//   extern "C" void event_xact_cb(XactEvent ev, void *arg) { event::pg::Guard([&] { OnXact(ev); }); }
// Catch order: SqlError, PgError, std::bad_alloc, std::exception, anything else.
template <typename F>
auto Guard(F &&body) -> decltype(body()) {
	using Result = decltype(body());
	const detail::BoundaryState state = detail::Enter();
	detail::PendingError error; // filled by exactly one handler below
	try {
		if constexpr (std::is_void_v<Result>) {
			body();
			detail::RestoreStacks(state);
			return;
		} else {
			Result result = body();
			detail::RestoreStacks(state);
			return result;
		}
	} catch (const core::SqlError &e) {
		detail::Capture(error, e);
	} catch (const PgError &e) {
		detail::Capture(error, e);
	} catch (const std::bad_alloc &) {
		detail::CaptureOutOfMemory(error);
	} catch (const std::exception &e) {
		detail::Capture(error, e);
	} catch (...) {
		detail::CaptureUnknown(error);
	}
	// Every handler has closed: now PostgreSQL may be called (and may longjmp).
	detail::Raise(error, state);
}

// Calls fn(args...) — a PostgreSQL function that may ereport(ERROR) — from C++ code whose frame
// owns objects with destructors. On error: restores PG_exception_stack, error_context_stack and
// the memory context current at entry, copies the error there (CopyErrorData), clears
// PostgreSQL's error state (FlushErrorState) and throws PgError. fn's own frames are skipped by
// the longjmp, so fn must be PostgreSQL (C) code or a lambda without destructible locals.
// Arguments are passed by value; pass pointers for large objects.
template <typename Fn, typename... Args>
auto Call(Fn fn, Args... args) -> std::invoke_result_t<Fn, Args...> {
	using Result = std::invoke_result_t<Fn, Args...>;
	MemoryContext const entry_context = CurrentMemoryContext;
	sigjmp_buf *const saved_exception_stack = PG_exception_stack;
	ErrorContextCallback *const saved_context_stack = error_context_stack;
	sigjmp_buf local_jump;

	if (sigsetjmp(local_jump, 0) == 0) {
		PG_exception_stack = &local_jump;
		if constexpr (std::is_void_v<Result>) {
			fn(args...);
			PG_exception_stack = saved_exception_stack;
			error_context_stack = saved_context_stack;
			return;
		} else {
			Result result = fn(args...);
			PG_exception_stack = saved_exception_stack;
			error_context_stack = saved_context_stack;
			return result;
		}
	}
	// Arrived here by siglongjmp from ereport(ERROR) inside fn.
	PG_exception_stack = saved_exception_stack;
	error_context_stack = saved_context_stack;
	MemoryContextSwitchTo(entry_context);
	// If CopyErrorData itself fails (out of memory), it longjmps to the outer handler; this
	// frame holds nothing that needs destroying.
	ErrorData *edata = CopyErrorData();
	FlushErrorState();
	throw PgError(edata);
}

} // namespace event::pg

// Declares a SQL-callable function with C symbol `name` whose body runs inside pg::Guard.
// Usage:  EVENT_FUNCTION(event_foo) { ... return PointerGetDatum(...); }
// The body is the definition of `static Datum name_impl(FunctionCallInfo fcinfo)`, so the
// PG_GETARG_* / PG_RETURN_* macros work as usual. PG_FUNCTION_INFO_V1 must have C linkage
// (PostgreSQL finds pg_finfo_<name> with dlsym), hence the extern "C" block.
#define EVENT_FUNCTION(name)                                                                                           \
	static Datum name##_impl(FunctionCallInfo fcinfo);                                                                 \
	extern "C" {                                                                                                       \
	PG_FUNCTION_INFO_V1(name);                                                                                         \
	PGDLLEXPORT Datum name(PG_FUNCTION_ARGS) {                                                                         \
		return ::event::pg::Guard([fcinfo]() -> Datum { return name##_impl(fcinfo); });                                \
	}                                                                                                                  \
	}                                                                                                                  \
	static Datum name##_impl([[maybe_unused]] FunctionCallInfo fcinfo)
