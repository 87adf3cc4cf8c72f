// relay.hpp — the relay loop: slot -> JetStream, with LSN confirmation after acks.
//
// One thread owns the replication connection, the LSN tracker and the table of unacknowledged
// events; nats.c threads only hand back acknowledgements (nats/publisher.hpp). The loop:
//   1. (re)connects to PostgreSQL with exponential backoff (cap 10 s), or waits as standby while
//      another relay holds the slot (START_REPLICATION fails with SQLSTATE 55006);
//   2. applies JetStream acks: an acked event leaves the table and the tracker;
//   3. republishes, in their original order, events whose publish failed, was lost in a NATS
//      reconnect or was not acknowledged within --ack-timeout (same Nats-Msg-Id: JetStream drops
//      copies it already stored);
//   4. reads slot messages while fewer than --max-inflight events are unacknowledged and NATS is
//      usable (back-pressure: otherwise the stream is left unread, status updates continue);
//   5. sends standby status updates: write = last received, flush = apply = tracker's confirmed.
// On SIGTERM/SIGINT it stops reading, waits up to --drain-timeout for acks, sends a final status
// update and returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "config.hpp"
#include "metrics.hpp"
#include "nats/publisher.hpp"
#include "relay/lsn_tracker.hpp"
#include "relay/replication.hpp"

namespace event::sidecar::relay {

class Relay {
public:
	Relay(const Config &config, Metrics *metrics);
	~Relay();

	// Runs until *stop becomes true (then drains) or a fatal error; returns the exit code.
	int Run(const std::atomic<bool> *stop);
	// Wakes the loop from any thread or a signal handler (async-signal-safe).
	void Wake() noexcept;
	int WakeFd() const { return wake_fd_; }

private:
	using Clock = std::chrono::steady_clock;

	// An event handed to NATS and not yet acknowledged.
	struct Pending {
		Lsn lsn = 0;
		uint64_t seq = 0;
		std::string subject;
		std::string payload;
		Clock::time_point sent_at{};
		bool needs_publish = false;
		bool published_once = false;
	};

	void ConnectPostgres(Clock::time_point now);
	void DropPostgres(const std::string &why);
	void HandleNats(Clock::time_point now);
	void ApplyCompletions();
	void CheckAckTimeout(Clock::time_point now);
	void Republish(Clock::time_point now);
	void ReadStream(Clock::time_point now);
	void HandleMessage(std::string_view message, Clock::time_point now);
	void HandleEvent(std::string_view payload, Clock::time_point now);
	void PublishOne(const std::string &event_id, Pending &p, Clock::time_point now);
	void MaybeSendStatus(Clock::time_point now, bool force);
	void WaitForActivity(int timeout_ms);
	bool CanPublish() const;
	void UpdateGauges();

	const Config &config_;
	Metrics *metrics_;
	nats::Publisher publisher_;
	ReplicationConnection repl_;
	LsnTracker tracker_;

	std::unordered_map<std::string, Pending> pending_; // by event_id
	std::map<uint64_t, std::string> order_;            // seq -> event_id, publish order
	uint64_t next_seq_ = 1;
	size_t needs_publish_ = 0;

	bool streaming_ = false;
	bool standby_ = false;
	bool stream_ready_ = false;
	bool reply_requested_ = false;
	bool more_to_read_ = false;
	bool ever_connected_ = false;
	Clock::time_point next_pg_attempt_{};
	Clock::time_point next_stream_check_{};
	Clock::time_point retry_not_before_{};
	Clock::time_point last_status_{};
	int64_t pg_backoff_ms_ = 0;
	Lsn last_sent_flush_ = 0;
	Lsn last_logged_confirmed_ = 0;
	int wake_fd_ = -1;
};

} // namespace event::sidecar::relay
