// publisher.hpp — the NATS/JetStream adapter: connection, stream EVENTS, async publishing.
//
// nats.c runs its callbacks on its own threads. They only record what happened (an ack, an
// error, a reconnect) under a mutex and call the wake function; the relay loop then collects
// those records with TakeCompletions / TakeReconnected and decides what to do. The adapter never
// retries on its own: the relay keeps a copy of every unacknowledged event and republishes it.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "metrics.hpp"
#include "nats/pub_ack.hpp"

namespace event::sidecar::nats {

struct OptionsDeleter {
	void operator()(natsOptions *p) const { natsOptions_Destroy(p); }
};
struct ConnectionDeleter {
	void operator()(natsConnection *p) const { natsConnection_Destroy(p); }
};
struct JsCtxDeleter {
	void operator()(jsCtx *p) const { jsCtx_Destroy(p); }
};
struct StreamInfoDeleter {
	void operator()(jsStreamInfo *p) const { jsStreamInfo_Destroy(p); }
};
struct MsgDeleter {
	void operator()(natsMsg *p) const { natsMsg_Destroy(p); }
};
struct SubscriptionDeleter {
	void operator()(natsSubscription *p) const { natsSubscription_Destroy(p); }
};

using OptionsPtr = std::unique_ptr<natsOptions, OptionsDeleter>;
using ConnectionPtr = std::unique_ptr<natsConnection, ConnectionDeleter>;
using JsCtxPtr = std::unique_ptr<jsCtx, JsCtxDeleter>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, StreamInfoDeleter>;
using MsgPtr = std::unique_ptr<natsMsg, MsgDeleter>;
using SubscriptionPtr = std::unique_ptr<natsSubscription, SubscriptionDeleter>;

// Result of one publish acknowledgement, matched to the event by its Nats-Msg-Id. The id is kept
// inline (event ids are 36-character UUIDs) so that an acknowledgement costs no allocation.
struct Completion {
	std::string_view EventId() const {
		return id_long.empty() ? std::string_view(id_inline, id_len) : std::string_view(id_long);
	}
	void SetEventId(std::string_view id) {
		if (id.size() <= sizeof id_inline) {
			id.copy(id_inline, id.size());
			id_len = static_cast<unsigned char>(id.size());
			id_long.clear();
		} else {
			id_long.assign(id.data(), id.size());
		}
	}

	char id_inline[48];
	unsigned char id_len = 0;
	std::string id_long; // ids longer than id_inline
	bool ok = false;
	bool duplicate = false;
	bool no_responders = false; // no stream listens on the subject (stream missing)
	std::string error;           // for !ok
};

// kTooLarge: the message is over the server's max_payload and can never be published (terminal).
enum class PublishResult { kOk, kNotConnected, kError, kTooLarge };

// Called on nats.c's thread of the reply subscription, once per answer, with the token given to
// Publisher::PublishTracked. Must not block.
using TrackedAckHandler = std::function<void(uint64_t token, const TrackedAck &ack)>;

class Publisher {
public:
	Publisher(const Config &config, Metrics *metrics, std::function<void()> wake);
	~Publisher();
	Publisher(const Publisher &) = delete;
	Publisher &operator=(const Publisher &) = delete;

	// Starts connecting (nats.c keeps retrying in the background). False + error on bad options.
	bool Start(std::string *error);
	bool Connected() const;

	// Creates stream EVENTS on events.> or brings an existing one to the configured limits.
	// Blocking (JetStream API request with a few seconds' timeout).
	bool EnsureStream(std::string *error);
	// False (with *error) only when the server answers that the stream does not exist; a
	// timeout or any other failure says nothing about the stream and returns true.
	bool StreamExists(std::string *error);

	// Publishes payload on subject with header Nats-Msg-Id: event_id.
	PublishResult Publish(const char *event_id, const char *subject, std::string_view payload, std::string *error);

	// Tracked publishing, a lighter form of the async publish above for callers that keep their
	// own table of what is in flight (the frontend collector): set the handler before Start; the
	// publisher then subscribes to a reply inbox of its own on every connection, and
	// PublishTracked sends the message with reply subject <inbox>.<token>, so that JetStream's
	// answer reaches the handler with the token (no per-message map, timer or JSON document in
	// nats.c). No answer ever comes for a message lost with a connection: the caller times out.
	// PublishTracked may run on several threads at once, but not during Start, TakeReconnected
	// or Close (the caller serialises those).
	void SetTrackedAckHandler(TrackedAckHandler handler) { tracked_handler_ = std::move(handler); }
	PublishResult PublishTracked(uint64_t token, const char *event_id, const char *subject, std::string_view payload,
	                             std::string *error);

	// Replaces *out (cleared first; its capacity is reused) with the acknowledgements received
	// since the last call.
	void TakeCompletions(std::vector<Completion> *out);
	// True once after each (re)connect since the last call. Also replaces a connection that nats.c
	// closed for good (it gives up after a repeated authentication error), with backoff.
	bool TakeReconnected();
	// True while the connection is gone for good: the next TakeReconnected calls may replace it.
	bool NeedsRestart() const { return closed_.load() && !closing_.load(); }
	// Takes back every publish nats.c still waits an ack for (late acks are then ignored).
	int ReclaimPending();
	// Flushes and closes the connection.
	void Close();

private:
	static void OnAck(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) noexcept;
	static void OnTrackedReply(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) noexcept;
	static void OnConnected(natsConnection *nc, void *closure) noexcept;
	static void OnDisconnected(natsConnection *nc, void *closure) noexcept;
	static void OnReconnected(natsConnection *nc, void *closure) noexcept;
	static void OnClosed(natsConnection *nc, void *closure) noexcept;
	static void OnAsyncError(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure) noexcept;
	static int64_t ReconnectDelay(natsConnection *nc, int attempts, void *closure) noexcept;

	void Wake() noexcept;
	// The outcome of a publish call with status s (counts it when sent).
	PublishResult Result(natsStatus s, size_t payload_size, std::string *error);
	// Connects with opts_ (first attempt in the foreground, so a failure is logged with its
	// reason; then nats.c retries in the background) and creates the JetStream context.
	bool Connect(std::string *error);
	void MaybeRestart();

	const Config &config_;
	Metrics *metrics_;
	std::function<void()> wake_;
	OptionsPtr opts_;
	ConnectionPtr conn_;
	JsCtxPtr js_;
	TrackedAckHandler tracked_handler_;
	SubscriptionPtr tracked_sub_; // declared after conn_: destroyed before it
	std::string tracked_prefix_;  // "<inbox>."
	std::atomic<bool> reconnected_{false};
	std::atomic<bool> closing_{false}; // Close() was called: a closed connection is expected
	std::atomic<bool> closed_{false};  // the connection is gone for good and must be replaced
	bool async_used_ = false;          // js_ has seen an async publish (relay thread only)
	bool restart_pending_ = false;     // relay thread only, like the two below
	int restart_attempts_ = 0;
	std::chrono::steady_clock::time_point next_restart_{};
	std::mutex mutex_;
	std::vector<Completion> completions_;
};

} // namespace event::sidecar::nats
