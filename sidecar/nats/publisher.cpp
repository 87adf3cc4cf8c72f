// publisher.cpp — nats.c connection, JetStream stream setup and async publish with acks.
#include "nats/publisher.hpp"

#include <algorithm>
#include <chrono>

#include "log.hpp"

namespace event::sidecar::nats {

namespace {

constexpr int64_t kNanosPerMs = 1000000;

std::string StatusText(natsStatus s) { return natsStatus_GetText(s); }

// Runs a chain of nats.c option setters, stopping at the first failure.
struct Chain {
	natsStatus s = NATS_OK;
	const char *what = "";
	Chain &Do(natsStatus next, const char *name) {
		if (s == NATS_OK && next != NATS_OK) {
			s = next;
			what = name;
		}
		return *this;
	}
};

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
		c.Do(natsOptions_SetRetryOnFailedConnect(o, true, &Publisher::OnConnected, this), "retry on connect");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetDisconnectedCB(o, &Publisher::OnDisconnected, this), "disconnected callback");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetReconnectedCB(o, &Publisher::OnReconnected, this), "reconnected callback");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetClosedCB(o, &Publisher::OnClosed, this), "closed callback");
	if (c.s == NATS_OK)
		c.Do(natsOptions_SetErrorHandler(o, &Publisher::OnAsyncError, this), "error handler");
	if (c.s == NATS_OK && !config_.nats_user.empty())
		c.Do(natsOptions_SetUserInfo(o, config_.nats_user.c_str(), config_.nats_password.c_str()), "--nats-user");
	if (c.s == NATS_OK && !config_.nats_token.empty())
		c.Do(natsOptions_SetToken(o, config_.nats_token.c_str()), "--nats-token");
	if (c.s == NATS_OK && !config_.nats_creds.empty())
		c.Do(natsOptions_SetUserCredentialsFromFiles(o, config_.nats_creds.c_str(), nullptr), "--nats-creds");
	if (c.s == NATS_OK && !config_.nats_tls_ca.empty()) {
		c.Do(natsOptions_SetSecure(o, true), "--nats-tls-ca");
		c.Do(natsOptions_LoadCATrustedCertificates(o, config_.nats_tls_ca.c_str()), "--nats-tls-ca");
	}
	if (c.s == NATS_OK && !config_.nats_tls_cert.empty()) {
		c.Do(natsOptions_SetSecure(o, true), "--nats-tls-cert");
		c.Do(natsOptions_LoadCertificatesChain(o, config_.nats_tls_cert.c_str(), config_.nats_tls_key.c_str()),
			 "--nats-tls-cert/--nats-tls-key");
	}
	if (c.s != NATS_OK) {
		*error = std::string(c.what) + ": " + StatusText(c.s);
		return false;
	}

	natsConnection *nc = nullptr;
	s = natsConnection_Connect(&nc, o);
	if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
		*error = "nats connect: " + StatusText(s);
		return false;
	}
	conn_.reset(nc);
	if (s == NATS_NOT_YET_CONNECTED)
		Log(LogLevel::kWarn, "nats: not connected yet, retrying in the background", {{"url", config_.nats_url}});
	else {
		metrics_->nats_up = true;
		Log(LogLevel::kInfo, "nats: connected", {{"url", config_.nats_url}});
	}

	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	jo.PublishAsync.MaxPending = config_.max_inflight;
	jo.PublishAsync.AckHandler = &Publisher::OnAck;
	jo.PublishAsync.AckHandlerClosure = this;
	jo.PublishAsync.StallWait = 50;
	jsCtx *js = nullptr;
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
	cfg.Retention = js_LimitsPolicy;
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
			*error = "create stream " + config_.stream_name + ": " + StatusText(s) + " (" + nats_GetLastError(nullptr) +
					 ")";
			return false;
		}
		Log(LogLevel::kInfo, "nats: stream created",
			{{"stream", config_.stream_name}, {"subjects", "events.>"}, {"replicas", config_.stream_replicas}});
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
		*error = "update stream " + config_.stream_name + ": " + StatusText(s) + " (" + nats_GetLastError(nullptr) +
				 ")";
		return false;
	}
	Log(LogLevel::kInfo, "nats: stream updated to the configured limits", {{"stream", config_.stream_name}});
	return true;
}

PublishResult Publisher::Publish(const std::string &event_id, const std::string &subject, std::string_view payload,
								 std::string *error) {
	if (!Connected())
		return PublishResult::kNotConnected;
	natsMsg *raw = nullptr;
	natsStatus s = natsMsg_Create(&raw, subject.c_str(), nullptr, payload.data(), static_cast<int>(payload.size()));
	MsgPtr msg(raw);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", event_id.c_str());
	if (s == NATS_OK) {
		natsMsg *m = msg.release();
		s = js_PublishMsgAsync(js_.get(), &m, nullptr);
		msg.reset(m); // nullptr when the library took ownership
	}
	if (s == NATS_OK) {
		metrics_->events_published++;
		return PublishResult::kOk;
	}
	*error = StatusText(s);
	if (s == NATS_CONNECTION_CLOSED || s == NATS_CONNECTION_DISCONNECTED || s == NATS_INSUFFICIENT_BUFFER ||
		!Connected())
		return PublishResult::kNotConnected;
	return PublishResult::kError;
}

void Publisher::TakeCompletions(std::vector<Completion> *out) {
	std::lock_guard<std::mutex> lock(mutex_);
	if (out->empty())
		out->swap(completions_);
	else {
		std::move(completions_.begin(), completions_.end(), std::back_inserter(*out));
		completions_.clear();
	}
}

bool Publisher::TakeReconnected() { return reconnected_.exchange(false); }

int Publisher::ReclaimPending() {
	if (!js_)
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
	if (conn_) {
		natsConnection_FlushTimeout(conn_.get(), 1000);
		natsConnection_Close(conn_.get());
	}
	js_.reset();
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
	try {
		Completion c;
		const char *id = nullptr;
		if (msg && natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id)
			c.event_id = id;
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
			self->completions_.push_back(std::move(c));
		}
	} catch (...) {
		Log(LogLevel::kError, "nats: ack handler failed");
	}
	natsMsg_Destroy(msg);
	self->Wake();
}

void Publisher::OnConnected(natsConnection *, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		self->metrics_->nats_up = true;
		self->reconnected_ = true;
		Log(LogLevel::kInfo, "nats: connected", {{"url", self->config_.nats_url}});
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnDisconnected(natsConnection *, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		if (self->metrics_->nats_up.exchange(false))
			Log(LogLevel::kWarn, "nats: disconnected, reconnecting", {{"url", self->config_.nats_url}});
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
		Log(LogLevel::kInfo, "nats: reconnected", {{"url", self->config_.nats_url}});
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnClosed(natsConnection *, void *closure) noexcept {
	auto *self = static_cast<Publisher *>(closure);
	try {
		self->metrics_->nats_up = false;
	} catch (...) {
	}
	self->Wake();
}

void Publisher::OnAsyncError(natsConnection *, natsSubscription *, natsStatus err, void *) noexcept {
	try {
		Log(LogLevel::kWarn, "nats: asynchronous error", {{"error", StatusText(err)}});
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
