// column_types.hpp — PostgreSQL type facts of the event.events columns (core/event_columns.hpp),
// shared by the extension and the output plugin. Include pg/compat.hpp first.
#pragma once

#include "core/event_columns.hpp"

namespace event::pg {

// Storage of a column type: type OID, its array type, typlen, typbyval, typalign.
struct ColumnTypeInfo {
	Oid type;
	Oid array_type;
	int16 len;
	bool byval;
	char align;
};

constexpr ColumnTypeInfo TypeInfo(core::ColumnType type) {
	switch (type) {
	case core::ColumnType::kUuid:
		return {UUIDOID, UUIDARRAYOID, 16, false, TYPALIGN_CHAR};
	case core::ColumnType::kBigint:
		return {INT8OID, INT8ARRAYOID, 8, true, TYPALIGN_DOUBLE};
	case core::ColumnType::kText:
		return {TEXTOID, TEXTARRAYOID, -1, false, TYPALIGN_INT};
	case core::ColumnType::kJsonb:
		return {JSONBOID, JSONBARRAYOID, -1, false, TYPALIGN_INT};
	case core::ColumnType::kTimestamptz:
		return {TIMESTAMPTZOID, TIMESTAMPTZARRAYOID, 8, true, TYPALIGN_DOUBLE};
	}
	return {InvalidOid, InvalidOid, 0, false, TYPALIGN_CHAR};
}

// The TypeInfo of column c of event.events.
constexpr ColumnTypeInfo EventColumnType(int c) {
	return TypeInfo(core::kEventColumnDefs[c].type);
}

} // namespace event::pg
