// tracking.cpp — the Segment/RudderStack tracking API and the RudderStack webhook (see tracking.hpp).
#include "collect/tracking.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <ctime>
#include <unordered_set>

#include "api/common.hpp"
#include "core/errors.hpp"
#include "core/hex.hpp"
#include "core/json.hpp"
#include "core/subject.hpp"
#include "core/uuid7.hpp"
#include "core/validate.hpp"
#include "delivery/signing.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::collect {

namespace {

constexpr int64_t kUsPerSecond = 1000000;
constexpr int64_t kMsPerDay = 86400 * 1000LL;
// A messageId's event_id takes its time from the message's own timestamp only within this window
// around the receipt (else the receipt's day): a wild client clock must not create partitions.
constexpr int64_t kIdTimePastMs = 20 * 366 * kMsPerDay;
constexpr int64_t kIdTimeFutureMs = kMsPerDay;
constexpr char kSignatureHeader[] = "X-Signature";
constexpr char kSignaturePrefix[] = "sha256=";

using Doc = rapidjson::Document;
constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

const char *const kTypes[] = {"track", "identify", "page", "screen", "group", "alias"};

// The event_category of a call type: one of the built-in categories (event.event_categories).
const char *CategoryOf(const std::string &type) {
	if (type == "track")
		return "user_action";
	if (type == "page" || type == "screen")
		return "page_view";
	return "user_lifecycle"; // identify, group, alias
}

metrics::Counter &Accepted(const char *route) {
	static auto &family = metrics::Default().Counter(
		"event_tracking_messages_accepted_total",
		"Tracking API and RudderStack webhook messages acknowledged by JetStream and answered 2xx.", {"route"});
	return family.With({route});
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) { // Howard Hinnant's algorithm
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = static_cast<unsigned>(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t at, size_t n, int *out) {
	if (at + n > s.size())
		return false;
	int v = 0;
	for (size_t i = at; i < at + n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

std::string Serialize(const rapidjson::Value &v) {
	rapidjson::StringBuffer sb;
	rapidjson::Writer<rapidjson::StringBuffer> w(sb);
	v.Accept(w);
	return std::string(sb.GetString(), sb.GetSize());
}

// A string member, or a number as its JSON text (SDKs accept numeric ids); nullopt-like "" with
// *present false when absent or null. False when the member has another type.
bool IdMember(const rapidjson::Value &msg, const char *name, std::string *value, bool *present) {
	*present = false;
	auto it = msg.FindMember(name);
	if (it == msg.MemberEnd() || it->value.IsNull())
		return true;
	if (it->value.IsString())
		value->assign(it->value.GetString(), it->value.GetStringLength());
	else if (it->value.IsNumber())
		*value = Serialize(it->value);
	else
		return false;
	*present = !value->empty();
	return true;
}

// A time member: absent/null -> *us untouched and false in *present; "" on success, else the error.
std::string TimeMember(const rapidjson::Value &msg, const char *name, int64_t *us, bool *present) {
	*present = false;
	auto it = msg.FindMember(name);
	if (it == msg.MemberEnd() || it->value.IsNull())
		return "";
	if (!it->value.IsString() || !ParseIsoTime(std::string_view(it->value.GetString(), it->value.GetStringLength()), us))
		return std::string(name) + " must be an ISO 8601 time such as \"2024-05-01T12:00:00.000Z\"";
	*present = true;
	return "";
}

// A body as the JSON kind its first byte announces (the webhook and /collect take both).
api::JsonKind KindOf(const std::string &body) {
	size_t start = body.find_first_not_of(" \t\r\n");
	return start != std::string::npos && body[start] == '[' ? api::JsonKind::kArray : api::JsonKind::kObject;
}

} // namespace

bool ParseIsoTime(std::string_view s, int64_t *unix_us) {
	int y, mo, d, h = 0, mi = 0, sec = 0;
	if (s.size() > 64 || !Digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2, &mo) || s[7] != '-' ||
	    !Digits(s, 8, 2, &d))
		return false;
	size_t i = 10;
	int64_t frac_us = 0, offset_s = 0;
	if (i < s.size()) {
		if ((s[i] != 'T' && s[i] != 't' && s[i] != ' ') || !Digits(s, i + 1, 2, &h) || i + 3 >= s.size() ||
		    s[i + 3] != ':' || !Digits(s, i + 4, 2, &mi))
			return false;
		i += 6;
		if (i < s.size() && s[i] == ':') {
			if (!Digits(s, i + 1, 2, &sec))
				return false;
			i += 3;
		}
		if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
			size_t n = 0;
			int64_t scale = 100000;
			for (i++; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++, n++) {
				frac_us += (s[i] - '0') * scale;
				scale /= 10;
			}
			if (n == 0)
				return false;
		}
		if (i == s.size())
			return false; // a time needs its zone: the client's local time is unknown
		if (s[i] == 'Z' || s[i] == 'z') {
			i++;
		} else if (s[i] == '+' || s[i] == '-') {
			int oh, om;
			size_t colon = i + 3 < s.size() && s[i + 3] == ':' ? 1 : 0;
			if (!Digits(s, i + 1, 2, &oh) || !Digits(s, i + 3 + colon, 2, &om) || oh > 23 || om > 59)
				return false;
			offset_s = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
			i += 5 + colon;
		} else {
			return false;
		}
		if (i != s.size())
			return false;
	}
	static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return false;
	int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
	*unix_us = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_s) * kUsPerSecond + frac_us;
	return true;
}

std::string FormatIsoTime(int64_t unix_us) {
	int64_t secs = unix_us / kUsPerSecond, us = unix_us % kUsPerSecond;
	if (us < 0) {
		us += kUsPerSecond;
		secs--;
	}
	time_t t = static_cast<time_t>(secs);
	tm parts{};
	gmtime_r(&t, &parts);
	char buf[48];
	size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &parts);
	std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us));
	return buf;
}

std::string MessageEventId(std::string_view scope, std::string_view message_id, int64_t time_ms) {
	std::string input;
	input.reserve(scope.size() + 1 + message_id.size());
	input.append(scope).append(1, '\n').append(message_id);
	unsigned char h[32];
	unsigned int len = 0;
	EVP_Digest(input.data(), input.size(), h, &len, EVP_sha256(), nullptr);
	core::Uuid id;
	uint64_t ms = static_cast<uint64_t>(time_ms) & 0xffffffffffffULL;
	for (int i = 0; i < 6; i++)
		id.bytes[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
	for (int i = 6; i < 16; i++)
		id.bytes[i] = h[i];
	id.bytes[6] = static_cast<uint8_t>(0x70 | (h[6] & 0x0f));
	id.bytes[8] = static_cast<uint8_t>(0x80 | (h[8] & 0x3f));
	return core::FormatUuid(id);
}

std::string MapTrackingMessage(const rapidjson::Value &msg, const TrackingContext &ctx, FrontendMessage *out) {
	if (!msg.IsObject())
		return "each message must be a JSON object";
	std::string type = ctx.type;
	if (type.empty()) {
		auto it = msg.FindMember("type");
		if (it != msg.MemberEnd() && it->value.IsString())
			type.assign(it->value.GetString(), it->value.GetStringLength());
		else if (ctx.webhook && (it == msg.MemberEnd() || it->value.IsNull()))
			type = "track";
		else
			return "type is required: one of track, identify, page, screen, group, alias";
	}
	bool known = false;
	for (const char *t : kTypes)
		known = known || type == t;
	if (!known)
		return "unknown message type \"" + core::DisplayValue(type) +
		       "\": expected track, identify, page, screen, group or alias";

	std::string user_id, anonymous_id, previous_id, message_id;
	bool has_user, has_anon, has_previous, has_message_id;
	if (!IdMember(msg, "userId", &user_id, &has_user))
		return "userId must be a string";
	if (!IdMember(msg, "anonymousId", &anonymous_id, &has_anon))
		return "anonymousId must be a string";
	if (!IdMember(msg, "previousId", &previous_id, &has_previous))
		return "previousId must be a string";
	if (!IdMember(msg, "messageId", &message_id, &has_message_id))
		return "messageId must be a string";
	if (!ctx.webhook && !has_user && !has_anon && !(type == "alias" && has_previous))
		return type == "alias" ? "alias needs userId and previousId" : "userId or anonymousId is required";
	if (message_id.size() > 255)
		return "messageId is longer than 255 bytes";

	std::string event_type = type;
	auto ev = msg.FindMember("event");
	bool has_event = ev != msg.MemberEnd() && ev->value.IsString() && ev->value.GetStringLength() > 0;
	if (ev != msg.MemberEnd() && !ev->value.IsNull() && !ev->value.IsString())
		return "event must be a string";
	if (type == "track" && !has_event)
		return "a track message needs its event name in \"event\"";
	if (has_event && (type == "track" || ctx.webhook))
		event_type.assign(ev->value.GetString(), ev->value.GetStringLength());

	const bool uses_traits = type == "identify" || type == "group";
	const char *data_field = uses_traits ? "traits" : "properties";
	for (const char *obj : {"properties", "traits", "context", "integrations"}) {
		auto it = msg.FindMember(obj);
		if (it != msg.MemberEnd() && !it->value.IsNull() && !it->value.IsObject())
			return std::string(obj) + " must be a JSON object";
	}

	// Times: timestamp = receivedAt - (sentAt - originalTimestamp) when the client sent both.
	int64_t original_us = 0, timestamp_us = 0, sent_us = 0;
	bool has_original, has_timestamp, has_sent;
	std::string err;
	if (!(err = TimeMember(msg, "originalTimestamp", &original_us, &has_original)).empty() ||
	    !(err = TimeMember(msg, "timestamp", &timestamp_us, &has_timestamp)).empty() ||
	    !(err = TimeMember(msg, "sentAt", &sent_us, &has_sent)).empty())
		return err;
	if (!has_sent && !ctx.sent_at.empty())
		has_sent = ParseIsoTime(ctx.sent_at, &sent_us);
	if (!has_original && has_timestamp) {
		original_us = timestamp_us;
		has_original = true;
	}
	int64_t event_us = ctx.received_us;
	if (ctx.webhook && has_timestamp)
		event_us = timestamp_us; // RudderStack corrected it already
	else if (has_original && has_sent)
		event_us = ctx.received_us - (sent_us - original_us);
	else if (has_original)
		event_us = original_us;

	try {
		event_type = core::ValidateEventType(event_type);
		if (has_user)
			core::ValidateUserId(user_id);
		else if (has_anon)
			core::ValidateUserId(anonymous_id);
	} catch (const core::SqlError &e) {
		return e.message() + (e.detail().empty() ? "" : ": " + e.detail());
	}

	const int64_t received_ms = ctx.received_us / 1000;
	if (has_message_id) {
		int64_t original_ms = original_us / 1000;
		bool usable = has_original && original_ms >= received_ms - kIdTimePastMs &&
		              original_ms <= received_ms + kIdTimeFutureMs && original_ms >= 0;
		// Without a usable client time: the receipt's UTC day, spread by the id's hash.
		int64_t ms = usable ? original_ms : received_ms - received_ms % kMsPerDay;
		out->event_id = MessageEventId(ctx.scope, message_id, ms);
		if (!usable) {
			int64_t spread = 0;
			for (int i = 24; i < 32; i += 2)
				spread = spread * 16 + core::HexDigitValue(out->event_id[i]);
			out->event_id = MessageEventId(ctx.scope, message_id, ms + spread % kMsPerDay);
		}
	} else {
		out->event_id = NewFrontendEventId();
	}
	const char *category = CategoryOf(type);
	out->subject = core::EventSubject("frontend", category, event_type);

	// data: properties (track, page, screen) or traits (identify, group), with anonymousId.
	Doc data;
	auto dit = msg.FindMember(data_field);
	if (dit != msg.MemberEnd() && dit->value.IsObject())
		data.CopyFrom(dit->value, data.GetAllocator());
	else
		data.SetObject();
	if (has_anon) {
		data.RemoveMember("anonymousId");
		data.AddMember("anonymousId", rapidjson::Value(anonymous_id.c_str(), data.GetAllocator()), data.GetAllocator());
	}
	// metadata.tracking: the message without its data field and writeKey, plus receivedAt.
	Doc tracking;
	tracking.SetObject();
	auto &alloc = tracking.GetAllocator();
	for (auto it = msg.MemberBegin(); it != msg.MemberEnd(); ++it)
		if (!(it->name == data_field) && !(it->name == "writeKey") && !(it->name == "receivedAt"))
			tracking.AddMember(rapidjson::Value(it->name, alloc), rapidjson::Value(it->value, alloc), alloc);
	if (!tracking.HasMember("type"))
		tracking.AddMember("type", rapidjson::Value(type.c_str(), alloc), alloc);
	if (!tracking.HasMember("sentAt") && !ctx.sent_at.empty())
		tracking.AddMember("sentAt", rapidjson::Value(ctx.sent_at.c_str(), alloc), alloc);
	std::string received = FormatIsoTime(ctx.received_us);
	tracking.AddMember("receivedAt", rapidjson::Value(received.c_str(), alloc), alloc);
	if (!ctx.stream.empty())
		tracking.AddMember("stream", rapidjson::Value(ctx.stream.c_str(), alloc), alloc);

	std::string &p = out->payload;
	p.clear();
	const bool has_id = has_user || has_anon;
	AppendMessageHead(p, out->event_id, event_type, category, has_id ? (has_user ? &user_id : &anonymous_id) : nullptr);
	p += ",\"data\":";
	p += Serialize(data);
	p += ",\"metadata\":{\"tracking\":";
	p += Serialize(tracking);
	p += ",\"client\":";
	p += ctx.client;
	if (!ctx.webhook) {
		p += ",\"write_key_id\":";
		core::AppendJsonString(p, ctx.scope);
	}
	p += "},\"event_time\":\"";
	p += FormatIsoTime(event_us);
	p += "\",\"received_at\":\"";
	p += received;
	p += "\"}";
	return "";
}

TrackingApi::TrackingApi(const Config &config, FrontendCollector *frontend, auth::KeyCache *keys)
	: config_(config), frontend_(frontend), keys_(keys) {}

void TrackingApi::Publish(http::Request &&req, http::Reply reply, TrackingContext ctx, Shape shape, int ok_status,
                          const char *route) {
	const std::string rid = req.request_id;
	std::string json;
	if (std::string err = api::CheckJsonBody(req.body, shape == Shape::kOne ? api::JsonKind::kObject : KindOf(req.body),
	                                         nullptr, &json);
	    !err.empty())
		return reply(http::ErrorResponse(400, "invalid_json", err, rid));
	if (shape == Shape::kBatch && KindOf(req.body) != api::JsonKind::kObject)
		return reply(http::ErrorResponse(400, "bad_request", "the body must be {\"batch\": [...]}", rid));
	Doc body;
	body.Parse<kParseFlags>(json.c_str(), json.size());
	if (body.HasParseError())
		return reply(http::ErrorResponse(400, "invalid_json", "malformed JSON", rid));
	const rapidjson::Value *list = nullptr;
	if (body.IsArray()) {
		list = &body;
	} else if (shape != Shape::kOne && body.HasMember("batch")) {
		list = &body["batch"];
		if (!list->IsArray())
			return reply(http::ErrorResponse(400, "bad_request", "batch must be a JSON array", rid));
		auto sent = body.FindMember("sentAt");
		if (sent != body.MemberEnd() && sent->value.IsString())
			ctx.sent_at.assign(sent->value.GetString(), sent->value.GetStringLength());
	} else if (shape == Shape::kBatch) {
		return reply(http::ErrorResponse(400, "bad_request", "the body must be {\"batch\": [...]}", rid));
	}
	size_t n = list ? list->Size() : 1;
	std::vector<FrontendMessage> messages;
	messages.reserve(n);
	std::unordered_set<std::string> ids;
	for (size_t i = 0; i < n; i++) {
		const rapidjson::Value &m = list ? (*list)[static_cast<rapidjson::SizeType>(i)] : body;
		std::string where = list ? "batch[" + std::to_string(i) + "]: " : "";
		size_t size = list ? Serialize(m).size() : json.size();
		if (size > kMaxTrackingMessageBytes)
			return reply(http::ErrorResponse(400, "message_too_large",
			                                 where + "message of " + std::to_string(size) + " bytes is larger than " +
			                                     std::to_string(kMaxTrackingMessageBytes / 1024) + " KB",
			                                 rid, "", "Send smaller messages; nothing of this request was accepted."));
		FrontendMessage fm;
		if (std::string err = MapTrackingMessage(m, ctx, &fm); !err.empty())
			return reply(http::ErrorResponse(400, "bad_request", where + err, rid, "",
			                                 "Nothing of this request was accepted."));
		if (ids.insert(fm.event_id).second) // a messageId repeated in the request is one event
			messages.push_back(std::move(fm));
	}
	std::string ok = ok_status == 200 ? "{\"success\":true}"
	                                  : "{\"status\":\"accepted\",\"count\":" + std::to_string(messages.size()) + "}";
	frontend_->PublishMessages(std::move(messages), ok_status, std::move(ok), rid, &Accepted(route), std::move(reply));
}

void TrackingApi::Track(http::Request &&req, http::Reply reply, const char *type, Shape shape) {
	http::AuthDecision auth = keys_->CheckWriteKey(req.Header("Authorization"));
	if (auth.status != 0) {
		http::Response r = http::ErrorResponse(auth.status, auth.code, auth.message, req.request_id);
		if (auth.retry_after_s > 0)
			r.headers.emplace_back("Retry-After", std::to_string(auth.retry_after_s));
		if (auth.status == 401)
			r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"event\"");
		return reply(std::move(r));
	}
	TrackingContext ctx;
	ctx.type = type;
	ctx.scope = auth.key_id;
	timespec ts{};
	clock_gettime(CLOCK_REALTIME, &ts);
	ctx.received_us = static_cast<int64_t>(ts.tv_sec) * kUsPerSecond + ts.tv_nsec / 1000;
	ctx.client = frontend_->ClientJson(req);
	auto stream = req.params.find("stream");
	if (stream != req.params.end()) {
		if (stream->second.empty() || stream->second.size() > 255 || core::HasControlChars(stream->second))
			return reply(http::ErrorResponse(400, "bad_request", "invalid stream in the path", req.request_id));
		ctx.stream = stream->second;
	}
	const char *route = shape == Shape::kAny ? "collect" : shape == Shape::kBatch ? "batch" : type;
	Publish(std::move(req), std::move(reply), std::move(ctx), shape, 200, route);
}

void TrackingApi::Webhook(http::Request &&req, http::Reply reply) {
	if (!config_.rudderstack_secret.empty()) {
		const std::string *sig = req.Header(kSignatureHeader);
		if (sig == nullptr)
			return reply(http::ErrorResponse(401, "unauthorized", "missing X-Signature: sha256=<hex HMAC-SHA256 of the body>",
			                                 req.request_id));
		std::string_view v(*sig);
		unsigned char given[32] = {};
		bool well_formed = v.size() == sizeof(kSignaturePrefix) - 1 + 64 &&
		                   http::EqualsIgnoreCase(v.substr(0, sizeof(kSignaturePrefix) - 1), kSignaturePrefix);
		for (size_t i = 0; well_formed && i < 32; i++) {
			int hi = core::HexDigitValue(v[7 + 2 * i]), lo = core::HexDigitValue(v[8 + 2 * i]);
			well_formed = hi >= 0 && lo >= 0;
			given[i] = static_cast<unsigned char>(well_formed ? hi * 16 + lo : 0);
		}
		std::string expected = delivery::HmacSha256(config_.rudderstack_secret, req.body);
		bool match = expected.size() == 32 && CRYPTO_memcmp(expected.data(), given, 32) == 0;
		if (!well_formed || !match)
			return reply(http::ErrorResponse(
				403, "forbidden", well_formed ? "X-Signature does not match the body" : "malformed X-Signature",
				req.request_id, "", "Send X-Signature: sha256=<64 hex digits of HMAC-SHA256(secret, raw body)>."));
	}
	TrackingContext ctx;
	ctx.scope = "rudderstack";
	ctx.webhook = true;
	timespec ts{};
	clock_gettime(CLOCK_REALTIME, &ts);
	ctx.received_us = static_cast<int64_t>(ts.tv_sec) * kUsPerSecond + ts.tv_nsec / 1000;
	ctx.client = frontend_->ClientJson(req);
	Publish(std::move(req), std::move(reply), std::move(ctx), Shape::kAny, 202, "rudderstack");
}

void TrackingApi::AddRoutes(http::Router *router) {
	http::RouteOptions opts;
	opts.max_body = kMaxTrackingBodyBytes;
	opts.cors = true; // browsers (analytics.js) send text/plain bodies to avoid a preflight
	for (const char *type : kTypes)
		router->Add("POST", std::string("/v1/") + type,
		            [this, type](http::Request &&req, http::Reply reply) {
			            Track(std::move(req), std::move(reply), type, Shape::kOne);
		            },
		            opts);
	router->Add("POST", "/v1/batch",
	            [this](http::Request &&req, http::Reply reply) { Track(std::move(req), std::move(reply), "", Shape::kBatch); },
	            opts);
	for (const char *path : {"/collect", "/collect/{stream}"})
		router->Add("POST", path,
		            [this](http::Request &&req, http::Reply reply) { Track(std::move(req), std::move(reply), "", Shape::kAny); },
		            opts);
	http::RouteOptions hook;
	hook.max_body = kMaxTrackingBodyBytes;
	router->Add("POST", "/webhooks/rudderstack",
	            [this](http::Request &&req, http::Reply reply) { Webhook(std::move(req), std::move(reply)); }, hook);
}

} // namespace event::sidecar::collect
