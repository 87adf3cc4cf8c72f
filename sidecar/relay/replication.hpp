// replication.hpp — the walsender connection: slot creation, START_REPLICATION, CopyBoth I/O.
//
// Non-blocking after Start(): the relay loop polls Socket() and calls Read() until it returns
// kNone. Expected failures (server gone, slot busy) are returned as statuses with a message.
#pragma once

#include <string>
#include <string_view>

#include "config.hpp"
#include "relay/pg_handles.hpp"
#include "relay/protocol.hpp"

namespace event::sidecar::relay {

enum class ReplStatus { kOk, kSlotBusy, kFailed };

enum class ReadStatus { kMessage, kNone, kClosed };

class ReplicationConnection {
public:
	// Opens a replication=database connection.
	ReplStatus Connect(const std::string &url, std::string *error);
	// CREATE_REPLICATION_SLOT <slot> LOGICAL event_decoder unless it exists. *created tells which.
	ReplStatus EnsureSlot(const std::string &slot, bool *created, std::string *error);
	// START_REPLICATION SLOT <slot> LOGICAL <start><plugin_options>; plugin_options is
	// PluginOptionsSql(config) (" (event_types '…', …)" or ""). kSlotBusy when another process
	// streams from it.
	ReplStatus Start(const std::string &slot, Lsn start, const std::string &plugin_options, std::string *error);

	int Socket() const;
	// Next CopyData message (valid until the next Read), kNone when nothing is buffered.
	ReadStatus Read(std::string_view *message, std::string *error);
	// Sends a standby status update and flushes what the socket takes.
	bool SendStatus(Lsn write, Lsn flush, bool reply_requested, std::string *error);
	// True if output is still queued in libpq (poll for POLLOUT).
	bool WantsWrite() const;
	bool FlushOutput(std::string *error);
	// Ends the copy (CopyDone) and closes; best effort.
	void Close();
	bool IsOpen() const { return conn_ != nullptr; }

private:
	PgConnPtr conn_;
	PgBufferPtr buffer_;
	bool streaming_ = false;
	bool want_write_ = false;
};

} // namespace event::sidecar::relay
