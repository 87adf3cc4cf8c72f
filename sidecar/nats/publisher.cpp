// publisher.cpp — nats.c connection, JetStream stream setup and async publish with acks.
#include "nats/publisher.hpp"

#include "nats/connect_options.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "log.hpp"

// nats.c 3.4 (Debian's libnats, DEB_PACKAGES) exports two functions of its private msg.h that
// the tracked publishing uses: a message made with its header block as raw bytes (no header
// hash map to build and encode per message), and freeing a message at once (natsMsg_Destroy
// hands every message to the library's garbage-collector thread: a lock, a wake-up and a free
// from another thread per message). Other versions take the public calls.
#if NATS_VERSION_MAJOR == 3 && NATS_VERSION_MINOR == 4
#define EVENT_NATS_RAW_MESSAGES 1
extern "C" {
natsStatus natsMsg_create(natsMsg **newMsg, const char *subject, int subjLen, const char *reply, int replyLen,
                          const char *buf, int bufLen, int hdrLen);
void natsMsg_free(void *object);
}
#endif

namespace event::sidecar::nats {

namespace {

constexpr int64_t kNanosPerMs = 1000000;

// A JetStream retention policy as --stream-retention spells it.
const char *RetentionText(jsRetentionPolicy p) {
	switch (p) {
	case js_LimitsPolicy:
		return "limits";
	case js_InterestPolicy:
		return "interest";
	case js_WorkQueuePolicy:
		return "workqueue";
	}
	return "unknown";
}

} // namespace

Publisher::Publisher(const Config &config, Metrics *metrics, std::function<void()> wake)
	: config_(config), metrics_(metrics), wake_(std::move(wake)) {}

Publisher::~Publisher() { Close(); }

bool Publisher::Start(std::string *error) {
	natsOptions *raw = nullptr;
	natsStatus s = natsOptions_Create(&raw);
	if (s != NATS_OK) {
		*error = "nats options: " + StatusText(s);
		return false;
	}
	opts_.reset(raw);
	natsOptions *o = opts_.get();
	Chain c;
	// Options are applied one by one so the error names the bad one; the chain stops at it.
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetURL(o, config_.nats_url.c_str()), "--nats-url");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetName(o, "event-sidecar"), "name");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetMaxReconnect(o, -1), "max reconnect");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetCustomReconnectDelay(o, &Publisher::ReconnectDelay, this), "reconnect delay");
	// A tiny reconnect buffer makes publishes fail while disconnected instead of being queued
	// behind the messages lost with the old socket; the relay republishes them in order.
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetReconnectBufSize(o, 1), "reconnect buffer");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetTimeout(o, 2000), "timeout");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetPingInterval(o, 5000), "ping interval");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetMaxPingsOut(o, 2), "max pings out");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetDisconnectedCB(o, &Publisher::OnDisconnected, this), "disconnected callback");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetReconnectedCB(o, &Publisher::OnReconnected, this), "reconnected callback");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetClosedCB(o, &Publisher::OnClosed, this), "closed callback");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetErrorHandler(o, &Publisher::OnAsyncError, this), "error handler");
	if (c.s != NATS_OK) {
		*error = ChainError(c);
		return false;
	}
	if (!ApplyAuthOptions(o, config_, error))
		return false;
	return Connect(error);
}

bool Publisher::Connect(std::string *error) {
	natsOptions *o = opts_.get();
	const std::string url = RedactUrl(config_.nats_url);
	// First attempt in the foreground and without retries: nats.c's background retries report no
	// reason before the first success, so this is where a wrong password or an untrusted
	// certificate gets logged.
	natsConnection *nc = nullptr;
	natsStatus s = natsOptions_SetRetryOnFailedConnect(o, false, nullptr, nullptr);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, o);
	if (s == NATS_OK) {
		conn_.reset(nc);
		metrics_->nats_up = true;
		Log(LogLevel::kInfo, "nats: connected", {{"url", url}});
	} else {
		std::string detail = LastErrorText();
		std::string reason = StatusText(s) + (detail.empty() || detail == StatusText(s) ? "" : ": " + detail);
		if (s != NATS_NO_SERVER) {
			// Reached a server but the handshake failed (authentication, TLS, protocol). nats.c 3.4
			// cannot retry those in the background (it closes the connection after the second
			// identical authentication error, and at once after a failed first handshake), so
			// TakeReconnected retries with backoff.
			Log(LogLevel::kError,
				s == NATS_CONNECTION_AUTH_FAILED ? "nats: authentication failed, will retry" : "nats: cannot connect, will retry",
				{{"url", url}, {"error", reason}});
			closed_ = true;
			return true;
		}
		Log(LogLevel::kWarn, "nats: cannot connect yet, retrying in the background", {{"url", url}, {"error", reason}});
		s = natsOptions_SetRetryOnFailedConnect(o, true, &Publisher::OnConnected, this);
		if (s == NATS_OK)
			s = natsConnection_Connect(&nc, o);
		if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
			*error = "nats connect: " + StatusText(s);
			return false;
		}
		conn_.reset(nc);
	}

	if (tracked_handler_) {
		natsInbox *inbox = nullptr;
		s = natsInbox_Create(&inbox);
		if (s == NATS_OK) {
			tracked_prefix_ = std::string(inbox) + ".";
			natsInbox_Destroy(inbox);
			natsSubscription *sub = nullptr;
			s = natsConnection_Subscribe(&sub, conn_.get(), (tracked_prefix_ + "*").c_str(), &Publisher::OnTrackedReply,
			                             this);
			tracked_sub_.reset(sub);
		}
		if (s == NATS_OK)
			s = natsSubscription_SetPendingLimits(tracked_sub_.get(), -1, -1);
		if (s != NATS_OK) {
			*error = "reply subscription: " + StatusText(s);
			return false;
		}
	}

	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	jo.PublishAsync.MaxPending = config_.max_inflight;
	jo.PublishAsync.AckHandler = &Publisher::OnAck;
	jo.PublishAsync.AckHandlerClosure = this;
	jo.PublishAsync.StallWait = 50;
	jsCtx *js = nullptr;
	async_used_ = false;
	s = natsConnection_JetStream(&js, conn_.get(), &jo);
	if (s != NATS_OK) {
		*error = "jetstream context: " + StatusText(s);
		return false;
	}
	js_.reset(js);
	return true;
}

bool Publisher::Connected() const {
	return conn_ && natsConnection_Status(conn_.get()) == NATS_CONN_STATUS_CONNECTED;
}

bool Publisher::EnsureStream(std::string *error) {
	if (!Connected()) {
		*error = "not connected";
		return false;
	}
	const char *subjects[] = {"events.>"};
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = config_.stream_name.c_str();
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	switch (config_.stream_retention) {
	case StreamRetention::kLimits:
		cfg.Retention = js_LimitsPolicy;
		break;
	case StreamRetention::kInterest:
		cfg.Retention = js_InterestPolicy;
		break;
	case StreamRetention::kWorkQueue:
		cfg.Retention = js_WorkQueuePolicy;
		break;
	}
	cfg.Storage = js_FileStorage;
	cfg.MaxAge = config_.stream_max_age_ms * kNanosPerMs;
	cfg.MaxBytes = config_.stream_max_bytes;
	cfg.Replicas = config_.stream_replicas;
	cfg.Duplicates = config_.stream_duplicate_window_ms * kNanosPerMs;

	jsStreamInfo *raw = nullptr;
	jsErrCode jerr = static_cast<jsErrCode>(0);
	natsStatus s = js_GetStreamInfo(&raw, js_.get(), cfg.Name, nullptr, &jerr);
	StreamInfoPtr info(raw);
	if (s == NATS_NOT_FOUND) {
		jsStreamInfo *created = nullptr;
		s = js_AddStream(&created, js_.get(), &cfg, nullptr, &jerr);
		StreamInfoPtr created_info(created);
		if (s != NATS_OK) {
			*error = "create stream " + config_.stream_name + ": " + StatusText(s) + " (" + LastErrorText() +
					 ")";
			return false;
		}
		Log(LogLevel::kInfo, "nats: stream created",
			{{"stream", config_.stream_name}, {"subjects", "events.>"}, {"replicas", config_.stream_replicas},
			 {"retention", RetentionText(cfg.Retention)}});
		return true;
	}
	if (s != NATS_OK) {
		*error = "stream info " + config_.stream_name + ": " + StatusText(s);
		return false;
	}
	const jsStreamConfig *have = info->Config;
	bool covers = false;
	for (int i = 0; i < have->SubjectsLen; ++i)
		if (std::string_view(have->Subjects[i]) == "events.>")
			covers = true;
	bool same = covers && have->MaxAge == cfg.MaxAge && have->MaxBytes == cfg.MaxBytes &&
				have->Duplicates == cfg.Duplicates && have->Retention == cfg.Retention;
	if (have->Replicas != cfg.Replicas)
		Log(LogLevel::kWarn, "nats: stream has a different replica count than configured; left unchanged",
			{{"stream", config_.stream_name}, {"have", static_cast<long long>(have->Replicas)},
			 {"want", config_.stream_replicas}});
	if (same)
		return true;
	// Keep the existing subjects (adding events.>) and replicas/storage; update the limits.
	std::vector<const char *> subs;
	for (int i = 0; i < have->SubjectsLen; ++i)
		subs.push_back(have->Subjects[i]);
	if (!covers)
		subs.push_back("events.>");
	cfg.Subjects = subs.data();
	cfg.SubjectsLen = static_cast<int>(subs.size());
	cfg.Replicas = have->Replicas;
	cfg.Storage = have->Storage;
	jsStreamInfo *updated = nullptr;
	s = js_UpdateStream(&updated, js_.get(), &cfg, nullptr, &jerr);
	StreamInfoPtr updated_info(updated);
	if (s != NATS_OK) {
		*error = "update stream " + config_.stream_name + ": " + StatusText(s) + " (" + LastErrorText() +
				 ")";
		if (have->Retention != cfg.Retention)
			*error += std::string("; the stream has retention ") + RetentionText(have->Retention) + ", configured " +
					  RetentionText(cfg.Retention) + " (--stream-retention)";
		return false;
	}
	Log(LogLevel::kInfo, "nats: stream updated to the configured limits",
		{{"stream", config_.stream_name}, {"retention", RetentionText(cfg.Retention)}});
	return true;
}

bool Publisher::StreamExists(std::string *error) {
	jsStreamInfo *raw = nullptr;
	jsErrCode jerr = static_cast<jsErrCode>(0);
	jsOptions o;
	jsOptions_Init(&o);
	o.Wait = 1000; // ms: the relay's loop waits for this (only when it has nothing in flight)
	natsStatus s = js_GetStreamInfo(&raw, js_.get(), config_.stream_name.c_str(), &o, &jerr);
	StreamInfoPtr info(raw);
	if (StreamOrConsumerMissing(s, jerr)) {
		*error = "stream " + config_.stream_name + " not found";
		return false;
	}
	return true;
}

PublishResult Publisher::Publish(const char *event_id, const char *subject, std::string_view payload,
								 std::string *error) {
	if (!Connected())
		return PublishResult::kNotConnected;
	natsMsg *raw = nullptr;
	natsStatus s = natsMsg_Create(&raw, subject, nullptr, payload.data(), static_cast<int>(payload.size()));
	MsgPtr msg(raw);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", event_id);
	if (s == NATS_OK) {
		natsMsg *m = msg.release();
		async_used_ = true;
		s = js_PublishMsgAsync(js_.get(), &m, nullptr);
		msg.reset(m); // nullptr when the library took ownership
	}
	return Result(s, payload.size(), error);
}

PublishResult Publisher::PublishTracked(uint64_t token, const char *event_id, const char *subject,
                                        std::string_view payload, std::string *error) {
	if (!tracked_sub_ || !Connected())
		return PublishResult::kNotConnected;
	char reply[160];
	size_t n = tracked_prefix_.copy(reply, sizeof reply - 24);
	auto [end, ec] = std::to_chars(reply + n, reply + sizeof reply - 1, token);
	(void)ec; // 20 digits always fit
	*end = '\0';
	natsMsg *raw = nullptr;
#ifdef EVENT_NATS_RAW_MESSAGES
	// The header block and the payload in one buffer (event ids are UUIDs: no CR or LF).
	thread_local std::string block;
	block.assign("NATS/1.0\r\nNats-Msg-Id: ");
	block += event_id;
	block += "\r\n\r\n";
	const int header_len = static_cast<int>(block.size());
	block.append(payload.data(), payload.size());
	natsStatus s = natsMsg_create(&raw, subject, static_cast<int>(std::strlen(subject)), reply,
	                              static_cast<int>(end - reply), block.data(), static_cast<int>(block.size()), header_len);
	if (s == NATS_OK) {
		s = natsConnection_PublishMsg(conn_.get(), raw);
		natsMsg_free(raw);
	}
#else
	natsStatus s = natsMsg_Create(&raw, subject, reply, payload.data(), static_cast<int>(payload.size()));
	MsgPtr msg(raw);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", event_id);
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(conn_.get(), msg.get());
#endif
	return Result(s, payload.size(), error);
}

PublishResult Publisher::Result(natsStatus s, size_t payload_size, std::string *error) {
	if (s == NATS_OK) {
		metrics_->events_published++;
		return PublishResult::kOk;
	}
	*error = StatusText(s);
	if (s == NATS_MAX_PAYLOAD) {
		// nats.c checks payload + headers against the server's max_payload before sending; the
		// same message will fail the same way every time, so this is not a retryable error.
		*error += " (" + std::to_string(payload_size) + " bytes of payload, server max_payload " +
				  std::to_string(natsConnection_GetMaxPayload(conn_.get())) + ")";
		return PublishResult::kTooLarge;
	}
	if (s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED || s == NATS_INSUFFICIENT_BUFFER ||
		!Connected())
		return PublishResult::kNotConnected;
	return PublishResult::kError;
}

void Publisher::TakeCompletions(std::vector<Completion> *out) {
	out->clear();
	std::lock_guard<std::mutex> lock(mutex_);
	out->swap(completions_);
}

bool Publisher::TakeReconnected() {
	MaybeRestart();
	return reconnected_.exchange(false);
}

// Replaces a connection that nats.c closed for good, after 1 s, 2 s, 4 s … (at most 30 s).
void Publisher::MaybeRestart() {
	if (!closed_.load() || closing_.load()) {
		if (Connected())
			restart_attempts_ = 0;
		return;
	}
	auto now = std::chrono::steady_clock::now();
	if (!restart_pending_) {
		int64_t delay = 1000;
		for (int i = 0; i < restart_attempts_ && delay < 30000; ++i)
			delay *= 2;
		delay = std::min<int64_t>(delay, 30000);
		++restart_attempts_;
		restart_pending_ = true;
		next_restart_ = now + std::chrono::milliseconds(delay);
		Log(LogLevel::kInfo, "nats: reconnecting", {{"url", RedactUrl(config_.nats_url)}, {"in_ms", static_cast<long long>(delay)}});
		return;
	}
	if (now < next_restart_)
		return;
	restart_pending_ = false;
	closed_ = false;
	js_.reset();
	tracked_sub_.reset();
	conn_.reset();
	metrics_->nats_reconnects++;
	std::string error;
	if (!Connect(&error)) {
		Log(LogLevel::kError, "nats: reconnect failed", {{"error", error}});
		closed_ = true;
	} else if (Connected()) {
		reconnected_ = true;
	}
}

int Publisher::ReclaimPending() {
	// nats.c 3.4 creates its pending map at the first async publish and crashes on a context
	// that never published (e.g. the first connect happened in the background).
	if (!js_ || !async_used_)
		return 0;
	natsMsgList pending{};
	natsStatus s = js_PublishAsyncGetPendingList(&pending, js_.get());
	if (s != NATS_OK)
		return 0; // NATS_NOT_FOUND: nothing pending
	int n = pending.Count;
	natsMsgList_Destroy(&pending);
	return n;
}

void Publisher::Close() {
	closing_ = true;
	if (conn_) {
		natsConnection_FlushTimeout(conn_.get(), 1000);
		natsConnection_Close(conn_.get());
	}
	js_.reset();
	tracked_sub_.reset();
	conn_.reset();
	opts_.reset();
}

void Publisher::Wake() noexcept {
	try {
		if (wake_)
			wake_();
	} catch (...) {
	}
}

void Publisher::OnAck(jsCtx *, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	bool wake = true;
	try {
		Completion c;
		const char *id = nullptr;
		if (msg && natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id)
			c.SetEventId(id);
		if (pa) {
			c.ok = true;
			c.duplicate = pa->Duplicate;
		} else if (pae) {
			c.ok = false;
			c.no_responders = pae->Err == NATS_NO_RESPONDERS;
			c.error = StatusText(pae->Err);
			if (pae->ErrText)
				c.error += std::string(": ") + pae->ErrText;
		}
		{
			std::lock_guard<std::mutex> lock(self->mutex_);
			// The relay takes the whole queue at once, so only the first completion after a take
			// needs to wake it: one eventfd write per batch instead of one per acknowledgement.
			wake = self->completions_.empty();
			self->completions_.push_back(std::move(c));
		}
	} catch (...) {
		Log(LogLevel::kError, "nats: ack handler failed");
	}
	natsMsg_Destroy(msg);
	if (wake)
		self->Wake();
}

void Publisher::OnTrackedReply(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		const char *subject = natsMsg_GetSubject(msg);
		std::string_view token_text = subject ? subject : "";
		token_text.remove_prefix(std::min(token_text.size(), self->tracked_prefix_.size()));
		uint64_t token = 0;
		auto [end, ec] = std::from_chars(token_text.data(), token_text.data() + token_text.size(), token);
		if (ec == std::errc() && end == token_text.data() + token_text.size() && !token_text.empty()) {
			TrackedAck ack;
			if (natsMsg_IsNoResponders(msg)) {
				ack.no_responders = true;
				ack.error = "no responders";
			} else {
				const char *data = natsMsg_GetData(msg);
				ack = ParsePubAck(std::string_view(data ? data : "", static_cast<size_t>(natsMsg_GetDataLength(msg))));
			}
			self->tracked_handler_(token, ack);
		}
	} catch (...) {
		Log(LogLevel::kError, "nats: reply handler failed");
	}
#ifdef EVENT_NATS_RAW_MESSAGES
	natsMsg_free(msg);
#else
	natsMsg_Destroy(msg);
#endif
}

void Publisher::OnConnected(natsConnection *, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		self->metrics_->nats_up = true;
		self->reconnected_ = true;
		Log(LogLevel::kInfo, "nats: connected", {{"url", RedactUrl(self->config_.nats_url)}});
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnDisconnected(natsConnection *, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		if (self->metrics_->nats_up.exchange(false) && !self->closing_.load())
			Log(LogLevel::kWarn, "nats: disconnected, reconnecting", {{"url", RedactUrl(self->config_.nats_url)}});
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnReconnected(natsConnection *, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		self->metrics_->nats_up = true;
		self->metrics_->nats_reconnects++;
		self->reconnected_ = true;
		Log(LogLevel::kInfo, "nats: reconnected", {{"url", RedactUrl(self->config_.nats_url)}});
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnClosed(natsConnection *nc, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		self->metrics_->nats_up = false;
		if (!self->closing_.load()) {
			const char *text = nullptr;
			natsStatus err = natsConnection_GetLastError(nc, &text);
			std::string reason = StatusText(err) + (text && *text ? std::string(": ") + text : "");
			Log(LogLevel::kError, "nats: connection closed by the client library, will reconnect",
				{{"url", RedactUrl(self->config_.nats_url)}, {"error", reason}});
			self->closed_ = true;
		}
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnAsyncError(natsConnection *nc, natsSubscription *, natsStatus err, void *) noexcept {
	try {
		// The connection's last error carries the server's text ("Authorization Violation", …).
		const char *text = nullptr;
		std::string reason = StatusText(err);
		if (natsConnection_GetLastError(nc, &text) == err && text && *text)
			reason += std::string(": ") + text;
		Log(LogLevel::kWarn, "nats: asynchronous error", {{"error", reason}});
	} catch (...) {
	}
}

int64_t Publisher::ReconnectDelay(natsConnection *, int attempts, void *) noexcept {
	// Exponential backoff: 100 ms, 200 ms, … capped at 10 s.
	int64_t delay = 100;
	for (int i = 1; i < attempts && delay < 10000; ++i)
		delay *= 2;
	return std::min<int64_t>(delay, 10000);
}

} // namespace event::sidecar::nats
