// event_columns.hpp — the one definition of the columns of event.events (order, names, types).
//
// Everything that lists the event row's columns derives from EVENT_COLUMNS: the C++ record and
// the write path's SQL and type tables (extension/pg/event_record.hpp, append.cpp), the output
// plugin's fields and their expected types (extension/decoder/). The install script cannot
// include C++, so the extension compares this list with the catalog the first time a backend
// writes (CheckEventColumns in extension/pg/event_record.cpp) and the output plugin checks the
// types of every relation it decodes; test/pgtap/17_event_columns.sql proves both sides agree.
#include "core/cpp_only.hpp"
#pragma once

namespace event::core {

// SQL type of a column of event.events.
enum class ColumnType { kUuid, kBigint, kText, kJsonb, kTimestamptz };

// X(Name, "sql_name", ColumnType) per column, in table order.
#define EVENT_COLUMNS(X)                                                                                               \
	X(EventId, "event_id", kUuid)                                                                                      \
	X(Position, "position", kBigint)                                                                                   \
	X(EventType, "event_type", kText)                                                                                  \
	X(EventSource, "event_source", kText)                                                                              \
	X(EventCategory, "event_category", kText)                                                                          \
	X(UserId, "user_id", kText)                                                                                        \
	X(StreamId, "stream_id", kText)                                                                                    \
	X(StreamVersion, "stream_version", kBigint)                                                                        \
	X(Data, "data", kJsonb)                                                                                            \
	X(Metadata, "metadata", kJsonb)                                                                                    \
	X(Context, "context", kJsonb)                                                                                      \
	X(IdempotencyKey, "idempotency_key", kText)                                                                        \
	X(Timestamp, "timestamp", kTimestamptz)                                                                            \
	X(CreatedAt, "created_at", kTimestamptz)

struct EventColumnDef {
	const char *name;
	ColumnType type;
};

#define EVENT_COLUMN_DEF(id, name, type) {name, ColumnType::type},
inline constexpr EventColumnDef kEventColumnDefs[] = {EVENT_COLUMNS(EVENT_COLUMN_DEF)};
#undef EVENT_COLUMN_DEF
inline constexpr int kEventColumnCount = sizeof(kEventColumnDefs) / sizeof(kEventColumnDefs[0]);

} // namespace event::core
