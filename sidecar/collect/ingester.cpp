// ingester.cpp — frontend events from JetStream into PostgreSQL (see ingester.hpp).
#include "collect/ingester.hpp"

#include "core/ingested.hpp"
#include "core/rapidjson.hpp"
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <deque>
#include <future>

#include "log.hpp"
#include "metrics/registry.hpp"
#include "nats/connect_options.hpp"

namespace event::sidecar::collect {

namespace {

constexpr int64_t kNanosPerMs = 1000000;
constexpr int kFetchTimeoutMs = 500;
constexpr size_t kParallelBatches = 2; // batches stored at once (each on its own pool connection)
constexpr int64_t kAckWaitMs = 10000; // an unacknowledged message (a crash) is redelivered after this

metrics::Counter &Ingested(const char *outcome) {
	static auto &family = metrics::Default().Counter(
		"event_ingester_messages_total", "Frontend messages handled by the ingester, by outcome.", {"outcome"});
	return family.With({outcome});
}

metrics::Counter &ConsumerLost() {
	static metrics::Counter &lost = metrics::Default()
		.Counter("event_ingester_consumer_lost_total",
		         "Times the ingester found its durable consumer (or its stream) gone and created it again.")
		.With();
	return lost;
}

metrics::Gauge &LagGauge() {
	static metrics::Gauge &lag = metrics::Default()
		.Gauge("event_ingester_lag_messages", "Frontend messages in JetStream not yet stored and acknowledged (-1 unknown).")
		.With();
	return lag;
}

void Append(rapidjson::Writer<rapidjson::StringBuffer> *w, const rapidjson::Value &v) {
	v.Accept(*w);
}

} // namespace

std::string IngestRequest(const char *payload, int length, std::string *error, bool *stored) {
	*stored = false;
	rapidjson::Document doc;
	doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(payload,
	                                                                                   static_cast<size_t>(length));
	if (doc.HasParseError() || !doc.IsObject()) {
		*error = "payload is not a JSON object";
		return "";
	}
	if (doc.HasMember("position")) {
		*stored = true;
		return "";
	}
	auto str = [&](const char *name) -> const rapidjson::Value * {
		auto it = doc.FindMember(name);
		return it != doc.MemberEnd() && it->value.IsString() ? &it->value : nullptr;
	};
	auto obj = [&](const char *name) -> const rapidjson::Value * {
		auto it = doc.FindMember(name);
		return it != doc.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
	};
	const rapidjson::Value *id = str("event_id"), *type = str("event_type"), *category = str("event_category"),
	                       *received = str("received_at");
	if (!id || !type || !category || !received) {
		*error = "payload lacks event_id, event_type, event_category or received_at";
		return "";
	}
	rapidjson::StringBuffer sb;
	rapidjson::Writer<rapidjson::StringBuffer> w(sb);
	w.StartObject();
	w.Key("event_id");
	Append(&w, *id);
	// The mark that keeps this event out of the relay's stream: it is in JetStream already.
	w.Key("event_source");
	w.String(core::kIngestedSource.data(), static_cast<rapidjson::SizeType>(core::kIngestedSource.size()));
	w.Key("idempotency_key");
	std::string key = core::IngestedKey(std::string_view(id->GetString(), id->GetStringLength()));
	w.String(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
	w.Key("event_type");
	Append(&w, *type);
	w.Key("event_category");
	Append(&w, *category);
	if (const rapidjson::Value *user = str("user_id")) {
		w.Key("user_id");
		Append(&w, *user);
	}
	if (const rapidjson::Value *data = obj("data")) {
		w.Key("data");
		Append(&w, *data);
	}
	if (const rapidjson::Value *context = obj("context")) {
		w.Key("context");
		Append(&w, *context);
	}
	// The event's time is when the sidecar received it (or the tracking API's corrected time); the
	// client's own clock is kept in metadata.
	w.Key("timestamp");
	const rapidjson::Value *event_time = str("event_time");
	Append(&w, event_time ? *event_time : *received);
	w.Key("metadata");
	w.StartObject();
	if (const rapidjson::Value *meta = obj("metadata"))
		for (auto it = meta->MemberBegin(); it != meta->MemberEnd(); ++it)
			if (!(it->name == "client_timestamp")) {
				Append(&w, it->name);
				Append(&w, it->value);
			}
	if (const rapidjson::Value *ts = str("timestamp")) {
		w.Key("client_timestamp");
		Append(&w, *ts);
	}
	w.EndObject();
	w.EndObject();
	return std::string(sb.GetString(), sb.GetSize());
}

Ingester::Ingester(const Config &config, pg::Pool *pool, Metrics *metrics)
	: config_(config), pool_(pool), metrics_(metrics) {}

Ingester::~Ingester() {
	Stop();
}

void Ingester::Start() {
	LagGauge().Set(-1);
	thread_ = std::thread([this] { Run(); });
}

void Ingester::Stop() {
	stop_ = true;
	if (thread_.joinable())
		thread_.join();
	Disconnect();
}

void Ingester::Disconnect() {
	nats::UnsubscribeAndRetire(sub_);
	if (js_)
		jsCtx_Destroy(js_);
	if (conn_)
		natsConnection_Destroy(conn_);
	sub_ = nullptr;
	js_ = nullptr;
	conn_ = nullptr;
}

bool Ingester::Connect() {
	natsOptions *o = nullptr;
	std::string error;
	nats::Chain c;
	c.Do(natsOptions_Create(&o), "options");
	if (c.s == NATS_OK) {
		c.Do(natsOptions_SetURL(o, config_.nats_url.c_str()), "--nats-url")
			.Do(natsOptions_SetName(o, "event-sidecar ingester"), "name")
			.Do(natsOptions_SetMaxReconnect(o, -1), "reconnect")
			.Do(natsOptions_SetReconnectWait(o, 500), "reconnect wait");
	}
	bool ok = c.s == NATS_OK && nats::ApplyAuthOptions(o, config_, &error);
	if (ok)
		c.Do(natsConnection_Connect(&conn_, o), "connect");
	if (o)
		natsOptions_Destroy(o);
	if (!ok || c.s != NATS_OK) {
		Disconnect();
		return false;
	}
	jsErrCode jerr = static_cast<jsErrCode>(0);
	natsStatus s = natsConnection_JetStream(&js_, conn_, nullptr);
	// The dead-letter stream (created once; an existing one is kept as it is).
	if (s == NATS_OK) {
		jsStreamConfig dead;
		jsStreamConfig_Init(&dead);
		dead.Name = kDeadStream;
		const char *subjects[] = {"dead.events.>"};
		dead.Subjects = subjects;
		dead.SubjectsLen = 1;
		dead.Storage = js_FileStorage;
		jsStreamInfo *si = nullptr;
		natsStatus ds = js_AddStream(&si, js_, &dead, nullptr, &jerr);
		if (si)
			jsStreamInfo_Destroy(si);
		if (ds != NATS_OK && jerr != JSStreamNameExistErr)
			Log(LogLevel::kWarn, "ingester: cannot create the dead-letter stream",
			    {{"stream", kDeadStream}, {"error", nats::StatusText(ds)}});
	}
	if (s == NATS_OK) {
		jsSubOptions so;
		jsSubOptions_Init(&so);
		so.Stream = config_.stream_name.c_str();
		so.Config.AckPolicy = js_AckExplicit;
		so.Config.AckWait = kAckWaitMs * kNanosPerMs;
		so.Config.MaxAckPending = config_.ingest_batch * 4;
		s = js_PullSubscribe(&sub_, js_, "events.frontend.>", kIngesterDurable, nullptr, &so, &jerr);
	}
	if (s != NATS_OK) {
		Log(LogLevel::kWarn, "ingester: cannot subscribe (retrying)",
		    {{"error", nats::StatusText(s)}, {"detail", nats::LastErrorText()}});
		Disconnect();
		return false;
	}
	Log(LogLevel::kInfo, "ingester: consuming", {{"durable", kIngesterDurable}, {"subjects", "events.frontend.>"}});
	return true;
}

pg::Result::Status Ingester::CreateEvents(const std::vector<std::string> &requests,
                                          std::vector<std::string> *statuses) {
	std::string array = "[";
	for (size_t i = 0; i < requests.size(); i++) {
		if (i > 0)
			array += ',';
		array += requests[i];
	}
	array += ']';
	auto promise = std::make_shared<std::promise<pg::Result>>();
	std::future<pg::Result> future = promise->get_future();
	pg::Query q;
	q.sql = "SELECT x->>'status', coalesce(x->'error'->>'code', '') || ': ' || coalesce(x->'error'->>'message', '') "
	        "FROM pg_catalog.jsonb_array_elements(event.create_events($1::jsonb, false)) WITH ORDINALITY AS r(x, n) "
	        "ORDER BY n";
	q.params = {std::move(array)};
	q.done = [promise](pg::Result r) { promise->set_value(std::move(r)); };
	pg::Result::Status refusal = pg::Result::Status::kUnavailable;
	if (!pool_->Submit(std::move(q), &refusal))
		return refusal;
	pg::Result r = future.get();
	if (!r.ok()) {
		statuses->assign(requests.size(), "error: " + r.sqlstate + ": " + r.message);
		return r.status;
	}
	statuses->clear();
	for (int row = 0; row < r.rows; row++)
		statuses->push_back(r.Value(row, 0) == "error" ? "error: " + r.Value(row, 1) : r.Value(row, 0));
	return statuses->size() == requests.size() ? pg::Result::Status::kOk : pg::Result::Status::kSqlError;
}

bool Ingester::DeadLetter(natsMsg *msg, const std::string &error) {
	std::string subject = std::string("dead.") + natsMsg_GetSubject(msg);
	natsMsg *dead = nullptr;
	natsStatus s = natsMsg_Create(&dead, subject.c_str(), nullptr, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
	const char *id = nullptr;
	if (s == NATS_OK && natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK && id)
		s = natsMsgHeader_Set(dead, "Nats-Msg-Id", id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(dead, "Event-Error", error.substr(0, 1000).c_str());
	jsPubAck *pa = nullptr;
	jsErrCode jerr = static_cast<jsErrCode>(0);
	if (s == NATS_OK)
		s = js_PublishMsg(&pa, js_, dead, nullptr, &jerr);
	if (pa)
		jsPubAck_Destroy(pa);
	if (dead)
		natsMsg_Destroy(dead);
	Log(s == NATS_OK ? LogLevel::kWarn : LogLevel::kError, "ingester: dead-lettered a frontend message",
	    {{"subject", subject}, {"event_id", id ? id : ""}, {"error", error}, {"published", s == NATS_OK}});
	if (s != NATS_OK)
		return false;
	Ingested("dead_letter").Inc();
	return true;
}

bool Ingester::Store(natsMsg **msgs, int count) {
	std::vector<std::string> requests;
	std::vector<int> index; // message of each request
	for (int i = 0; i < count; i++) {
		std::string error;
		bool stored = false;
		std::string req = IngestRequest(natsMsg_GetData(msgs[i]), natsMsg_GetDataLength(msgs[i]), &error, &stored);
		if (stored) { // relayed from PostgreSQL: already there
			natsMsg_AckSync(msgs[i], nullptr, nullptr);
			continue;
		}
		if (req.empty()) {
			if (DeadLetter(msgs[i], error))
				natsMsg_AckSync(msgs[i], nullptr, nullptr);
			continue;
		}
		requests.push_back(std::move(req));
		index.push_back(i);
	}
	if (requests.empty())
		return true;
	std::vector<std::string> statuses;
	pg::Result::Status st = CreateEvents(requests, &statuses);
	if (st == pg::Result::Status::kUnavailable || st == pg::Result::Status::kOverloaded)
		return false; // nothing acknowledged: retried
	if (st != pg::Result::Status::kOk) {
		// The batch as a whole failed: one at a time, so that one bad message cannot hold the rest.
		for (size_t k = 0; k < requests.size(); k++) {
			std::vector<std::string> one;
			pg::Result::Status s1 = CreateEvents({requests[k]}, &one);
			if (s1 == pg::Result::Status::kUnavailable || s1 == pg::Result::Status::kOverloaded)
				return false;
			statuses[k] = one.empty() ? "error: no result" : one[0];
		}
	}
	for (size_t k = 0; k < requests.size(); k++) {
		natsMsg *m = msgs[index[k]];
		const std::string &status = statuses[k];
		if (status.rfind("error", 0) == 0) {
			if (!DeadLetter(m, status.substr(7)))
				continue; // not acknowledged: redelivered after the ack wait
		} else {
			Ingested(status == "duplicate" ? "duplicate" : "stored").Inc();
		}
		natsMsg_Ack(m, nullptr); // after the commit; a lost ack only redelivers a duplicate
	}
	return true;
}

bool Ingester::UpdateLag() {
	jsConsumerInfo *ci = nullptr;
	jsErrCode jerr = static_cast<jsErrCode>(0);
	natsStatus s = js_GetConsumerInfo(&ci, js_, config_.stream_name.c_str(), kIngesterDurable, nullptr, &jerr);
	bool lost = nats::StreamOrConsumerMissing(s, jerr);
	if (s == NATS_OK && ci)
		lag_ = static_cast<int64_t>(ci->NumPending) + static_cast<int64_t>(ci->NumAckPending);
	else if (lost)
		lag_ = -1; // unknown until the consumer is back
	if (ci)
		jsConsumerInfo_Destroy(ci);
	LagGauge().Set(lag_.load());
	metrics_->ingester_lag = lag_.load();
	return lost;
}

void Ingester::Run() {
	auto next_lag = std::chrono::steady_clock::now();
	// Batches being stored, oldest first: up to kParallelBatches at once, each on its own pool
	// connection, while the next one is fetched. Their messages are disjoint (MaxAckPending
	// leaves room for all of them); a prefetched batch not stored before a stop is never
	// acknowledged and is redelivered after the ack wait.
	std::deque<std::future<void>> storing;
	while (!stop_) {
		if (!sub_ && !Connect()) {
			std::this_thread::sleep_for(std::chrono::seconds(1));
			continue;
		}
		natsMsgList list{};
		jsErrCode jerr = static_cast<jsErrCode>(0);
		natsStatus s = natsSubscription_Fetch(&list, sub_, config_.ingest_batch, kFetchTimeoutMs, &jerr);
		if (s == NATS_OK && list.Count > 0) {
			if (storing.size() >= kParallelBatches) {
				storing.front().get();
				storing.pop_front();
			}
			storing.push_back(std::async(std::launch::async, [this, list]() mutable {
				while (!stop_ && !Store(list.Msgs, list.Count))
					std::this_thread::sleep_for(std::chrono::milliseconds(500)); // PostgreSQL down: retry
				natsMsgList_Destroy(&list);
			}));
		} else {
			natsMsgList_Destroy(&list);
			if (s != NATS_OK && s != NATS_TIMEOUT)
				std::this_thread::sleep_for(std::chrono::milliseconds(200));
		}
		while (!storing.empty() && storing.front().wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
			storing.front().get();
			storing.pop_front();
		}
		auto now = std::chrono::steady_clock::now();
		if (now >= next_lag) {
			next_lag = now + std::chrono::seconds(1);
			if (UpdateLag()) {
				// The durable consumer is gone (deleted, or with its stream): a pull subscription
				// never comes back by itself, so the messages behind it would wait for ever.
				// Finish the batches in hand (their acks may fail: they are redelivered), then
				// subscribe again, which creates the consumer anew (from the start of the stream;
				// what is stored already comes back as duplicates and stores nothing).
				Log(LogLevel::kWarn, "ingester: durable consumer lost, creating it again",
				    {{"durable", kIngesterDurable}, {"stream", config_.stream_name}});
				ConsumerLost().Inc();
				for (auto &f : storing)
					f.get();
				storing.clear();
				Disconnect();
			}
		}
	}
	for (auto &f : storing)
		f.get();
}

} // namespace event::sidecar::collect
