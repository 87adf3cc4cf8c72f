// js_bench.cpp — benchmark helper: the "raw JetStream async publish" baseline of test/bench/relay.sh.
//
//   js-bench publish NATS_URL STREAM SUBJECT_PREFIX COUNT PAYLOAD_BYTES [MAX_INFLIGHT]
//       Deletes STREAM if it exists, creates it on "SUBJECT_PREFIX.>" with the sidecar's default
//       stream configuration (limits retention, file storage, 1 replica, no age/size limit, 2 min
//       duplicate window), then publishes COUNT messages of PAYLOAD_BYTES with js_PublishMsgAsync
//       exactly as event-sidecar does (natsMsg + header Nats-Msg-Id: <unique 36-character id>,
//       subjects SUBJECT_PREFIX.<source>.<category>.<type> cycling through 20 combinations, at
//       most MAX_INFLIGHT unacknowledged, default 10000 = the sidecar's --max-inflight) and
//       waits for every acknowledgement. Prints one line:
//         events=N seconds=S events_per_s=R acked=A duplicates=D errors=E stream_msgs=M
//       Exit 1 if anything was not acknowledged or the stream does not hold COUNT messages.
//   js-bench info NATS_URL STREAM      prints "msgs bytes" of the stream (exit 1 if missing)
//   js-bench delete NATS_URL STREAM    deletes the stream (missing is fine)
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace {

struct Closer {
	void operator()(natsConnection *c) const { natsConnection_Destroy(c); }
	void operator()(jsCtx *j) const { jsCtx_Destroy(j); }
	void operator()(jsStreamInfo *s) const { jsStreamInfo_Destroy(s); }
	void operator()(natsMsg *m) const { natsMsg_Destroy(m); }
};
using ConnPtr = std::unique_ptr<natsConnection, Closer>;
using JsPtr = std::unique_ptr<jsCtx, Closer>;
using InfoPtr = std::unique_ptr<jsStreamInfo, Closer>;
using MsgPtr = std::unique_ptr<natsMsg, Closer>;

constexpr int64_t kNanosPerMs = 1000000;
constexpr int64_t kDuplicateWindowMs = 2 * 60 * 1000; // event-sidecar --stream-duplicate-window default

int Fail(const char *what, natsStatus s) {
	std::fprintf(stderr, "js-bench: %s: %s (%s)\n", what, natsStatus_GetText(s), nats_GetLastError(nullptr));
	return 1;
}

struct Counters {
	std::atomic<uint64_t> acked{0};
	std::atomic<uint64_t> duplicates{0};
	std::atomic<uint64_t> errors{0};
};

// Ack handler: counts only (noexcept trampoline for nats.c).
void OnAck(jsCtx *, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) noexcept {
	auto *c = static_cast<Counters *>(closure);
	if (pa) {
		c->acked.fetch_add(1, std::memory_order_relaxed);
		if (pa->Duplicate)
			c->duplicates.fetch_add(1, std::memory_order_relaxed);
	} else if (pae) {
		if (c->errors.fetch_add(1, std::memory_order_relaxed) < 5)
			std::fprintf(stderr, "js-bench: negative ack: %s\n", natsStatus_GetText(pae->Err));
	}
	natsMsg_Destroy(msg);
}

bool ParseCount(const char *text, long long min, long long *out) {
	char *end = nullptr;
	long long v = std::strtoll(text, &end, 10);
	if (!text[0] || *end || v < min)
		return false;
	*out = v;
	return true;
}

// Connects and creates a JetStream context; ack handler and window only for publishing.
int Connect(const char *url, Counters *counters, int64_t max_inflight, ConnPtr *nc, JsPtr *js) {
	natsConnection *nc_raw = nullptr;
	natsStatus s = natsConnection_ConnectTo(&nc_raw, url);
	nc->reset(nc_raw);
	if (s != NATS_OK)
		return Fail("connect", s);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 10000;
	if (counters) {
		jo.PublishAsync.MaxPending = max_inflight;
		jo.PublishAsync.AckHandler = &OnAck;
		jo.PublishAsync.AckHandlerClosure = counters;
		jo.PublishAsync.StallWait = 50;
	}
	jsCtx *js_raw = nullptr;
	s = natsConnection_JetStream(&js_raw, nc->get(), &jo);
	js->reset(js_raw);
	if (s != NATS_OK)
		return Fail("jetstream", s);
	return 0;
}

int Info(const char *url, const char *stream) {
	ConnPtr nc;
	JsPtr js;
	if (int rc = Connect(url, nullptr, 0, &nc, &js))
		return rc;
	jsStreamInfo *raw = nullptr;
	natsStatus s = js_GetStreamInfo(&raw, js.get(), stream, nullptr, nullptr);
	InfoPtr info(raw);
	if (s != NATS_OK)
		return Fail("stream info", s);
	std::printf("%llu %llu\n", static_cast<unsigned long long>(info->State.Msgs),
				static_cast<unsigned long long>(info->State.Bytes));
	return 0;
}

int Delete(const char *url, const char *stream) {
	ConnPtr nc;
	JsPtr js;
	if (int rc = Connect(url, nullptr, 0, &nc, &js))
		return rc;
	natsStatus s = js_DeleteStream(js.get(), stream, nullptr, nullptr);
	if (s != NATS_OK && s != NATS_NOT_FOUND)
		return Fail("delete stream", s);
	return 0;
}

int Publish(const char *url, const char *stream, const std::string &prefix, long long count, long long size,
			long long max_inflight) {
	Counters counters;
	ConnPtr nc;
	JsPtr js;
	if (int rc = Connect(url, &counters, max_inflight, &nc, &js))
		return rc;

	// A fresh stream with event-sidecar's default configuration (nats/publisher.cpp).
	natsStatus s = js_DeleteStream(js.get(), stream, nullptr, nullptr);
	if (s != NATS_OK && s != NATS_NOT_FOUND)
		return Fail("delete stream", s);
	std::string wildcard = prefix + ".>";
	const char *subjects[] = {wildcard.c_str()};
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = stream;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Retention = js_LimitsPolicy;
	cfg.Storage = js_FileStorage;
	cfg.MaxAge = 0;
	cfg.MaxBytes = -1;
	cfg.Replicas = 1;
	cfg.Duplicates = kDuplicateWindowMs * kNanosPerMs;
	jsStreamInfo *created = nullptr;
	s = js_AddStream(&created, js.get(), &cfg, nullptr, nullptr);
	InfoPtr created_info(created);
	if (s != NATS_OK)
		return Fail("create stream", s);

	// Subjects like the relay's events.{source}.{category}.{type}: 20 combinations.
	static const char *const kSources[] = {"frontend", "backend", "system", "iot_device"};
	static const char *const kCategories[] = {"click", "page_view", "order", "payment", "telemetry"};
	std::string subjects_text[20];
	for (int i = 0; i < 20; ++i)
		subjects_text[i] = prefix + "." + kSources[i % 4] + "." + kCategories[i % 5] + ".bench.type" + std::to_string(i);
	// JSON-looking payload of exactly `size` bytes.
	std::string payload = "{\"data\":\"";
	if (static_cast<long long>(payload.size()) + 2 < size)
		payload.append(static_cast<size_t>(size) - payload.size() - 2, 'x');
	payload += "\"}";
	payload.resize(static_cast<size_t>(size));

	const unsigned run = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
	auto t0 = std::chrono::steady_clock::now();
	for (long long i = 0; i < count; ++i) {
		char id[64];
		// 36 characters like a UUID, unique per run and message.
		std::snprintf(id, sizeof id, "%08x-0000-7000-8000-%012llx", run, static_cast<unsigned long long>(i));
		natsMsg *raw = nullptr;
		s = natsMsg_Create(&raw, subjects_text[i % 20].c_str(), nullptr, payload.data(), static_cast<int>(size));
		MsgPtr msg(raw);
		if (s == NATS_OK)
			s = natsMsgHeader_Set(msg.get(), "Nats-Msg-Id", id);
		if (s != NATS_OK)
			return Fail("message", s);
		for (;;) {
			natsMsg *m = msg.release();
			s = js_PublishMsgAsync(js.get(), &m, nullptr);
			msg.reset(m);
			if (s == NATS_OK)
				break;
			if (s != NATS_TIMEOUT) // NATS_TIMEOUT: the window is full (stalled); try again
				return Fail("publish", s);
		}
	}
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = 120000;
	s = js_PublishAsyncComplete(js.get(), &po);
	auto t1 = std::chrono::steady_clock::now();
	if (s != NATS_OK)
		return Fail("waiting for acknowledgements", s);
	double seconds = std::chrono::duration<double>(t1 - t0).count();

	jsStreamInfo *raw_info = nullptr;
	s = js_GetStreamInfo(&raw_info, js.get(), stream, nullptr, nullptr);
	InfoPtr info(raw_info);
	if (s != NATS_OK)
		return Fail("stream info", s);
	unsigned long long msgs = info->State.Msgs;
	std::printf("events=%lld seconds=%.3f events_per_s=%.0f acked=%llu duplicates=%llu errors=%llu stream_msgs=%llu\n",
				count, seconds, static_cast<double>(count) / seconds,
				static_cast<unsigned long long>(counters.acked.load()),
				static_cast<unsigned long long>(counters.duplicates.load()),
				static_cast<unsigned long long>(counters.errors.load()), msgs);
	return counters.acked.load() == static_cast<uint64_t>(count) && msgs == static_cast<unsigned long long>(count) ? 0
																												   : 1;
}

int Usage() {
	std::fprintf(stderr, "usage: js-bench publish NATS_URL STREAM SUBJECT_PREFIX COUNT PAYLOAD_BYTES [MAX_INFLIGHT]\n"
						 "       js-bench info NATS_URL STREAM\n"
						 "       js-bench delete NATS_URL STREAM\n");
	return 2;
}

} // namespace

int main(int argc, char **argv) {
	if (argc < 4)
		return Usage();
	std::string mode = argv[1];
	int rc = 2;
	if (mode == "info" && argc == 4) {
		rc = Info(argv[2], argv[3]);
	} else if (mode == "delete" && argc == 4) {
		rc = Delete(argv[2], argv[3]);
	} else if (mode == "publish" && (argc == 7 || argc == 8)) {
		long long count = 0, size = 0, inflight = 10000;
		if (!ParseCount(argv[5], 1, &count) || !ParseCount(argv[6], 2, &size) ||
			(argc == 8 && !ParseCount(argv[7], 1, &inflight)) || size > (1 << 20))
			return Usage();
		rc = Publish(argv[2], argv[3], argv[4], count, size, inflight);
	} else {
		return Usage();
	}
	nats_Close();
	return rc;
}
