// uuid.hpp — UUIDv7 event ids generated in the backend.
#pragma once

#include "pg/compat.hpp"

namespace event::pg {

// A new UUIDv7, strictly increasing within this backend.
pg_uuid_t NewEventId();

// Unix milliseconds embedded in a UUIDv7.
uint64 UuidMillis(const pg_uuid_t &id);

// Microseconds between the Unix and PostgreSQL epochs.
constexpr int64 kUnixToPgEpochUs = (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

} // namespace event::pg
