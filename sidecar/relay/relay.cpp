// relay.cpp — the relay loop (see relay.hpp for the order of work in one iteration).
#include "relay/relay.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "log.hpp"
#include "relay/decoded_message.hpp"

namespace event::sidecar::relay {

namespace {

constexpr int64_t kPgBackoffStartMs = 250;
constexpr int64_t kPgBackoffCapMs = 10000;
constexpr int64_t kStandbyRetryMs = 1000;
constexpr int kReadBatch = 2000;                 // messages per loop iteration before servicing acks
constexpr auto kStatusInterval = std::chrono::seconds(1);
constexpr auto kStatusMinGap = std::chrono::milliseconds(100);
constexpr auto kRetryDelay = std::chrono::milliseconds(500);
// While the stream is ready and nothing of ours awaits an ack, it is looked up again this often:
// deleted (or lost with a nats-server's store) it is created again even when no event of ours is
// being published, since the frontend collector publishes into it too. Not while events are in
// flight: their failed publishes say so (no responders) without a request that would hold up
// this loop, and its ack timeouts, while nats-server hangs.
constexpr auto kStreamVerifyInterval = std::chrono::seconds(2);
constexpr size_t kNotFound = static_cast<size_t>(-1);

int64_t MsSince(std::chrono::steady_clock::time_point t, std::chrono::steady_clock::time_point now) {
	return std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count();
}

// Wall-clock time in microseconds since the Unix epoch (commit_time is wall clock too).
int64_t UnixMicrosNow() {
	return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
		.count();
}

} // namespace

Relay::Relay(const Config &config, Metrics *metrics)
	: config_(config), plugin_options_(PluginOptionsSql(config)), metrics_(metrics), publisher_(config, metrics, [this] { Wake(); }) {
	wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Relay::~Relay() {
	repl_.Close();
	publisher_.Close();
	if (wake_fd_ >= 0)
		close(wake_fd_);
}

void Relay::Wake() noexcept {
	uint64_t one = 1;
	if (wake_fd_ >= 0) {
		ssize_t r = write(wake_fd_, &one, sizeof one);
		(void)r;
	}
}

bool Relay::CanPublish() const { return stream_ready_ && publisher_.Connected(); }

void Relay::UpdateGauges() {
	metrics_->inflight = static_cast<int64_t>(unacked_);
	metrics_->confirmed_lsn = tracker_.Confirmed();
	metrics_->received_lsn = tracker_.Received();
	metrics_->replication_streaming = streaming_;
	metrics_->standby = standby_;
}

void Relay::ConnectPostgres(Clock::time_point now) {
	if (streaming_ || now < next_pg_attempt_)
		return;
	std::string error;
	auto backoff = [&](const char *what) {
		pg_backoff_ms_ = pg_backoff_ms_ == 0 ? kPgBackoffStartMs : std::min(pg_backoff_ms_ * 2, kPgBackoffCapMs);
		next_pg_attempt_ = now + std::chrono::milliseconds(pg_backoff_ms_);
		Log(LogLevel::kWarn, what, {{"error", error}, {"retry_in_ms", static_cast<long long>(pg_backoff_ms_)}});
		metrics_->postgres_up = false;
		repl_.Close();
	};
	if (repl_.Connect(config_.database_url, &error) != ReplStatus::kOk)
		return backoff("postgres: replication connection failed");
	bool created = false;
	if (repl_.EnsureSlot(config_.slot, &created, &error) != ReplStatus::kOk)
		return backoff("postgres: cannot create replication slot");
	if (created)
		Log(LogLevel::kInfo, "postgres: replication slot created", {{"plugin", "event_decoder"}});
	ReplStatus st = repl_.Start(config_.slot, tracker_.Confirmed(), plugin_options_, &error);
	if (st == ReplStatus::kSlotBusy) {
		if (!standby_)
			Log(LogLevel::kInfo, "standby: slot busy", {{"error", error}});
		standby_ = true;
		metrics_->postgres_up = true;
		repl_.Close();
		next_pg_attempt_ = now + std::chrono::milliseconds(kStandbyRetryMs);
		pg_backoff_ms_ = 0;
		UpdateGauges();
		return;
	}
	if (st != ReplStatus::kOk)
		return backoff("postgres: START_REPLICATION failed");
	if (ever_connected_) {
		metrics_->postgres_reconnects++;
		// The slot resends everything after the confirmed position, including events still
		// awaiting their ack here: remember those so they are not published twice.
		resent_guard_.clear();
		for (const Pending &p : window_)
			if (!p.acked)
				resent_guard_.insert(p.EventIdView());
		resent_guard_until_ = max_lsn_added_;
	}
	ever_connected_ = true;
	streaming_ = true;
	pg_backoff_ms_ = 0;
	metrics_->postgres_up = true;
	Log(LogLevel::kInfo, standby_ ? "replication started (took over from the previous relay)" : "replication started",
		{{"start_lsn", FormatLsn(tracker_.Confirmed())}, {"inflight", static_cast<long long>(unacked_)}});
	standby_ = false;
	last_status_ = Clock::time_point{};
	UpdateGauges();
}

void Relay::DropPostgres(const std::string &why) {
	Log(LogLevel::kWarn, "postgres: replication connection lost, reconnecting", {{"error", why}});
	repl_.Close();
	streaming_ = false;
	metrics_->postgres_up = false;
	pg_backoff_ms_ = 0;
	next_pg_attempt_ = Clock::now() + std::chrono::milliseconds(kPgBackoffStartMs);
	UpdateGauges();
}

void Relay::HandleNats(Clock::time_point now) {
	if (publisher_.TakeReconnected()) {
		// Acks for messages sent on the old connection may never come: take them back from
		// nats.c and republish everything unacknowledged, in order, before anything new.
		int reclaimed = publisher_.ReclaimPending();
		MarkAllForRepublish(nullptr);
		stream_ready_ = false;
		next_stream_check_ = now;
		if (unacked_ > 0)
			Log(LogLevel::kInfo, "nats: republishing unacknowledged events after reconnect",
				{{"events", static_cast<unsigned long long>(unacked_)}, {"reclaimed", reclaimed}});
	}
	if (stream_ready_ && unacked_ == 0 && publisher_.Connected() && now >= next_stream_check_) {
		next_stream_check_ = now + kStreamVerifyInterval;
		std::string error;
		if (!publisher_.StreamExists(&error)) {
			Log(LogLevel::kWarn, "nats: stream gone, creating it again", {{"stream", config_.stream_name}, {"error", error}});
			stream_ready_ = false;
			next_stream_check_ = now;
		}
	}
	if (!stream_ready_ && publisher_.Connected() && now >= next_stream_check_) {
		std::string error;
		if (publisher_.EnsureStream(&error)) {
			stream_ready_ = true;
			next_stream_check_ = now + kStreamVerifyInterval;
		} else {
			Log(LogLevel::kWarn, "nats: stream not ready", {{"stream", config_.stream_name}, {"error", error}});
			next_stream_check_ = now + std::chrono::seconds(1);
		}
	}
}

void Relay::MarkAllForRepublish(size_t *marked) {
	size_t n = 0;
	for (Pending &p : window_) {
		if (p.acked)
			continue;
		if (!p.needs_publish) {
			p.needs_publish = true;
			++needs_publish_;
			++n;
		}
	}
	if (marked)
		*marked = n;
}

void Relay::ApplyCompletions() {
	publisher_.TakeCompletions(&completions_);
	if (completions_.empty())
		return;
	const int64_t now_us = UnixMicrosNow();
	bool logged_error = false;
	for (auto &c : completions_) {
		const size_t at = FindUnacked(c.EventId());
		if (at == kNotFound)
			continue; // a late ack for an event already acknowledged
		Pending &p = window_[at];
		ack_hint_ = at + 1;
		if (c.ok) {
			metrics_->events_acked++;
			if (c.duplicate)
				metrics_->events_duplicate++;
			if (p.commit_us != 0)
				metrics_->commit_to_ack.Observe(now_us - p.commit_us);
			if (p.needs_publish) {
				p.needs_publish = false;
				--needs_publish_;
			}
			tracker_.Ack(p.lsn);
			if (!resent_guard_.empty())
				resent_guard_.erase(p.EventIdView()); // before the text the view points into is released
			p.acked = true;
			--unacked_;
			std::string().swap(p.text);
			p.subject_at = 1;
			p.payload_at = 0;
			continue;
		}
		metrics_->publish_errors++;
		if (c.no_responders)
			stream_ready_ = false;
		if (!logged_error) {
			Log(LogLevel::kWarn, "nats: publish failed, will republish",
				{{"event_id", p.EventIdView()}, {"error", c.error}});
			logged_error = true;
		}
		if (!p.needs_publish) {
			p.needs_publish = true;
			++needs_publish_;
		}
		retry_not_before_ = Clock::now() + kRetryDelay;
	}
	// Acknowledged events leave the window from the front (acks mostly arrive in publish order).
	while (!window_.empty() && window_.front().acked) {
		window_.pop_front();
		if (ack_hint_ > 0)
			--ack_hint_;
	}
	UpdateGauges();
}

size_t Relay::FindUnacked(std::string_view event_id) const {
	// Acks arrive in publish order, so the event after the previous match (or the front) is
	// almost always the one; anything else (a late or reordered ack) falls back to a scan of the
	// window, which --max-inflight bounds.
	auto matches = [&](const Pending &p) { return !p.acked && p.EventIdView() == event_id; };
	if (ack_hint_ < window_.size() && matches(window_[ack_hint_]))
		return ack_hint_;
	for (size_t i = 0; i < window_.size(); ++i)
		if (matches(window_[i]))
			return i;
	return kNotFound;
}

void Relay::CheckAckTimeout(Clock::time_point now) {
	if (unacked_ == 0 || !CanPublish())
		return;
	// The oldest unacknowledged publish decides: acks arrive in publish order.
	for (const Pending &p : window_) {
		if (p.acked || p.needs_publish)
			continue;
		if (MsSince(p.sent_at, now) < config_.ack_timeout_ms)
			return;
		break;
	}
	int reclaimed = publisher_.ReclaimPending();
	size_t n = 0;
	MarkAllForRepublish(&n);
	if (n == 0)
		return;
	metrics_->publish_errors += n;
	Log(LogLevel::kWarn, "nats: acknowledgement timeout, republishing",
		{{"events", static_cast<unsigned long long>(n)}, {"reclaimed", reclaimed},
		 {"ack_timeout_ms", static_cast<long long>(config_.ack_timeout_ms)}});
}

void Relay::Republish(Clock::time_point now) {
	if (needs_publish_ == 0 || !CanPublish() || now < retry_not_before_)
		return;
	for (Pending &p : window_) {
		if (p.acked || !p.needs_publish)
			continue;
		PublishOne(p, now);
		if (p.needs_publish)
			break; // still failing: keep the order, try again later
	}
}

void Relay::PublishOne(Pending &p, Clock::time_point now) {
	std::string error;
	nats::PublishResult r = publisher_.Publish(p.EventId(), p.Subject(), p.Payload(), &error);
	bool was_needed = p.needs_publish;
	if (r == nats::PublishResult::kOk) {
		if (p.published_once)
			metrics_->republished++;
		p.published_once = true;
		p.sent_at = now;
		p.needs_publish = false;
		if (was_needed)
			--needs_publish_;
		return;
	}
	if (r == nats::PublishResult::kTooLarge) {
		SkipUnpublishable(p, error);
		return;
	}
	if (r == nats::PublishResult::kError) {
		metrics_->publish_errors++;
		Log(LogLevel::kWarn, "nats: publish call failed, will retry", {{"event_id", p.EventIdView()}, {"error", error}});
	}
	retry_not_before_ = now + kRetryDelay;
	if (!was_needed) {
		p.needs_publish = true;
		++needs_publish_;
	}
}

void Relay::SkipUnpublishable(Pending &p, const std::string &error) {
	metrics_->events_unpublishable++;
	Log(LogLevel::kError, "nats: event can never be published, skipped (alarm: /health is degraded)",
		{{"event_id", p.EventIdView()},
		 {"subject", std::string(p.Subject())},
		 {"lsn", FormatLsn(p.lsn)},
		 {"error", error}});
	if (p.needs_publish) {
		p.needs_publish = false;
		--needs_publish_;
	}
	tracker_.Ack(p.lsn); // the slot may pass it: it is recorded here and in the log, not retried
	if (!resent_guard_.empty())
		resent_guard_.erase(p.EventIdView());
	p.acked = true;
	--unacked_;
	std::string().swap(p.text);
	p.subject_at = 1;
	p.payload_at = 0;
}

void Relay::HandleEvent(std::string_view payload, Clock::time_point now) {
	DecodedMessage &m = decoded_;
	ParseDecodedMessage(payload, &m);
	if (m.kind == DecodedKind::kHeartbeat) {
		metrics_->heartbeats_received++;
		tracker_.Observe(m.lsn);
		return;
	}
	if (m.kind != DecodedKind::kEvent) {
		// Not publishable; logged and skipped so one bad message cannot stall the slot forever.
		metrics_->decode_errors++;
		Log(LogLevel::kError, "decode: skipping malformed message (alarm: /health is degraded)",
			{{"error", m.error}, {"payload", std::string(payload.substr(0, 200))}});
		return;
	}
	metrics_->events_received++;
	if (!resent_guard_.empty()) {
		if (m.lsn > resent_guard_until_)
			resent_guard_.clear(); // past everything that can have been resent
		else if (resent_guard_.count(m.event_id))
			return; // resent after a PostgreSQL reconnect while still awaiting its ack
	}
	tracker_.Add(m.lsn);
	max_lsn_added_ = std::max(max_lsn_added_, m.lsn);
	window_.emplace_back();
	Pending &p = window_.back();
	p.lsn = m.lsn;
	p.commit_us = m.commit_time_us;
	// One buffer: event_id NUL subject NUL payload.
	p.text.reserve(m.event_id.size() + m.event_source.size() + m.event_category.size() + m.event_type.size() +
				   payload.size() + 16);
	p.text.append(m.event_id);
	p.text += '\0';
	p.subject_at = static_cast<uint32_t>(p.text.size());
	AppendSubject(&p.text, m);
	p.text += '\0';
	p.payload_at = static_cast<uint32_t>(p.text.size());
	p.text.append(payload);
	++unacked_;
	if (needs_publish_ > 0 || !batch_can_publish_) {
		p.needs_publish = true; // behind earlier failed ones: keep the order
		++needs_publish_;
		return;
	}
	PublishOne(p, now);
}

void Relay::HandleMessage(std::string_view message, Clock::time_point now) {
	CopyMessage m = ParseCopyMessage(message.data(), message.size());
	switch (m.kind) {
	case CopyMessageKind::kXLogData:
		HandleEvent(m.xlog.payload, now);
		break;
	case CopyMessageKind::kKeepalive:
		tracker_.Observe(m.keepalive.wal_end);
		if (m.keepalive.reply_requested)
			reply_requested_ = true;
		break;
	case CopyMessageKind::kUnknown:
		Log(LogLevel::kDebug, "postgres: ignoring unknown copy message",
			{{"type", std::string(1, message.empty() ? '?' : message[0])}});
		break;
	case CopyMessageKind::kMalformed:
		Log(LogLevel::kWarn, "postgres: malformed copy message", {{"bytes", static_cast<unsigned long long>(message.size())}});
		break;
	}
}

void Relay::ReadStream(Clock::time_point now) {
	more_to_read_ = false;
	if (!streaming_)
		return;
	batch_can_publish_ = CanPublish();
	bool paused = WindowFull() || !batch_can_publish_;
	metrics_->backpressure = paused;
	if (paused)
		return;
	for (int i = 0; i < kReadBatch; ++i) {
		if (WindowFull()) {
			metrics_->backpressure = true;
			break;
		}
		std::string_view msg;
		std::string error;
		ReadStatus st = repl_.Read(&msg, &error);
		if (st == ReadStatus::kNone)
			break;
		if (st == ReadStatus::kClosed) {
			DropPostgres(error);
			return;
		}
		HandleMessage(msg, now);
		if (i + 1 == kReadBatch)
			more_to_read_ = true;
	}
	UpdateGauges();
}

void Relay::MaybeSendStatus(Clock::time_point now, bool force) {
	if (!streaming_)
		return;
	Lsn flush = tracker_.Confirmed();
	bool due = force || reply_requested_ || now - last_status_ >= kStatusInterval ||
			   (flush != last_sent_flush_ && now - last_status_ >= kStatusMinGap);
	if (!due)
		return;
	std::string error;
	Lsn write = std::max(tracker_.Received(), flush);
	if (!repl_.SendStatus(write, flush, false, &error)) {
		DropPostgres(error);
		return;
	}
	metrics_->status_updates_sent++;
	reply_requested_ = false;
	last_status_ = now;
	if (flush != last_sent_flush_)
		Log(LogLevel::kDebug, "confirmed", {{"flush_lsn", FormatLsn(flush)}});
	last_sent_flush_ = flush;
}

void Relay::WaitForActivity(int timeout_ms) {
	struct pollfd fds[2];
	int n = 0;
	fds[n++] = {wake_fd_, POLLIN, 0};
	bool reading = streaming_ && !WindowFull() && CanPublish();
	if (streaming_ && (reading || repl_.WantsWrite())) {
		short events = 0;
		if (reading)
			events |= POLLIN;
		if (repl_.WantsWrite())
			events |= POLLOUT;
		fds[n++] = {repl_.Socket(), events, 0};
	}
	int r = poll(fds, static_cast<nfds_t>(n), timeout_ms);
	if (r > 0 && (fds[0].revents & POLLIN)) {
		uint64_t v;
		ssize_t ignored = read(wake_fd_, &v, sizeof v);
		(void)ignored;
	}
	if (r > 0 && n > 1 && (fds[1].revents & POLLOUT)) {
		std::string error;
		if (!repl_.FlushOutput(&error))
			DropPostgres(error);
	}
}

int Relay::Run(const std::atomic<bool> *stop) {
	if (wake_fd_ < 0) {
		Log(LogLevel::kError, "eventfd failed", {{"errno", errno}});
		return 1;
	}
	std::string error;
	if (!publisher_.Start(&error)) {
		Log(LogLevel::kError, "nats: cannot start", {{"error", error}});
		return 1;
	}
	while (!stop->load()) {
		auto now = Clock::now();
		ConnectPostgres(now);
		HandleNats(now);
		ApplyCompletions();
		CheckAckTimeout(now);
		Republish(now);
		ReadStream(now);
		MaybeSendStatus(now, false);
		UpdateGauges();
		if (stop->load())
			break;
		// A full read batch means more is waiting: only collect wake-ups, then come straight back.
		WaitForActivity(more_to_read_ ? 0 : 100);
	}

	// Drain: no more reading; wait for in-flight acks, then confirm what they cover.
	Log(LogLevel::kInfo, "shutdown: draining", {{"inflight", static_cast<unsigned long long>(unacked_)}});
	auto deadline = Clock::now() + std::chrono::milliseconds(config_.drain_timeout_ms);
	while (unacked_ > 0 && Clock::now() < deadline) {
		auto now = Clock::now();
		HandleNats(now);
		ApplyCompletions();
		CheckAckTimeout(now);
		Republish(now);
		MaybeSendStatus(now, false);
		WaitForActivity(50);
	}
	ApplyCompletions();
	MaybeSendStatus(Clock::now(), true);
	if (streaming_) {
		std::string ferr;
		for (int i = 0; i < 50 && repl_.WantsWrite() && repl_.FlushOutput(&ferr); ++i)
			WaitForActivity(20);
	}
	Log(LogLevel::kInfo, unacked_ == 0 ? "shutdown: drained" : "shutdown: drain timeout, unacknowledged events will be resent by the next relay",
		{{"confirmed_lsn", FormatLsn(tracker_.Confirmed())},
		 {"inflight", static_cast<unsigned long long>(unacked_)}});
	repl_.Close();
	streaming_ = false;
	UpdateGauges();
	publisher_.Close();
	return 0;
}

} // namespace event::sidecar::relay
