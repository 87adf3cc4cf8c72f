// guard.cpp — the non-template half of the C++/PostgreSQL boundary (see guard.hpp for the why).
//
// Capture* run inside catch handlers: they only copy bytes into the fixed buffers of a
// PendingError (memcpy, no allocation, no PostgreSQL call). Raise runs after the handler has
// closed and is the only place that calls ereport / ReThrowError.
#include "pg/compat.hpp"

#include "guard.hpp"

namespace event::pg::detail {
namespace {

constexpr char kEllipsis[] = "...";

// Copies src (len bytes) into dst (cap bytes, cap >= 8), always NUL-terminated. If it does not
// fit, cuts at a UTF-8 character boundary and appends "...", so the text stays valid.
void CopyTruncated(char *dst, size_t cap, const char *src, size_t len) noexcept {
	if (src == nullptr) {
		dst[0] = '\0';
		return;
	}
	if (len < cap) {
		memcpy(dst, src, len);
		dst[len] = '\0';
		return;
	}
	size_t keep = cap - sizeof(kEllipsis); // room for "..." and the NUL
	// Back up over UTF-8 continuation bytes (10xxxxxx) so a multibyte character is not split.
	while (keep > 0 && (static_cast<unsigned char>(src[keep]) & 0xC0) == 0x80)
		keep--;
	memcpy(dst, src, keep);
	memcpy(dst + keep, kEllipsis, sizeof(kEllipsis)); // includes the NUL
}

void CopyText(char *dst, size_t cap, const char *src) noexcept {
	CopyTruncated(dst, cap, src, src ? strlen(src) : 0);
}

void CopyText(char *dst, size_t cap, const std::string &src) noexcept {
	CopyTruncated(dst, cap, src.data(), src.size());
}

void Reset(PendingError &out, const char *sqlstate) noexcept {
	out.edata = nullptr;
	CopyText(out.sqlstate, sizeof(out.sqlstate), sqlstate);
	out.message[0] = '\0';
	out.detail[0] = '\0';
	out.hint[0] = '\0';
}

} // namespace

void Capture(PendingError &out, const core::SqlError &error) noexcept {
	// A malformed SQLSTATE cannot be packed by MAKE_SQLSTATE: report it as an internal error.
	Reset(out, core::IsValidSqlState(error.sqlstate()) ? error.sqlstate().c_str() : core::kInternalError);
	CopyText(out.message, sizeof(out.message), error.message());
	CopyText(out.detail, sizeof(out.detail), error.detail());
	CopyText(out.hint, sizeof(out.hint), error.hint());
}

void Capture(PendingError &out, const PgError &error) noexcept {
	Reset(out, core::kInternalError);
	out.edata = error.data();
	if (out.edata == nullptr)
		CopyText(out.message, sizeof(out.message), "PostgreSQL error without error data");
}

void CaptureOutOfMemory(PendingError &out) noexcept {
	Reset(out, core::kOutOfMemory);
	CopyText(out.message, sizeof(out.message), "out of memory");
	CopyText(out.detail, sizeof(out.detail), "A C++ allocation in the event extension failed.");
}

void Capture(PendingError &out, const std::exception &error) noexcept {
	Reset(out, core::kInternalError);
	CopyText(out.message, sizeof(out.message), error.what());
	CopyText(out.detail, sizeof(out.detail), "An unexpected C++ exception reached the PostgreSQL boundary.");
}

void CaptureUnknown(PendingError &out) noexcept {
	Reset(out, core::kInternalError);
	CopyText(out.message, sizeof(out.message), "unknown C++ exception");
	CopyText(out.detail, sizeof(out.detail),
	         "An exception of a type not derived from std::exception reached the PostgreSQL boundary.");
}

BoundaryState Enter() noexcept {
	return BoundaryState{PG_exception_stack, error_context_stack, CurrentMemoryContext};
}

void RestoreStacks(const BoundaryState &state) noexcept {
	// Differs only if a C++ exception left an inner PG_TRY or error-context push without running
	// its epilogue; the saved values are the ones that were valid when PostgreSQL called us.
	if (PG_exception_stack != state.exception_stack)
		PG_exception_stack = state.exception_stack;
	if (error_context_stack != state.context_stack)
		error_context_stack = state.context_stack;
}

void Raise(const PendingError &error, const BoundaryState &state) {
	RestoreStacks(state);
	MemoryContextSwitchTo(state.memory_context);

	if (error.edata != nullptr)
		ReThrowError(error.edata); // keeps SQLSTATE, message, detail, hint, context, position

	const char *s = error.sqlstate;
	ereport(ERROR, (errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])), errmsg_internal("%s", error.message),
	                error.detail[0] != '\0' ? errdetail_internal("%s", error.detail) : 0,
	                error.hint[0] != '\0' ? errhint("%s", error.hint) : 0));
	pg_unreachable();
}

} // namespace event::pg::detail
