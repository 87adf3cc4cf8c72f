// pg_handles.hpp — libpq handles in unique_ptr with their release function as deleter.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace event::sidecar::relay {

struct PgConnDeleter {
	void operator()(PGconn *c) const { PQfinish(c); }
};
struct PgResultDeleter {
	void operator()(PGresult *r) const { PQclear(r); }
};
struct PgFreeDeleter {
	void operator()(void *p) const { PQfreemem(p); }
};

using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;
using PgBufferPtr = std::unique_ptr<char, PgFreeDeleter>;

// Connects with `url` (URL or conninfo) plus extra keywords; never returns nullptr.
// `replication` is "database" for a walsender connection, or nullptr for a normal one.
PgConnPtr PgConnect(const std::string &url, const char *replication, const char *application_name);

// The server's (or libpq's) last error on one line.
std::string PgError(const PGconn *conn);
std::string PgResultError(const PGresult *res);

} // namespace event::sidecar::relay
