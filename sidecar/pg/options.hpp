// options.hpp — configuration of the PostgreSQL connection pool (flags --pg-*, env EVENT_PG_*).
#pragma once

#include <cstdint>

namespace event::sidecar::pg {

struct Options {
	int pool_size = 4;                    // connections for the HTTP API (not the relay's)
	int64_t queue_max = 10000;            // queries waiting for a connection; beyond: 429
	int64_t reconnect_min_ms = 100;       // first retry after a lost connection, doubled per failure
	int64_t reconnect_max_ms = 5000;      // longest pause between connection attempts
	int64_t statement_timeout_ms = 30000; // server-side statement_timeout of pool connections
};

} // namespace event::sidecar::pg
