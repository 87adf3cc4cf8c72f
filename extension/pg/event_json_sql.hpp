// event_json_sql.hpp — the one SQL expression that renders an event as an EventResponse (spec 5.2).
//
// The single-event reads that return EventResponse JSON (get_event_json, get_stream_json,
// update_status) embed kEventJsonSql in their SPI query. The write path and query_events build the
// same object in C (event_record.hpp); tests compare both byte for byte.
//
// The expression reads two aliases that the query must provide:
//   e  a row of event.events
//   s  the matching row of event.event_status, or NULLs (LEFT JOIN): no row means "pending"
// kEventFromSql is that FROM clause. Timestamps are UTC, microseconds, with a "Z" suffix.
#pragma once

namespace event::pg {

// to_char format of every timestamp in EventResponse JSON (applied to ts AT TIME ZONE 'UTC').
#define EVENT_JSON_TS_FORMAT "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"

// The EventResponse expression as a string literal macro, so queries can be concatenated at compile time.
#define EVENT_JSON_SQL                                                                                                 \
	"pg_catalog.jsonb_build_object("                                                                                   \
	"'event_id', e.event_id::text, "                                                                                   \
	"'event_type', e.event_type, "                                                                                     \
	"'event_source', e.event_source, "                                                                                 \
	"'event_category', e.event_category, "                                                                             \
	"'user_id', e.user_id, "                                                                                           \
	"'data', e.data, "                                                                                                 \
	"'metadata', e.metadata, "                                                                                         \
	"'context', e.context, "                                                                                           \
	"'status', COALESCE(s.status, 'pending'), "                                                                        \
	"'timestamp', pg_catalog.to_char(e.\"timestamp\" AT TIME ZONE 'UTC', " EVENT_JSON_TS_FORMAT "), "                  \
	"'created_at', pg_catalog.to_char(e.created_at AT TIME ZONE 'UTC', " EVENT_JSON_TS_FORMAT "), "                    \
	"'position', e.position, "                                                                                         \
	"'stream_id', e.stream_id, "                                                                                       \
	"'stream_version', e.stream_version, "                                                                             \
	"'idempotency_key', e.idempotency_key, "                                                                           \
	"'processed_at', pg_catalog.to_char(s.processed_at AT TIME ZONE 'UTC', " EVENT_JSON_TS_FORMAT "), "                \
	"'error', s.last_error, "                                                                                          \
	"'attempts', COALESCE(s.attempts, 0))"

// FROM clause providing the aliases e and s used by EVENT_JSON_SQL.
#define EVENT_JSON_FROM_SQL "event.events e LEFT JOIN event.event_status s ON s.event_id = e.event_id"

inline constexpr char kEventJsonSql[] = EVENT_JSON_SQL;
inline constexpr char kEventJsonFromSql[] = EVENT_JSON_FROM_SQL;

} // namespace event::pg
