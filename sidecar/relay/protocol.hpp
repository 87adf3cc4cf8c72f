// protocol.hpp — byte layouts of the streaming replication CopyBoth sub-protocol (all big-endian).
//
//   XLogData         'w' dataStart(8) walEnd(8) sendTime(8) payload...
//   Keepalive        'k' walEnd(8) sendTime(8) replyRequested(1)
//   Standby status   'r' write(8) flush(8) apply(8) sendTime(8) replyRequested(1)
//
// Times are microseconds since 2000-01-01 UTC. Pure functions, unit-tested without a server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace event::sidecar::relay {

using Lsn = uint64_t;

struct XLogData {
	Lsn data_start = 0;
	Lsn wal_end = 0;
	int64_t send_time = 0;
	std::string_view payload; // points into the buffer given to ParseCopyMessage
};

struct Keepalive {
	Lsn wal_end = 0;
	int64_t send_time = 0;
	bool reply_requested = false;
};

enum class CopyMessageKind { kXLogData, kKeepalive, kUnknown, kMalformed };

struct CopyMessage {
	CopyMessageKind kind = CopyMessageKind::kMalformed;
	XLogData xlog;
	Keepalive keepalive;
};

// Parses one CopyData message received from the walsender.
CopyMessage ParseCopyMessage(const char *buf, size_t len);

// Builds the 34-byte standby status update.
std::string BuildStandbyStatus(Lsn write, Lsn flush, Lsn apply, int64_t send_time, bool reply_requested);

// Microseconds since the PostgreSQL epoch (2000-01-01 UTC) for now.
int64_t PgNowMicros();

// "16/B374D848" <-> 0x16B374D848. ParseLsn returns false on bad text.
bool ParseLsn(std::string_view text, Lsn *lsn);
std::string FormatLsn(Lsn lsn);

// Big-endian helpers (exposed for tests).
uint64_t ReadBe64(const char *p);
void WriteBe64(char *p, uint64_t v);

} // namespace event::sidecar::relay
