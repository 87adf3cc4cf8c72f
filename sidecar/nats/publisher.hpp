// publisher.hpp — the NATS/JetStream adapter: connection, stream EVENTS, async publishing.
//
// nats.c runs its callbacks on its own threads. They only record what happened (an ack, an
// error, a reconnect) under a mutex and call the wake function; the relay loop then collects
// those records with TakeCompletions / TakeReconnected and decides what to do. The adapter never
// retries on its own: the relay keeps a copy of every unacknowledged event and republishes it.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "metrics.hpp"

namespace event::sidecar::nats {

// Result of one publish acknowledgement, matched to the event by its Nats-Msg-Id.
struct Completion {
	std::string event_id;
	bool ok = false;
	bool duplicate = false;
	bool no_responders = false; // no stream listens on the subject (stream missing)
	std::string error;           // for !ok
};

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

using OptionsPtr = std::unique_ptr<natsOptions, OptionsDeleter>;
using ConnectionPtr = std::unique_ptr<natsConnection, ConnectionDeleter>;
using JsCtxPtr = std::unique_ptr<jsCtx, JsCtxDeleter>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, StreamInfoDeleter>;
using MsgPtr = std::unique_ptr<natsMsg, MsgDeleter>;

enum class PublishResult { kOk, kNotConnected, kError };

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

	// Publishes payload on subject with header Nats-Msg-Id: event_id.
	PublishResult Publish(const std::string &event_id, const std::string &subject, std::string_view payload,
						  std::string *error);

	// Moves the acknowledgements received since the last call into out.
	void TakeCompletions(std::vector<Completion> *out);
	// True once after each (re)connect since the last call.
	bool TakeReconnected();
	// Takes back every publish nats.c still waits an ack for (late acks are then ignored).
	int ReclaimPending();
	// Flushes and closes the connection.
	void Close();

private:
	static void OnAck(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) noexcept;
	static void OnConnected(natsConnection *nc, void *closure) noexcept;
	static void OnDisconnected(natsConnection *nc, void *closure) noexcept;
	static void OnReconnected(natsConnection *nc, void *closure) noexcept;
	static void OnClosed(natsConnection *nc, void *closure) noexcept;
	static void OnAsyncError(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure) noexcept;
	static int64_t ReconnectDelay(natsConnection *nc, int attempts, void *closure) noexcept;

	void Wake() noexcept;

	const Config &config_;
	Metrics *metrics_;
	std::function<void()> wake_;
	OptionsPtr opts_;
	ConnectionPtr conn_;
	JsCtxPtr js_;
	std::atomic<bool> reconnected_{false};
	std::mutex mutex_;
	std::vector<Completion> completions_;
};

} // namespace event::sidecar::nats
