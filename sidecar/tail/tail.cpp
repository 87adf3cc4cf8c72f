// tail.cpp — live tail over an ordered JetStream consumer per client (see tail.hpp).
#include "tail/tail.hpp"

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "http/stream.hpp"
#include "log.hpp"
#include "metrics/registry.hpp"
#include "nats/connect_options.hpp"

namespace event::sidecar::tail {

namespace {

metrics::Gauge &OpenTails() {
	static auto &g = metrics::Default().Gauge("event_tail_open", "Live tail streams open.").With();
	return g;
}

metrics::Counter &TailEvents() {
	static auto &c = metrics::Default().Counter("event_tail_events_sent_total", "Events sent to live tails.").With();
	return c;
}

bool ParsePosition(const std::string &text, uint64_t *out) {
	if (text.empty() || text.size() > 19)
		return false;
	uint64_t n = 0;
	for (char ch : text) {
		if (ch < '0' || ch > '9')
			return false;
		n = n * 10 + static_cast<uint64_t>(ch - '0');
	}
	*out = n;
	return true;
}

} // namespace

bool ParseFilter(const http::Request &req, Filter *filter, std::string *error) {
	*filter = Filter{};
	for (const auto &[name, value] : req.query) {
		if (name == "event_type")
			filter->event_type_prefix = value;
		else if (name == "source")
			filter->source = value;
		else if (name == "category")
			filter->category = value;
		else if (name == "stream_id")
			filter->stream_id = value;
		else if (name == "from_position") {
			if (!ParsePosition(value, &filter->from_position)) {
				*error = "from_position must be a non-negative integer (a tail_position), got \"" + value + "\"";
				return false;
			}
			filter->resume = true;
		} else {
			*error = "unknown query parameter \"" + name +
					 "\" (allowed: event_type, source, category, stream_id, from_position)";
			return false;
		}
	}
	const std::string *last = req.Header("Last-Event-ID");
	if (!filter->resume && last && !last->empty()) {
		if (!ParsePosition(*last, &filter->from_position)) {
			*error = "Last-Event-ID must be a tail_position, got \"" + *last + "\"";
			return false;
		}
		filter->resume = true;
	}
	return true;
}

bool Matches(const Filter &f, const relay::DecodedMessage &e) {
	if (!f.event_type_prefix.empty() && e.event_type.substr(0, f.event_type_prefix.size()) != f.event_type_prefix)
		return false;
	if (!f.source.empty() && e.event_source != f.source)
		return false;
	if (!f.category.empty() && e.event_category != f.category)
		return false;
	if (!f.stream_id.empty() && e.stream_id != f.stream_id)
		return false;
	return true;
}

// One client's tail: its stream and its JetStream subscription. Kept alive by `self_` until
// nats.c reports the subscription complete (no callback can run after that).
class Subscriber {
public:
	Subscriber(std::shared_ptr<http::Stream> stream, Filter filter) : stream_(std::move(stream)), filter_(std::move(filter)) {
		OpenTails().Add(1);
	}
	~Subscriber() { OpenTails().Add(-1); }

	// Creates the ordered consumer (a JetStream API round trip: called off the I/O threads).
	void Subscribe(const std::shared_ptr<Subscriber> &self, jsCtx *js, const std::string &stream_name) {
		jsSubOptions so;
		jsSubOptions_Init(&so);
		so.Stream = stream_name.c_str();
		so.Ordered = true;
		if (filter_.resume) {
			so.Config.DeliverPolicy = js_DeliverByStartSequence;
			so.Config.OptStartSeq = filter_.from_position + 1;
		} else {
			so.Config.DeliverPolicy = js_DeliverNew;
		}
		std::lock_guard<std::mutex> lock(mu_);
		if (stopped_)
			return;
		self_ = self;
		jsErrCode jerr = static_cast<jsErrCode>(0);
		natsSubscription *sub = nullptr;
		natsStatus s = js_Subscribe(&sub, js, "events.>", &Subscriber::OnMsg, this, nullptr, &so, &jerr);
		if (s == NATS_OK)
			s = natsSubscription_SetOnCompleteCB(sub, &Subscriber::OnComplete, this);
		if (s != NATS_OK) {
			std::string why = nats::StatusText(s) + " " + nats::LastErrorText();
			nats::UnsubscribeAndRetire(sub);
			self_.reset();
			Log(LogLevel::kWarn, "tail: cannot subscribe", {{"error", why}});
			stream_->Close("tail unavailable: " + why);
			return;
		}
		sub_ = sub;
	}

	// Ends the subscription (idempotent; from any thread but nats.c's callback).
	void Stop() {
		std::lock_guard<std::mutex> lock(mu_);
		stopped_ = true;
		nats::UnsubscribeAndRetire(sub_);
		sub_ = nullptr;
	}

	http::Stream &stream() { return *stream_; }

private:
	static void OnMsg(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) noexcept {
		auto *self = static_cast<Subscriber *>(closure);
		try {
			jsMsgMetaData *meta = nullptr;
			if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
				uint64_t seq = meta->Sequence.Stream;
				jsMsgMetaData_Destroy(meta);
				std::string_view payload(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
				relay::DecodedMessage event;
				if (relay::ParseDecodedMessage(payload, &event) && event.kind == relay::DecodedKind::kEvent &&
					Matches(self->filter_, event)) {
					std::string body = "{\"tail_position\":" + std::to_string(seq) + ",\"event\":";
					body.append(payload.data(), payload.size());
					body += '}';
					http::Stream &st = *self->stream_;
					if (st.Send(st.IsWebSocket() ? std::move(body) : http::SseEvent(body, std::to_string(seq))))
						TailEvents().Inc();
				}
			}
		} catch (...) {
			Log(LogLevel::kError, "tail: message callback failed");
		}
		natsMsg_Destroy(msg);
	}

	static void OnComplete(void *closure) noexcept {
		auto *self = static_cast<Subscriber *>(closure);
		std::shared_ptr<Subscriber> keep;
		{
			std::lock_guard<std::mutex> lock(self->mu_);
			keep = std::move(self->self_);
		}
		// keep goes out of scope here: the subscriber may be freed.
	}

	std::shared_ptr<http::Stream> stream_;
	Filter filter_;
	std::mutex mu_;
	natsSubscription *sub_ = nullptr;
	bool stopped_ = false;
	std::shared_ptr<Subscriber> self_;
};

struct Tail::Impl {
	explicit Impl(const Config &c) : config(c) {}
	const Config &config;
	natsOptions *opts = nullptr;
	natsConnection *nc = nullptr;
	jsCtx *js = nullptr;
	std::mutex mu;
	std::set<std::shared_ptr<Subscriber>> subscribers; // open tails, for Stop
	bool stopped = false;
	std::condition_variable stop_cv; // wakes the watcher at Stop (with mu)
	std::thread watcher;
	// The stream's creation time (ns) as last seen; 0 unknown, -1 gone. Set by the watcher, and
	// by a tail's subscription when unknown or gone, so that the stream a tail opened on is the
	// one the watcher compares with, even if the watcher saw none of it (its check runs every 2 s).
	std::atomic<int64_t> stream_created{0};

	bool Connected() { return nc && natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED; }

	// The stream's creation time (ns), 0 when it cannot be told; *gone when nats-server says the
	// stream does not exist. A JetStream request: never on an I/O thread.
	int64_t StreamCreated(bool *gone) {
		jsStreamInfo *si = nullptr;
		jsErrCode jerr = static_cast<jsErrCode>(0);
		jsOptions o;
		jsOptions_Init(&o);
		o.Wait = 2000;
		natsStatus s = js_GetStreamInfo(&si, js, config.stream_name.c_str(), &o, &jerr);
		int64_t created = s == NATS_OK && si ? si->Created : 0;
		if (si)
			jsStreamInfo_Destroy(si);
		*gone = nats::StreamOrConsumerMissing(s, jerr);
		return created;
	}

	// Ends every open tail with reason (lock order: mu, then each subscriber's own).
	void CloseAll(const std::string &reason) {
		std::set<std::shared_ptr<Subscriber>> subs;
		{
			std::lock_guard<std::mutex> lock(mu);
			subs.swap(subscribers);
		}
		for (const auto &sub : subs) {
			sub->Stop();
			sub->stream().Close(reason);
		}
	}

	// Every kWatchInterval: is stream EVENTS still the one the open tails read? Deleted, or
	// recreated (a nats-server that lost its store; the relay creates it again), its sequences
	// start again at 1 and an ordered consumer waiting for the next old sequence would receive
	// nothing, silently. So the open tails are closed with a reason saying so; a client
	// reconnects without from_position (tail positions of the old stream mean nothing in the new).
	void Watch() {
		constexpr auto kWatchInterval = std::chrono::seconds(2);
		std::unique_lock<std::mutex> lock(mu);
		while (!stopped) {
			stop_cv.wait_for(lock, kWatchInterval, [this] { return stopped; });
			if (stopped || subscribers.empty() || !js || !Connected())
				continue;
			lock.unlock();
			bool gone = false;
			int64_t created = StreamCreated(&gone);
			std::string reason;
			if (gone && stream_created != -1) {
				stream_created = -1;
				reason = "stream " + config.stream_name + " was deleted: reconnect (without from_position)";
			} else if (created != 0) {
				if (stream_created > 0 && stream_created != created) // after "gone" the tails are closed already
					reason = "stream " + config.stream_name +
							 " was recreated, tail positions start again at 1: reconnect (without from_position)";
				stream_created = created;
			}
			if (!reason.empty()) {
				Log(LogLevel::kWarn, "tail: closing the open tails", {{"reason", reason}});
				CloseAll(reason);
			}
			lock.lock();
		}
	}
};

Tail::Tail(const Config &config) : impl_(std::make_shared<Impl>(config)) {}

Tail::~Tail() { Stop(); }

bool Tail::Start(std::string *error) {
	Impl &t = *impl_;
	if (!nats::ConnectInBackground(t.config, "event-sidecar-tail", "tail", &t.opts, &t.nc, &t.js, error))
		return false;
	t.watcher = std::thread([&t] { t.Watch(); });
	return true;
}

void Tail::Stop() {
	Impl &t = *impl_;
	std::set<std::shared_ptr<Subscriber>> subs;
	{
		std::lock_guard<std::mutex> lock(t.mu);
		if (t.stopped)
			return;
		t.stopped = true;
		subs.swap(t.subscribers);
	}
	t.stop_cv.notify_all();
	if (t.watcher.joinable())
		t.watcher.join();
	for (const auto &sub : subs) {
		sub->Stop();
		sub->stream().Close("server shutting down");
	}
	nats::DestroyConnection(&t.opts, &t.nc, &t.js);
}

void Tail::AddRoutes(http::Router *router) {
	http::RouteOptions options;
	options.scope = http::Scope::kRead;
	options.cors = true;
	std::shared_ptr<Impl> impl = impl_;
	router->Add(
		"GET", "/api/v1/events/tail",
		[impl](http::Request &&req, http::Reply reply) {
			Filter filter;
			std::string error;
			if (!ParseFilter(req, &filter, &error))
				return reply(http::ErrorResponse(400, "bad_request", error, req.request_id));
			if (!impl->Connected()) {
				http::Response r = http::ErrorResponse(503, "unavailable", "NATS is not reachable", req.request_id);
				r.headers.emplace_back("Retry-After", "1");
				return reply(std::move(r));
			}
			http::Response r;
			r.stream = [impl, filter](std::shared_ptr<http::Stream> stream) {
				auto sub = std::make_shared<Subscriber>(stream, filter);
				{
					std::lock_guard<std::mutex> lock(impl->mu);
					if (impl->stopped)
						return stream->Close("server shutting down");
					impl->subscribers.insert(sub);
				}
				std::weak_ptr<Subscriber> weak = sub;
				// Lock order everywhere: impl->mu before a subscriber's own mutex, never the reverse.
				stream->OnClose([impl, weak](const std::string &) {
					if (auto s = weak.lock()) {
						{
							std::lock_guard<std::mutex> lock(impl->mu);
							impl->subscribers.erase(s);
						}
						s->Stop();
					}
				});
				// The consumer is created by a JetStream request: not on the I/O thread.
				std::thread([impl, sub] {
					std::lock_guard<std::mutex> lock(impl->mu);
					if (impl->stopped || !impl->js)
						return;
					if (impl->stream_created.load() <= 0) {
						bool gone = false;
						if (int64_t created = impl->StreamCreated(&gone); created != 0)
							impl->stream_created.store(created);
					}
					sub->Subscribe(sub, impl->js, impl->config.stream_name);
				}).detach();
			};
			reply(std::move(r));
		},
		options);
}

} // namespace event::sidecar::tail
