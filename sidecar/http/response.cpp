// response.cpp — the JSON error body and the SQLSTATE -> HTTP status table (see response.hpp).
#include "http/response.hpp"

#include "core/errors.hpp"
#include "core/json.hpp"

namespace event::sidecar::http {

namespace {

// One row per SQLSTATE (exact, 5 characters) or class (2 characters); exact rows win.
struct SqlstateRow {
	const char *sqlstate;
	int status;
};

constexpr SqlstateRow kSqlstateTable[] = {
	// Our EV codes and the PostgreSQL codes we raise, from core/errors.hpp (statuses as docs/errors.md).
	{core::kWrongExpectedVersion, 409},
	{core::kSchemaValidation, 400},
	{core::kEventImmutable, 400},
	{core::kDirectWrite, 400},
	{core::kNotOnStandby, 503},
	{core::kSchemaIncompatible, 409},
	{core::kObjectNotInPrerequisiteState, 409},
	{core::kFeatureNotSupported, 400},
	{"23505", 409}, // unique violation (idempotency / stream version race)
	{"23503", 400}, // foreign key: unknown referenced object
	{"23502", 400}, // not null
	{"23514", 400}, // check constraint
	{"42501", 403}, // insufficient privilege
	{"42883", 500}, // undefined function: the extension is missing or older (server bug)
	{"54000", 413}, // program limit exceeded (too large)
	{"54001", 413}, // statement too complex
	{"53000", 503}, // insufficient resources
	{"53100", 503}, // disk full
	{"53200", 503}, // out of memory
	{"53300", 503}, // too many connections
	{"40001", 503}, // serialization failure: retry
	{"40P01", 503}, // deadlock detected: retry
	{"55P03", 503}, // lock not available
	{"57014", 503}, // query canceled (statement timeout)
	{"57P01", 503}, // admin shutdown
	{"57P02", 503}, // crash shutdown
	{"57P03", 503}, // cannot connect now
	{"25006", 503}, // read-only transaction (standby)
	{"P0002", 404}, // no data found
	{"22", 400},    // data exception: 22023, 22P02, 22007, 22008, 2201B, 22001, ...
	{"08", 503},    // connection exception
	{"57", 503},    // operator intervention
	{"53", 503},    // insufficient resources
};

} // namespace

int StatusForSqlstate(std::string_view sqlstate) {
	if (sqlstate.size() != 5)
		return 500;
	for (const auto &row : kSqlstateTable)
		if (sqlstate == row.sqlstate)
			return row.status;
	for (const auto &row : kSqlstateTable)
		if (std::string_view(row.sqlstate).size() == 2 && sqlstate.substr(0, 2) == row.sqlstate)
			return row.status;
	return 500;
}

const char *CodeForStatus(int status) {
	switch (status) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 408:
		return "request_timeout";
	case 409:
		return "conflict";
	case 411:
		return "length_required";
	case 413:
		return "payload_too_large";
	case 415:
		return "unsupported_media_type";
	case 417:
		return "expectation_failed";
	case 429:
		return "too_many_requests";
	case 431:
		return "header_too_large";
	case 501:
		return "not_implemented";
	case 503:
		return "unavailable";
	default:
		return status >= 500 ? "internal_error" : "bad_request";
	}
}

const char *ReasonPhrase(int status) {
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 207:
		return "Multi-Status";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 422:
		return "Unprocessable Entity";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

Response ErrorResponse(int status, std::string_view code, std::string_view message, std::string_view request_id,
					   std::string_view detail, std::string_view hint, std::string_view sqlstate) {
	Response r;
	r.status = status;
	r.content_type = "application/json";
	std::string &b = r.body;
	b = "{\"error\":{\"code\":";
	core::AppendJsonString(b, code);
	b += ",\"message\":";
	core::AppendJsonString(b, message);
	b += ",\"request_id\":";
	core::AppendJsonString(b, request_id);
	const std::pair<const char *, std::string_view> extra[] = {
		{"detail", detail}, {"hint", hint}, {"sqlstate", sqlstate}};
	for (const auto &[name, value] : extra) {
		if (value.empty())
			continue;
		b += ",\"";
		b += name;
		b += "\":";
		core::AppendJsonString(b, value);
	}
	b += "}}";
	return r;
}

} // namespace event::sidecar::http
