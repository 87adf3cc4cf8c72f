// pg_handles.cpp — libpq connection helper shared by the replication reader and the monitor.
#include "relay/pg_handles.hpp"

namespace event::sidecar::relay {

namespace {
std::string OneLine(const char *text) {
	std::string s = text ? text : "";
	while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
		s.pop_back();
	for (auto &c : s)
		if (c == '\n')
			c = ' ';
	return s;
}
} // namespace

PgConnPtr PgConnect(const std::string &url, const char *replication, const char *application_name) {
	const char *keys[6];
	const char *vals[6];
	int n = 0;
	keys[n] = "dbname";
	vals[n++] = url.c_str();
	keys[n] = "fallback_application_name";
	vals[n++] = application_name;
	keys[n] = "connect_timeout";
	vals[n++] = "5";
	if (replication) {
		keys[n] = "replication";
		vals[n++] = replication;
	}
	keys[n] = nullptr;
	vals[n] = nullptr;
	// expand_dbname = 1: the first dbname value may be a URL or conninfo string.
	return PgConnPtr(PQconnectdbParams(keys, vals, 1));
}

std::string PgError(const PGconn *conn) { return OneLine(conn ? PQerrorMessage(conn) : "out of memory"); }

std::string PgResultError(const PGresult *res) { return OneLine(res ? PQresultErrorMessage(res) : "no result"); }

} // namespace event::sidecar::relay
