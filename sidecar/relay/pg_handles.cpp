// pg_handles.cpp — libpq connection helper shared by the replication reader and the monitor.
#include "relay/pg_handles.hpp"

#include <utility>
#include <vector>

#include "pg/conninfo.hpp"

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
	std::vector<std::pair<std::string, std::string>> extra;
	if (replication)
		extra.emplace_back("replication", replication);
	const pg::ConnParams params(url, application_name, "", std::move(extra));
	// expand_dbname = 1: the first dbname value may be a URL or conninfo string.
	return PgConnPtr(PQconnectdbParams(params.keys(), params.values(), 1));
}

std::string PgError(const PGconn *conn) { return OneLine(conn ? PQerrorMessage(conn) : "out of memory"); }

std::string PgResultError(const PGresult *res) { return OneLine(res ? PQresultErrorMessage(res) : "no result"); }

} // namespace event::sidecar::relay
