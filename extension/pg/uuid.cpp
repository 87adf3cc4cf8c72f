// uuid.cpp — UUIDv7 generation in the backend (core::Uuid7Generator with the server clock and
// pg_strong_random drawn through a core::RandomPool) and the SQL helpers event.uuid_v7(),
// uuid_v7_floor(), uuid_v7_time().
#include "pg/compat.hpp"

#include "core/random_pool.hpp"
#include "core/uuid7.hpp"
#include "guard.hpp"
#include "pg/uuid.hpp"

namespace event::pg {
namespace {

uint64_t ServerClockMs() {
	return static_cast<uint64_t>((GetCurrentTimestamp() + kUnixToPgEpochUs) / 1000);
}

// pg_strong_random a block at a time (core/random_pool.hpp), per backend process.
bool StrongRandom(uint8_t *buf, size_t len) {
	static core::RandomPool pool([](uint8_t *block, size_t n) { return pg_strong_random(block, n); });
	return pool.Fill(buf, len, MyProcPid);
}

core::Uuid7Generator &Generator() {
	static core::Uuid7Generator generator(ServerClockMs, StrongRandom);
	return generator;
}

pg_uuid_t ToPg(const core::Uuid &id) {
	pg_uuid_t out;
	memcpy(out.data, id.bytes.data(), UUID_LEN);
	return out;
}

core::Uuid FromPg(const pg_uuid_t &id) {
	core::Uuid out;
	memcpy(out.bytes.data(), id.data, UUID_LEN);
	return out;
}

} // namespace

pg_uuid_t NewEventId() {
	return ToPg(Generator().Next());
}

uint64 UuidMillis(const pg_uuid_t &id) {
	return core::Uuid7Millis(FromPg(id));
}

} // namespace event::pg

// event.uuid_v7(): a new UUIDv7.
EVENT_FUNCTION(event_uuid_v7) {
	auto *out = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
	*out = event::pg::NewEventId();
	PG_RETURN_UUID_P(out);
}

// event.uuid_v7_floor(ts): the smallest UUIDv7 of the millisecond of ts.
EVENT_FUNCTION(event_uuid_v7_floor) {
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("timestamp must be finite")));
	int64 unix_us = ts + event::pg::kUnixToPgEpochUs;
	if (unix_us < 0 || static_cast<uint64>(unix_us / 1000) > event::core::kUuid7MaxMillis)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("timestamp out of UUIDv7 range"),
		                errhint("UUIDv7 covers 1970-01-01 to the year 10889.")));
	auto *out = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
	*out = event::pg::ToPg(event::core::FloorForMillis(static_cast<uint64_t>(unix_us / 1000)));
	PG_RETURN_UUID_P(out);
}

// event.uuid_v7_time(id): the creation time embedded in a UUIDv7.
EVENT_FUNCTION(event_uuid_v7_time) {
	pg_uuid_t *id = PG_GETARG_UUID_P(0);
	if (event::core::UuidVersion(event::pg::FromPg(*id)) != 7)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("uuid is not version 7"),
		                errhint("Only UUIDv7 values carry a timestamp.")));
	int64 ms = static_cast<int64>(event::pg::UuidMillis(*id));
	PG_RETURN_TIMESTAMPTZ(ms * 1000 - event::pg::kUnixToPgEpochUs);
}
