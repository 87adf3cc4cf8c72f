// frontend.cpp — frontend event collection (see frontend.hpp).
#include "collect/frontend.hpp"

#include "core/rapidjson.hpp"
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <string_view>
#include <unordered_set>

#include "api/common.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/subject.hpp"
#include "core/uuid7.hpp"
#include "core/validate.hpp"
#include "log.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::collect {

namespace {

constexpr auto kAckTimeout = std::chrono::seconds(5);
constexpr size_t kMaxHeaderValueBytes = 1024;
constexpr char kDefaultCategory[] = "user_action";

// Random bytes from getrandom, fetched 4 KiB at a time per thread: one system call per ~400
// event ids instead of one per id (system calls are the collection path's largest cost).
bool StrongRandom(uint8_t *buf, size_t len) {
	thread_local uint8_t pool[4096];
	thread_local size_t left = 0;
	while (len > 0) {
		if (left == 0) {
			size_t got = 0;
			while (got < sizeof pool) {
				ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
				if (n <= 0)
					return false;
				got += static_cast<size_t>(n);
			}
			left = sizeof pool;
		}
		size_t take = std::min(len, left);
		uint8_t *from = pool + sizeof pool - left;
		std::memcpy(buf, from, take);
		std::memset(from, 0, take); // a byte is handed out once
		left -= take;
		buf += take;
		len -= take;
	}
	return true;
}

std::string NewEventId() {
	thread_local core::Uuid7Generator gen(core::SystemClockMillis, StrongRandom);
	return core::FormatUuid(gen.Next());
}

// A header value as a JSON string: printable ASCII kept, other bytes '?', at most 1 KB.
void AppendHeaderJson(std::string &out, const std::string *value) {
	if (value == nullptr) {
		out += "null";
		return;
	}
	std::string clean = value->substr(0, kMaxHeaderValueBytes);
	for (char &c : clean)
		if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
			c = '?';
	core::AppendJsonString(out, clean);
}

std::string Trim(std::string_view v) {
	return std::string(core::TrimAscii(v));
}

std::string NowIso() {
	timespec ts{};
	clock_gettime(CLOCK_REALTIME, &ts);
	tm t{};
	gmtime_r(&ts.tv_sec, &t);
	char buf[40];
	size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
	std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
	return buf;
}

using Doc = rapidjson::Document;
constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

metrics::Counter &Accepted(const char *route) {
	static auto &family = metrics::Default().Counter(
		"event_frontend_events_accepted_total", "Frontend events acknowledged by JetStream and answered 2xx.", {"route"});
	return family.With({route});
}

metrics::Counter &Refused(const char *reason) {
	static auto &family = metrics::Default().Counter(
		"event_frontend_requests_failed_total", "Frontend requests answered 503 (NATS down, negative ack, timeout).",
		{"reason"});
	return family.With({reason});
}

} // namespace

std::string NewFrontendEventId() {
	return NewEventId();
}

void AppendMessageHead(std::string &p, const std::string &event_id, std::string_view event_type,
                       std::string_view category, const std::string *user_id) {
	p += "{\"event_id\":\"";
	p += event_id;
	p += "\",\"event_type\":";
	core::AppendJsonString(p, event_type);
	p += ",\"event_source\":\"frontend\",\"event_category\":";
	core::AppendJsonString(p, category);
	p += ",\"user_id\":";
	if (user_id)
		core::AppendJsonString(p, *user_id);
	else
		p += "null";
}

std::string ClientIp(const http::Request &req, const std::vector<std::string> &trusted_proxies) {
	auto trusted = [&](std::string_view ip) {
		for (const std::string &t : trusted_proxies)
			if (t == ip)
				return true;
		return false;
	};
	if (!trusted(req.remote_addr))
		return req.remote_addr;
	const std::string *xff = req.Header("X-Forwarded-For");
	if (xff == nullptr)
		return req.remote_addr;
	std::string_view list = *xff;
	std::string client = req.remote_addr;
	while (!list.empty()) {
		size_t comma = list.rfind(',');
		std::string_view entry = core::TrimAscii(comma == std::string_view::npos ? list : list.substr(comma + 1));
		list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
		if (entry.empty() || entry.size() > 64 || entry.find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos)
			break; // not an address: stop at what the trusted proxies vouched for
		client.assign(entry.data(), entry.size());
		if (!trusted(entry))
			break;
	}
	return client;
}

namespace {

// BuildFrontendMessage on an event already parsed (a batch's element, read in place), merged with
// info (the batch's client_info object, or nullptr); reserve: bytes to reserve for the payload.
std::string BuildMessage(const rapidjson::Value &ev, size_t reserve, const std::string &client,
                         const rapidjson::Value *info, const Categories *categories, FrontendMessage *out,
                         std::string *detail, std::string *hint) {
	if (!ev.IsObject())
		return "each frontend event must be a JSON object";
	// The spec leaves the frontend model open ("lightweight"), and browsers and apps send what their
	// tracking code has (session_id, page_url, ...): a field of its own is kept in metadata under
	// its name, below the event's metadata of the same name.
	static const char *const kKnown[] = {"event_type", "event_category", "event_source", "user_id",
	                                     "data",       "metadata",       "context",      "timestamp"};
	auto known = [](const rapidjson::Value &name) {
		for (const char *k : kKnown)
			if (name == k)
				return true;
		return false;
	};
	// Fields that POST /api/v1/events/create acts on and this endpoint cannot: kept in metadata they
	// would look honoured (an event_id the client meant to dedup by, a stream it meant to append to).
	static const char *const kCreateOnly[] = {"event_id", "idempotency_key", "stream_id",
	                                          "entity_type", "entity_id", "expected_version"};
	for (const char *k : kCreateOnly)
		if (ev.HasMember(k)) {
			*hint = "Frontend events get their event_id from the collector and belong to no stream; send "
			        "events that need it through POST /api/v1/events/create.";
			return std::string(k) + " is not taken by the frontend endpoints";
		}
	auto string_field = [&](const char *name, bool required, std::string *value, bool *present) -> std::string {
		*present = false;
		auto it = ev.FindMember(name);
		if (it == ev.MemberEnd() || it->value.IsNull()) {
			if (required)
				return std::string(name) + " is required";
			return "";
		}
		if (!it->value.IsString())
			return std::string(name) + " must be a string";
		value->assign(it->value.GetString(), it->value.GetStringLength());
		*present = true;
		return "";
	};
	std::string event_type, category = kDefaultCategory, user_id, timestamp, source;
	bool has_type, has_category, has_user, has_ts, has_source;
	std::string err;
	if (!(err = string_field("event_type", true, &event_type, &has_type)).empty() ||
	    !(err = string_field("event_category", false, &category, &has_category)).empty() ||
	    !(err = string_field("user_id", false, &user_id, &has_user)).empty() ||
	    !(err = string_field("timestamp", false, &timestamp, &has_ts)).empty() ||
	    !(err = string_field("event_source", false, &source, &has_source)).empty())
		return err;
	if (!has_category)
		category = kDefaultCategory;
	// event_source is allowed for clients that send the spec's EventCreateRequest shape, but only as
	// what this endpoint makes of every event anyway.
	if (has_source && source != "frontend") {
		*hint = "Leave event_source out or give \"frontend\"; events of other sources go through "
		        "POST /api/v1/events/create.";
		return "invalid event_source \"" + core::DisplayValue(source) + "\" for a frontend event";
	}
	try {
		event_type = core::ValidateEventType(event_type);
		category = Trim(category);
		core::ValidateName("event_category", category);
		if (categories != nullptr)
			if (std::string refused = categories->Check(category, hint); !refused.empty())
				return refused;
		if (has_user)
			core::ValidateUserId(user_id);
		if (has_ts && (timestamp.size() > 64 || core::HasControlChars(timestamp)))
			throw core::SqlError("22023", "invalid timestamp \"" + core::DisplayValue(timestamp) + "\"", "",
			                     "An ISO 8601 timestamp of at most 64 bytes.");
	} catch (const core::SqlError &e) {
		*detail = e.detail();
		*hint = e.hint();
		return e.message();
	}
	for (const char *obj : {"data", "metadata", "context"}) {
		auto it = ev.FindMember(obj);
		if (it != ev.MemberEnd() && !it->value.IsNull() && !it->value.IsObject())
			return std::string(obj) + " must be a JSON object";
	}
	// metadata: the event's own keys, its other fields, the client_info keys not given yet, then
	// "client" (ours, already JSON text: written as is, not parsed again).
	const rapidjson::Value *own = nullptr;
	auto mit = ev.FindMember("metadata");
	if (mit != ev.MemberEnd() && mit->value.IsObject())
		own = &mit->value;

	out->event_id = NewEventId();
	out->subject = core::EventSubject("frontend", category, event_type);
	std::string &p = out->payload;
	p.clear();
	p.reserve(reserve + client.size() + 256);
	AppendMessageHead(p, out->event_id, event_type, category, has_user ? &user_id : nullptr);
	rapidjson::StringBuffer sb;
	rapidjson::Writer<rapidjson::StringBuffer> w(sb);
	p += ",\"data\":";
	auto dit = ev.FindMember("data");
	if (dit != ev.MemberEnd() && dit->value.IsObject()) {
		dit->value.Accept(w);
		p.append(sb.GetString(), sb.GetSize());
	} else {
		p += "{}";
	}
	auto cit = ev.FindMember("context");
	if (cit != ev.MemberEnd() && cit->value.IsObject()) {
		sb.Clear();
		w.Reset(sb);
		cit->value.Accept(w);
		p += ",\"context\":";
		p.append(sb.GetString(), sb.GetSize());
	}
	p += ",\"metadata\":{";
	bool first = true;
	auto member = [&](const rapidjson::Value &name, const rapidjson::Value &value) {
		sb.Clear();
		w.Reset(sb);
		// A one-member object serialises the pair; its braces are dropped.
		w.StartObject();
		name.Accept(w);
		value.Accept(w);
		w.EndObject();
		if (!first)
			p += ',';
		first = false;
		p.append(sb.GetString() + 1, sb.GetSize() - 2);
	};
	// Precedence: the event's metadata, its other fields, the batch's client_info; "client" is ours.
	// The names already written are looked up in a hash set, not by scanning the objects: this
	// endpoint is open to anyone, and a body of 100,000 tiny members must not cost 10^10 compares.
	bool merge = info != nullptr && info->MemberCount() > 0; // anything beyond the event's metadata
	for (auto it = ev.MemberBegin(); it != ev.MemberEnd() && !merge; ++it)
		merge = !known(it->name);
	auto name_of = [](const rapidjson::Value &name) {
		return std::string_view(name.GetString(), name.GetStringLength());
	};
	std::unordered_set<std::string_view> written; // only when merging
	if (own)
		for (auto it = own->MemberBegin(); it != own->MemberEnd(); ++it)
			if (!(it->name == "client")) {
				member(it->name, it->value);
				if (merge)
					written.insert(name_of(it->name));
			}
	if (merge) {
		written.insert("client");
		for (auto it = ev.MemberBegin(); it != ev.MemberEnd(); ++it)
			if (!known(it->name) && written.insert(name_of(it->name)).second) // of repeated names the first
				member(it->name, it->value);
		if (info != nullptr)
			for (auto it = info->MemberBegin(); it != info->MemberEnd(); ++it)
				if (written.insert(name_of(it->name)).second)
					member(it->name, it->value);
	}
	if (!first)
		p += ',';
	p += "\"client\":";
	p += client;
	p += '}';
	if (has_ts) {
		p += ",\"timestamp\":";
		core::AppendJsonString(p, timestamp);
	}
	p += ",\"received_at\":\"";
	p += NowIso();
	p += "\"}";
	return "";
}

} // namespace

std::string BuildFrontendMessage(const std::string &event_json, const std::string &client,
                                 const Categories *categories, FrontendMessage *out, std::string *detail,
                                 std::string *hint) {
	// The DOM's first chunk on the stack: rapidjson's default 64 KiB chunk per document was a
	// malloc + free per event (with glibc's fast-bin consolidation on the free).
	char chunk[16384];
	rapidjson::MemoryPoolAllocator<> pool(chunk, sizeof chunk);
	Doc ev(&pool);
	ev.Parse<kParseFlags>(event_json.c_str(), event_json.size());
	if (ev.HasParseError())
		return "each frontend event must be a JSON object";
	return BuildMessage(ev, event_json.size(), client, nullptr, categories, out, detail, hint);
}

FrontendCollector::FrontendCollector(const Config &config, const Categories *categories)
	: config_(config), categories_(categories) {}

FrontendCollector::~FrontendCollector() {
	Stop();
}

bool FrontendCollector::Start(std::string *error) {
	// The maintenance thread looks at the connection every 100 ms: no wake-up is needed.
	publisher_ = std::make_unique<nats::Publisher>(config_, &metrics_, nullptr);
	publisher_->SetTrackedAckHandler([this](uint64_t token, const nats::TrackedAck &ack) { OnAck(token, ack); });
	if (!publisher_->Start(error))
		return false;
	thread_ = std::thread([this] { Run(); });
	return true;
}

void FrontendCollector::Stop() {
	{
		std::lock_guard<std::mutex> lock(mutex_);
		if (stop_)
			return;
		stop_ = true;
		cv_.notify_one();
	}
	if (thread_.joinable())
		thread_.join();
	if (publisher_) {
		std::unique_lock<std::shared_mutex> lock(publish_mutex_);
		publisher_->Close();
	}
}

std::optional<http::Response> FrontendCollector::FailLocked(Pending &p, int status, const std::string &message) {
	if (p.done)
		return std::nullopt;
	p.done = true;
	Refused(status == 413 ? "too_large" : "nats").Inc();
	http::Response r = http::ErrorResponse(status, http::CodeForStatus(status), message, p.request_id);
	if (status == 503)
		r.headers.emplace_back("Retry-After", "1");
	return r;
}

void FrontendCollector::Fail(const PendingPtr &p, int status, const std::string &message) {
	std::optional<http::Response> r;
	{
		std::lock_guard<std::mutex> lock(mutex_);
		r = FailLocked(*p, status, message);
	}
	if (r)
		p->reply(std::move(*r));
}

void FrontendCollector::Submit(PendingPtr p, std::vector<FrontendMessage> messages) {
	if (!metrics_.nats_up.load())
		return Fail(p, 503, "NATS is not connected: the events were not accepted");
	const size_t n = messages.size();
	p->left = p->events = n;
	p->deadline = std::chrono::steady_clock::now() + kAckTimeout;
	// The tokens are registered before anything is sent: an answer can come before the publish
	// call returns.
	uint64_t first = 0;
	{
		std::unique_lock<std::mutex> lock(mutex_);
		if (stop_ || waiting_.size() + n > static_cast<uint64_t>(config_.max_inflight)) {
			std::optional<http::Response> r =
				FailLocked(*p, 503, stop_ ? "the sidecar is stopping" : "too many events waiting for JetStream");
			lock.unlock();
			return p->reply(std::move(*r));
		}
		first = next_token_;
		next_token_ += n;
		for (size_t i = 0; i < n; i++)
			waiting_.emplace(first + i, p);
		open_.push_back(p);
	}
	int status = 0;
	std::string message;
	{
		// Never waits: the lock is taken exclusively only while a connection is replaced.
		std::shared_lock<std::shared_mutex> lock(publish_mutex_, std::try_to_lock);
		if (!lock.owns_lock()) {
			status = 503;
			message = "NATS is reconnecting: the events were not accepted";
		}
		for (size_t i = 0; i < n && status == 0; i++) {
			const FrontendMessage &m = messages[i];
			std::string error;
			switch (publisher_->PublishTracked(first + i, m.event_id.c_str(), m.subject.c_str(), m.payload, &error)) {
			case nats::PublishResult::kOk:
				break;
			case nats::PublishResult::kTooLarge:
				status = 413;
				message = "event " + m.event_id + " is larger than NATS accepts: " + error;
				break;
			case nats::PublishResult::kNotConnected:
				status = 503;
				message = "NATS is not connected: the events were not accepted";
				break;
			case nats::PublishResult::kError:
				status = 503;
				message = "NATS publish failed: " + error;
				break;
			}
		}
	}
	if (status == 0)
		return;
	std::optional<http::Response> r;
	{
		std::lock_guard<std::mutex> lock(mutex_);
		for (size_t i = 0; i < n; i++)
			waiting_.erase(first + i); // late answers of what was sent are ignored
		r = FailLocked(*p, status, message);
	}
	if (r)
		p->reply(std::move(*r));
}

void FrontendCollector::OnAck(uint64_t token, const nats::TrackedAck &ack) {
	PendingPtr p;
	std::optional<http::Response> r;
	{
		std::lock_guard<std::mutex> lock(mutex_);
		auto it = waiting_.find(token);
		if (it == waiting_.end())
			return; // late answer of a request already answered
		p = std::move(it->second);
		waiting_.erase(it);
		if (p->done)
			return;
		if (!ack.ok) {
			r = FailLocked(*p, 503, "JetStream did not acknowledge an event: " +
			                          (ack.no_responders ? std::string("no stream on the subject") : ack.error));
		} else if (--p->left == 0) {
			p->done = true;
			p->accepted->Inc(p->events);
			r = api::Json(p->ok_status, std::move(p->ok_body));
		}
	}
	if (r)
		p->reply(std::move(*r));
}

void FrontendCollector::PublishMessages(std::vector<FrontendMessage> messages, int ok_status, std::string ok_body,
                                        const std::string &request_id, metrics::Counter *accepted, http::Reply reply) {
	if (messages.empty())
		return reply(api::Json(ok_status, std::move(ok_body)));
	auto p = std::make_shared<Pending>();
	p->accepted = accepted;
	p->reply = std::move(reply);
	p->request_id = request_id;
	p->ok_status = ok_status;
	p->ok_body = std::move(ok_body);
	Submit(std::move(p), std::move(messages));
}

void FrontendCollector::Run() {
	static metrics::Gauge &nats_up =
		metrics::Default().Gauge("event_frontend_nats_up", "1 while the frontend collector's NATS connection is up.").With();
	auto next_sweep = std::chrono::steady_clock::now();
	std::vector<std::pair<PendingPtr, http::Response>> answers;
	for (;;) {
		bool stopping;
		{
			std::unique_lock<std::mutex> lock(mutex_);
			cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
			stopping = stop_;
		}
		if (publisher_->NeedsRestart()) {
			std::unique_lock<std::shared_mutex> lock(publish_mutex_);
			publisher_->TakeReconnected();
		} else {
			publisher_->TakeReconnected(); // replaces nothing: no exclusive lock
		}
		nats_up.Set(metrics_.nats_up.load() ? 1 : 0);
		auto now = std::chrono::steady_clock::now();
		if (now < next_sweep && !stopping)
			continue;
		next_sweep = now + std::chrono::milliseconds(200);
		{
			std::lock_guard<std::mutex> lock(mutex_);
			size_t keep = 0;
			for (auto &p : open_) {
				if (!p->done && (stopping || now >= p->deadline))
					if (std::optional<http::Response> r = FailLocked(
							*p, 503, stopping ? "the sidecar is stopping" : "no JetStream acknowledgement in time"))
						answers.emplace_back(p, std::move(*r));
				if (!p->done)
					open_[keep++] = std::move(p);
			}
			open_.resize(keep);
			if (open_.empty())
				waiting_.clear();
			else
				for (auto it = waiting_.begin(); it != waiting_.end();)
					it = it->second->done ? waiting_.erase(it) : std::next(it);
		}
		for (auto &[p, r] : answers)
			p->reply(std::move(r));
		answers.clear();
		if (stopping)
			return;
	}
}

std::string FrontendCollector::ClientJson(const http::Request &req) const {
	std::string out = "{\"ip\":";
	core::AppendJsonString(out, ClientIp(req, config_.trusted_proxies));
	out += ",\"user_agent\":";
	AppendHeaderJson(out, req.Header("User-Agent"));
	out += ",\"referer\":";
	AppendHeaderJson(out, req.Header("Referer"));
	out += "}";
	return out;
}

void FrontendCollector::Single(http::Request &&req, http::Reply reply) {
	std::string json;
	http::Response error;
	if (!api::PrepareBody(req, api::JsonKind::kObject, true, &json, &error))
		return reply(std::move(error));
	std::vector<FrontendMessage> msgs(1);
	std::string detail, hint;
	std::string err = BuildFrontendMessage(json, ClientJson(req), categories_, &msgs[0], &detail, &hint);
	if (!err.empty())
		return reply(http::ErrorResponse(400, "bad_request", err, req.request_id, detail, hint));
	auto p = std::make_shared<Pending>();
	static metrics::Counter &accepted = Accepted("single");
	p->accepted = &accepted;
	p->reply = std::move(reply);
	p->request_id = req.request_id;
	p->ok_body = "{\"status\":\"accepted\",\"event_id\":\"" + msgs[0].event_id + "\",\"subject\":";
	core::AppendJsonString(p->ok_body, msgs[0].subject);
	p->ok_body += "}";
	Submit(std::move(p), std::move(msgs));
}

void FrontendCollector::Batch(http::Request &&req, http::Reply reply) {
	std::string json;
	http::Response error;
	if (!api::PrepareBody(req, api::JsonKind::kObject, false, &json, &error))
		return reply(std::move(error));
	const std::string rid = req.request_id;
	Doc body;
	body.Parse<kParseFlags>(json.c_str(), json.size());
	for (auto it = body.MemberBegin(); it != body.MemberEnd(); ++it)
		if (!(it->name == "events") && !(it->name == "client_info"))
			return reply(http::ErrorResponse(400, "bad_request",
			                                 "unknown field \"" + core::DisplayValue(it->name.GetString()) + "\"", rid,
			                                 "", "Fields: events, client_info."));
	auto events = body.FindMember("events");
	if (events == body.MemberEnd() || !events->value.IsArray())
		return reply(http::ErrorResponse(400, "bad_request", "events must be a JSON array", rid));
	size_t n = events->value.Size();
	if (n == 0 || n > kMaxFrontendBatch)
		return reply(http::ErrorResponse(400, "bad_request",
		                                 "a batch holds 1 to " + std::to_string(kMaxFrontendBatch) + " events, got " +
		                                     std::to_string(n),
		                                 rid));
	const rapidjson::Value *info = nullptr;
	size_t info_size = 0;
	auto ci = body.FindMember("client_info");
	if (ci != body.MemberEnd() && !ci->value.IsNull()) {
		if (!ci->value.IsObject())
			return reply(http::ErrorResponse(400, "bad_request", "client_info must be a JSON object", rid));
		rapidjson::StringBuffer sb;
		rapidjson::Writer<rapidjson::StringBuffer> w(sb);
		ci->value.Accept(w);
		// Copied into every event's metadata: unbounded, 1 MB of it in a batch of 1,000 would build
		// 1 GB of messages.
		if (sb.GetSize() > kMaxClientInfoBytes)
			return reply(http::ErrorResponse(
				400, "bad_request",
				"client_info takes " + std::to_string(sb.GetSize()) + " bytes; the limit is " +
					std::to_string(kMaxClientInfoBytes),
				rid, "", "client_info is merged into the metadata of every event of the batch: keep it to what "
				         "describes the client (app, version, device); put the rest in the events."));
		info = &ci->value;
		info_size = sb.GetSize();
	}
	const std::string client = ClientJson(req);
	std::vector<FrontendMessage> msgs(n);
	auto p = std::make_shared<Pending>();
	static metrics::Counter &accepted = Accepted("batch");
	p->accepted = &accepted;
	p->ok_body = "{\"status\":\"accepted\",\"count\":" + std::to_string(n) + ",\"event_ids\":[";
	// Each event read in place from the parsed body (not written out and parsed again).
	const size_t reserve = json.size() / n + info_size;
	for (size_t i = 0; i < n; i++) {
		std::string detail, hint;
		std::string err = BuildMessage(events->value[static_cast<rapidjson::SizeType>(i)], reserve, client, info,
		                               categories_, &msgs[i], &detail, &hint);
		if (!err.empty())
			return reply(http::ErrorResponse(400, "bad_request", "events[" + std::to_string(i) + "]: " + err, rid,
			                                 detail, hint));
		if (i > 0)
			p->ok_body += ',';
		p->ok_body += '"' + msgs[i].event_id + '"';
	}
	p->ok_body += "]}";
	p->reply = std::move(reply);
	p->request_id = rid;
	Submit(std::move(p), std::move(msgs));
}

void FrontendCollector::Health(http::Request &&, http::Reply reply) {
	bool up = metrics_.nats_up.load();
	std::string body = "{\"status\":";
	body += up ? "\"ok\"" : "\"unavailable\"";
	body += ",\"nats\":{\"connected\":";
	body += up ? "true" : "false";
	body += ",\"url\":";
	core::AppendJsonString(body, RedactUrl(config_.nats_url));
	body += "},\"stream\":";
	core::AppendJsonString(body, config_.stream_name);
	body += ",\"subjects\":\"events.frontend.>\"}";
	reply(api::Json(up ? 200 : 503, std::move(body)));
}

void FrontendCollector::AddRoutes(http::Router *router) {
	http::RouteOptions opts;
	opts.json_body = true;
	opts.cors = true;
	router->Add("POST", "/api/v1/events/frontend",
	            [this](http::Request &&req, http::Reply reply) { Single(std::move(req), std::move(reply)); }, opts);
	router->Add("POST", "/api/v1/events/frontend/batch",
	            [this](http::Request &&req, http::Reply reply) { Batch(std::move(req), std::move(reply)); }, opts);
	http::RouteOptions health;
	health.cors = true;
	router->Add("GET", "/api/v1/events/frontend/health",
	            [this](http::Request &&req, http::Reply reply) { Health(std::move(req), std::move(reply)); }, health);
}

} // namespace event::sidecar::collect
