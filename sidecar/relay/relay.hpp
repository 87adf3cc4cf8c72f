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
//   4. reads slot messages while the window (oldest unacknowledged event to newest) holds fewer
//      than --max-inflight events and NATS is usable (back-pressure: otherwise the stream is left
//      unread, status updates continue);
//   5. sends standby status updates: write = last received, flush = apply = tracker's confirmed.
// On SIGTERM/SIGINT it stops reading, waits up to --drain-timeout for acks, sends a final status
// update and returns.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config.hpp"
#include "metrics.hpp"
#include "nats/publisher.hpp"
#include "relay/decoded_message.hpp"
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

	// An event read from the slot, from its first publish until it leaves the window. Its id and
	// subject (both NUL-terminated for nats.c) and its payload share one allocation.
	struct Pending {
		std::string text; // event_id, '\0', subject, '\0', payload
		uint32_t subject_at = 0;
		uint32_t payload_at = 0;
		Lsn lsn = 0;
		int64_t commit_us = 0; // the event's commit_time (Unix µs), 0 if unknown
		Clock::time_point sent_at{};
		bool needs_publish = false;
		bool published_once = false;
		bool acked = false;

		const char *EventId() const { return text.data(); }
		std::string_view EventIdView() const { return std::string_view(text.data(), subject_at - 1); }
		const char *Subject() const { return text.data() + subject_at; }
		std::string_view Payload() const {
			return std::string_view(text.data() + payload_at, text.size() - payload_at);
		}
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
	void PublishOne(Pending &p, Clock::time_point now);
	// An event NATS can never accept (over max_payload): counted, logged as an error, and treated
	// as done so that the events behind it and the slot keep moving (docs/sidecar.md).
	void SkipUnpublishable(Pending &p, const std::string &error);
	size_t FindUnacked(std::string_view event_id) const;
	void MarkAllForRepublish(size_t *marked);
	void MaybeSendStatus(Clock::time_point now, bool force);
	void WaitForActivity(int timeout_ms);
	bool CanPublish() const;
	bool WindowFull() const { return static_cast<int64_t>(window_.size()) >= config_.max_inflight; }
	void UpdateGauges();

	const Config &config_;
	const std::string plugin_options_; // PluginOptionsSql(config_), sent with START_REPLICATION
	Metrics *metrics_;
	nats::Publisher publisher_;
	ReplicationConnection repl_;
	LsnTracker tracker_;

	// The window: every event from the oldest unacknowledged one to the newest, in publish order.
	// Acknowledged events leave from the front;
	// its size is what --max-inflight bounds, so memory stays bounded even if one old event waits
	// for a republish while newer ones are acknowledged.
	std::deque<Pending> window_;
	size_t unacked_ = 0;  // events in window_ not yet acknowledged
	size_t ack_hint_ = 0; // window_ index after the last acknowledged event: where the next ack usually is
	bool batch_can_publish_ = false; // CanPublish() at the start of the current read batch
	Lsn max_lsn_added_ = 0;
	// After a PostgreSQL reconnect the slot resends from the confirmed position: the ids of events
	// still awaiting their ack (views into Pending::text), so they are not published twice, until
	// the stream passes resent_guard_until_.
	std::unordered_set<std::string_view> resent_guard_;
	Lsn resent_guard_until_ = 0;
	size_t needs_publish_ = 0;
	std::vector<nats::Completion> completions_; // reused between ApplyCompletions calls
	DecodedMessage decoded_;                    // reused parse result

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
