// replication.cpp — libpq CopyBoth reader for the event_decoder slot (model: pg_recvlogical.c).
#include "relay/replication.hpp"

#include <cstring>

namespace event::sidecar::relay {

namespace {

constexpr char kSqlstateObjectInUse[] = "55006";
constexpr char kSqlstateDuplicateObject[] = "42710";

bool HasSqlstate(const PGresult *res, const char *code) {
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
	return state && std::strcmp(state, code) == 0;
}

} // namespace

ReplStatus ReplicationConnection::Connect(const std::string &url, std::string *error) {
	Close();
	conn_ = PgConnect(url, "database", "event-sidecar");
	if (PQstatus(conn_.get()) != CONNECTION_OK) {
		*error = PgError(conn_.get());
		conn_.reset();
		return ReplStatus::kFailed;
	}
	return ReplStatus::kOk;
}

ReplStatus ReplicationConnection::EnsureSlot(const std::string &slot, bool *created, std::string *error) {
	*created = false;
	// Slot names are validated by the config parser ([a-z0-9_]), so they need no quoting.
	std::string sql = "CREATE_REPLICATION_SLOT " + slot + " LOGICAL event_decoder (SNAPSHOT 'nothing')";
	PgResultPtr res(PQexec(conn_.get(), sql.c_str()));
	if (PQresultStatus(res.get()) == PGRES_TUPLES_OK) {
		*created = true;
		return ReplStatus::kOk;
	}
	if (HasSqlstate(res.get(), kSqlstateDuplicateObject))
		return ReplStatus::kOk;
	*error = PgResultError(res.get());
	return ReplStatus::kFailed;
}

ReplStatus ReplicationConnection::Start(const std::string &slot, Lsn start, const std::string &plugin_options,
                                        std::string *error) {
	std::string sql = "START_REPLICATION SLOT " + slot + " LOGICAL " + FormatLsn(start) + plugin_options;
	PgResultPtr res(PQexec(conn_.get(), sql.c_str()));
	if (PQresultStatus(res.get()) == PGRES_COPY_BOTH) {
		streaming_ = true;
		if (PQsetnonblocking(conn_.get(), 1) != 0) {
			*error = PgError(conn_.get());
			return ReplStatus::kFailed;
		}
		return ReplStatus::kOk;
	}
	*error = PgResultError(res.get());
	if (HasSqlstate(res.get(), kSqlstateObjectInUse))
		return ReplStatus::kSlotBusy;
	return ReplStatus::kFailed;
}

int ReplicationConnection::Socket() const { return conn_ ? PQsocket(conn_.get()) : -1; }

ReadStatus ReplicationConnection::Read(std::string_view *message, std::string *error) {
	buffer_.reset();
	char *raw = nullptr;
	int len = PQgetCopyData(conn_.get(), &raw, 1);
	if (len == 0) {
		// Nothing buffered: pull what the socket has, then try once more.
		if (!PQconsumeInput(conn_.get())) {
			*error = PgError(conn_.get());
			return ReadStatus::kClosed;
		}
		len = PQgetCopyData(conn_.get(), &raw, 1);
	}
	if (len > 0) {
		buffer_.reset(raw);
		*message = std::string_view(raw, static_cast<size_t>(len));
		return ReadStatus::kMessage;
	}
	if (len == 0)
		return ReadStatus::kNone;
	if (len == -1) {
		// The server ended the copy; its final result carries the reason.
		PgResultPtr res(PQgetResult(conn_.get()));
		*error = res && PQresultStatus(res.get()) != PGRES_COMMAND_OK ? PgResultError(res.get())
																		 : std::string("replication stream ended by the server");
		streaming_ = false;
		return ReadStatus::kClosed;
	}
	*error = PgError(conn_.get());
	return ReadStatus::kClosed;
}

bool ReplicationConnection::SendStatus(Lsn write, Lsn flush, bool reply_requested, std::string *error) {
	std::string msg = BuildStandbyStatus(write, flush, flush, PgNowMicros(), reply_requested);
	if (PQputCopyData(conn_.get(), msg.data(), static_cast<int>(msg.size())) <= 0) {
		*error = PgError(conn_.get());
		return false;
	}
	return FlushOutput(error);
}

bool ReplicationConnection::WantsWrite() const { return want_write_; }

bool ReplicationConnection::FlushOutput(std::string *error) {
	int r = PQflush(conn_.get());
	if (r < 0) {
		*error = PgError(conn_.get());
		return false;
	}
	want_write_ = r == 1;
	return true;
}

void ReplicationConnection::Close() {
	buffer_.reset();
	if (conn_ && streaming_) {
		// Best effort: tell the walsender we are done so it releases the slot at once.
		PQsetnonblocking(conn_.get(), 0);
		if (PQputCopyEnd(conn_.get(), nullptr) > 0)
			PQflush(conn_.get());
	}
	streaming_ = false;
	want_write_ = false;
	conn_.reset();
}

} // namespace event::sidecar::relay
