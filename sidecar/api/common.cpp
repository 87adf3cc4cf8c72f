// common.cpp — shared pieces of the API handlers (see common.hpp).
#include "api/common.hpp"

#include "core/rapidjson.hpp"
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>

#include "core/json.hpp"
#include "metrics/registry.hpp"

namespace event::sidecar::api {

namespace {

// The nesting depth of a SAX handler, refused beyond kMaxJsonDepth.
struct Nesting {
	int depth = 0;
	bool too_deep = false;
	bool nul = false; // a U+0000 in a string (Scanner)
	bool Open() {
		if (++depth > kMaxJsonDepth) {
			too_deep = true;
			return false;
		}
		return true;
	}
};

// SAX handler: depth limit, and where to put metadata.traceparent. Offsets are byte positions in
// the body; each "close" is the position of the '}' that ends the object.
struct Scanner : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Scanner>, Nesting {
	const rapidjson::StringStream *stream = nullptr;
	JsonKind kind = JsonKind::kObject;
	bool first = true;           // the next value is the document's root
	bool root_is_object = false; // of the current item (root, or array element at depth 1)
	int item_depth = 1;          // depth of the item objects: 1 for an object body, 2 for an array
	bool key_is_metadata = false;
	bool in_metadata = false;    // inside the item's metadata object (its own level)
	bool metadata_is_object = false;
	bool have_metadata = false;
	struct Edit {
		size_t at;
		bool comma;
		bool wrap; // insert "metadata":{...} into the item instead of into its metadata
	};
	std::vector<Edit> edits;
	size_t metadata_close = 0;
	size_t metadata_members = 0;

	// With kParseIterativeFlag, EndObject is called before the '}' is taken: Tell() is its
	// position (test/unit/sidecar_api_test.cpp pins this down).
	size_t ClosePos() const { return stream->Tell(); }
	bool Value() { // a scalar
		if (first) {
			first = false;
			return true;
		}
		if (depth == item_depth && key_is_metadata)
			metadata_is_object = false, have_metadata = true;
		key_is_metadata = false;
		return true;
	}
	bool Null() { return Value(); }
	bool Bool(bool) { return Value(); }
	bool RawNumber(const char *, rapidjson::SizeType, bool) { return Value(); }
	// jsonb cannot store U+0000 in a string: refused here already, so that one such request
	// does not spoil a whole group-commit array.
	bool NoNul(const char *s, rapidjson::SizeType n) {
		nul = std::memchr(s, 0, n) != nullptr;
		return !nul;
	}
	bool String(const char *s, rapidjson::SizeType n, bool) { return NoNul(s, n) && Value(); }
	bool Key(const char *s, rapidjson::SizeType n, bool) {
		if (!NoNul(s, n))
			return false;
		key_is_metadata = depth == item_depth && std::string_view(s, n) == "metadata";
		return true;
	}
	bool StartObject() {
		first = false;
		if (depth + 1 == item_depth) {
			have_metadata = false;
			metadata_is_object = false;
		}
		if (depth == item_depth && key_is_metadata) {
			have_metadata = true;
			metadata_is_object = true;
			in_metadata = true;
		}
		key_is_metadata = false;
		return Open();
	}
	bool EndObject(rapidjson::SizeType members) {
		depth--;
		if (in_metadata && depth == item_depth) {
			in_metadata = false;
			metadata_close = ClosePos();
			metadata_members = members;
		} else if (depth + 1 == item_depth) {
			// The end of an item object: its edit.
			if (!have_metadata)
				edits.push_back(Edit{ClosePos(), members > 0, true});
			else if (metadata_is_object)
				edits.push_back(Edit{metadata_close, metadata_members > 0, false});
		}
		return true;
	}
	bool StartArray() {
		first = false;
		if (depth == item_depth && key_is_metadata)
			have_metadata = true, metadata_is_object = false;
		key_is_metadata = false;
		return Open();
	}
	bool EndArray(rapidjson::SizeType) {
		depth--;
		return true;
	}
};

// SAX handler of UnwrapEvents: the byte range of the root object's "events" array, and any
// other member of the root (refused).
struct EventsMember : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EventsMember>, Nesting {
	const std::string *body = nullptr;
	const rapidjson::StringStream *stream = nullptr;
	bool key_is_events = false;
	bool in_events = false; // inside the events array (at any depth below it)
	bool events_not_array = false;
	size_t start = std::string::npos, end = std::string::npos;
	std::string unknown; // the first member that is not "events"

	bool Default() { // a scalar, or a nested value's start
		if (depth == 1 && key_is_events)
			events_not_array = true;
		key_is_events = false;
		return true;
	}
	bool Null() { return Default(); }
	bool Bool(bool) { return Default(); }
	bool RawNumber(const char *, rapidjson::SizeType, bool) { return Default(); }
	bool String(const char *, rapidjson::SizeType, bool) { return Default(); }
	bool Key(const char *s, rapidjson::SizeType n, bool) {
		if (depth == 1) {
			key_is_events = std::string_view(s, n) == "events";
			if (!key_is_events && unknown.empty())
				unknown.assign(s, n);
		}
		return true;
	}
	bool StartObject() {
		Default();
		return Open();
	}
	bool EndObject(rapidjson::SizeType) {
		depth--;
		return true;
	}
	bool StartArray() {
		if (depth == 1 && key_is_events) {
			// The '[' is at Tell() or just before it, whichever the reader's mode gives.
			size_t at = stream->Tell();
			start = at < body->size() && (*body)[at] == '[' ? at : at - 1;
			in_events = true;
			key_is_events = false;
		} else {
			Default();
		}
		return Open();
	}
	bool EndArray(rapidjson::SizeType) {
		depth--;
		if (depth == 1 && in_events) {
			size_t at = stream->Tell();
			end = at < body->size() && (*body)[at] == ']' ? at + 1 : at;
			in_events = false;
		}
		return true;
	}
};

// Runs handler over body (its stream set to the body's): "" or the message of a 400.
template <class Handler> std::string Scan(const std::string &body, Handler *handler) {
	// A raw NUL byte is never valid JSON, and it would end rapidjson's input early.
	if (body.find('\0') != std::string::npos)
		return "malformed JSON: NUL byte in the body";
	rapidjson::StringStream stream(body.c_str());
	handler->stream = &stream;
	rapidjson::Reader reader;
	constexpr unsigned kFlags =
		rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;
	rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, *handler);
	handler->stream = nullptr;
	if (handler->nul)
		return "\\u0000 is not allowed in JSON strings (PostgreSQL jsonb cannot store it)";
	if (handler->too_deep)
		return "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
	if (!ok)
		return std::string("malformed JSON: ") + rapidjson::GetParseError_En(ok.Code()) + " at byte " +
		       std::to_string(ok.Offset());
	return "";
}

} // namespace

void RegisterMetrics(const Context &ctx) {
	auto &reg = metrics::Default();
	pg::Pool *pool = ctx.pool;
	GroupCommitter *committer = ctx.committer;
	reg.Callback("event_api_pg_connections", "gauge", "Open PostgreSQL connections of the HTTP API pool.",
	             [pool] { return "event_api_pg_connections " + std::to_string(pool->ConnectionsUp()) + "\n"; });
	reg.Callback("event_api_pg_available", "gauge", "1 when the HTTP API pool has a PostgreSQL connection, else 0.",
	             [pool] { return std::string("event_api_pg_available ") + (pool->Available() ? "1" : "0") + "\n"; });
	reg.Callback("event_api_pg_queue_depth", "gauge", "Queries waiting for a connection of the HTTP API pool.",
	             [pool] { return "event_api_pg_queue_depth " + std::to_string(pool->QueueDepth()) + "\n"; });
	reg.Callback("event_api_group_commit_pending", "gauge", "Single-event creates waiting for a group commit.",
	             [committer] { return "event_api_group_commit_pending " + std::to_string(committer->Pending()) + "\n"; });
	auto &sizes = reg.Histogram("event_api_group_commit_batch_size", "Creates committed per group-commit transaction.",
	                            {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000});
	metrics::Histogram &h = sizes.With();
	committer->SetBatchObserver([&h](size_t n) { h.Observe(static_cast<double>(n)); });
}

http::Response Json(int status, std::string body) {
	http::Response r;
	r.status = status;
	r.body = std::move(body);
	return r;
}

http::Response DbFailure(pg::Result::Status status, const std::string &sqlstate, const std::string &message,
                         const std::string &detail, const std::string &hint, const std::string &request_id) {
	switch (status) {
	case pg::Result::Status::kUnavailable: {
		http::Response r = http::ErrorResponse(503, "unavailable", "the database is unavailable, retry later",
		                                       request_id, message);
		r.headers.emplace_back("Retry-After", "1");
		return r;
	}
	case pg::Result::Status::kOverloaded: {
		http::Response r =
			http::ErrorResponse(429, "overloaded", "too many requests waiting for the database, retry later",
			                    request_id, message);
		r.headers.emplace_back("Retry-After", "1");
		return r;
	}
	default:
		break;
	}
	int code = http::StatusForSqlstate(sqlstate);
	http::Response r = http::ErrorResponse(code, http::CodeForStatus(code), message, request_id, detail, hint, sqlstate);
	if (code == 503)
		r.headers.emplace_back("Retry-After", "1");
	return r;
}

http::Response DbFailure(const pg::Result &r, const std::string &request_id) {
	return DbFailure(r.status, r.sqlstate, r.message, r.detail, r.hint, request_id);
}

void RunQuery(const Context &ctx, const std::string &request_id, http::Reply reply, std::string sql,
              std::vector<std::optional<std::string>> params, OnRows on_ok) {
	auto shared_reply = std::make_shared<http::Reply>(std::move(reply));
	pg::Query q;
	q.sql = std::move(sql);
	q.params = std::move(params);
	q.done = [shared_reply, request_id, on_ok = std::move(on_ok)](pg::Result r) {
		(*shared_reply)(r.ok() ? on_ok(r) : DbFailure(r, request_id));
	};
	pg::Result::Status refusal = pg::Result::Status::kUnavailable;
	if (!ctx.pool->Submit(std::move(q), &refusal))
		(*shared_reply)(DbFailure(refusal, "", "", "", "", request_id));
}

std::string CheckJsonBody(const std::string &body, JsonKind kind, const std::string *traceparent, std::string *out) {
	Scanner scan;
	scan.kind = kind;
	scan.item_depth = kind == JsonKind::kObject ? 1 : 2;
	std::string bad = Scan(body, &scan);
	if (!bad.empty())
		return bad;
	size_t start = body.find_first_not_of(" \t\r\n");
	char first = start == std::string::npos ? 0 : body[start];
	if (kind == JsonKind::kObject && first != '{')
		return "the request body must be a JSON object";
	if (kind == JsonKind::kArray && first != '[')
		return "the request body must be a JSON array";
	if (traceparent == nullptr) {
		*out = body;
		return "";
	}
	std::string member = "\"traceparent\":" + core::JsonQuote(*traceparent);
	out->clear();
	out->reserve(body.size() + scan.edits.size() * (member.size() + 16));
	size_t from = 0;
	for (const auto &e : scan.edits) {
		out->append(body, from, e.at - from);
		if (e.comma)
			out->push_back(',');
		if (e.wrap)
			*out += "\"metadata\":{" + member + "}";
		else
			*out += member;
		from = e.at;
	}
	out->append(body, from, std::string::npos);
	return "";
}

std::string UnwrapEvents(const std::string &body, std::string *array) {
	EventsMember scan;
	scan.body = &body;
	std::string bad = Scan(body, &scan);
	if (!bad.empty())
		return bad;
	if (!scan.unknown.empty())
		return "unknown field \"" + scan.unknown + "\": the body is a JSON array of events or {\"events\": [...]}";
	if (scan.events_not_array)
		return "events must be a JSON array";
	if (scan.start == std::string::npos || scan.end == std::string::npos || scan.end <= scan.start)
		return "the request body must be a JSON array of events or {\"events\": [...]}";
	array->assign(body, scan.start, scan.end - scan.start);
	return "";
}

bool IsValidTraceparent(const std::string &v) {
	// 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
	if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-')
		return false;
	auto hex = [&v](size_t from, size_t n) {
		for (size_t i = from; i < from + n; i++)
			if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
				return false;
		return true;
	};
	auto zeros = [&v](size_t from, size_t n) { return v.compare(from, n, std::string(n, '0')) == 0; };
	if (!hex(0, 2) || !hex(3, 32) || !hex(36, 16) || !hex(53, 2))
		return false;
	if (v.compare(0, 2, "ff") == 0 || zeros(3, 32) || zeros(36, 16))
		return false;
	// Version 00 has exactly these fields; later versions may append "-..." fields.
	if (v.compare(0, 2, "00") == 0)
		return v.size() == 55;
	return v.size() == 55 || v[55] == '-';
}

const std::string *Traceparent(const http::Request &req, std::string *bad) {
	const std::string *tp = req.Header("traceparent");
	if (tp != nullptr && !IsValidTraceparent(*tp))
		*bad = "invalid traceparent header: expected 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>";
	return tp;
}

bool PrepareBody(const http::Request &req, JsonKind kind, bool with_traceparent, std::string *json,
                 http::Response *error) {
	std::string bad;
	const std::string *tp = with_traceparent ? Traceparent(req, &bad) : nullptr;
	if (!bad.empty()) {
		*error = http::ErrorResponse(400, "bad_request", bad, req.request_id);
		return false;
	}
	std::string err = CheckJsonBody(req.body, kind, tp, json);
	if (!err.empty()) {
		*error = http::ErrorResponse(400, "invalid_json", err, req.request_id);
		return false;
	}
	return true;
}

OnRows OneValue(int status, std::string request_id, std::string not_found) {
	return [status, rid = std::move(request_id), nf = std::move(not_found)](const pg::Result &r) {
		if (!nf.empty() && r.IsNull(0, 0))
			return http::ErrorResponse(404, "not_found", nf, rid);
		return Json(status, r.Value(0, 0));
	};
}

void RunPathQuery(const Context &ctx, const http::Request &req, http::Reply reply, std::string sql,
                  std::initializer_list<const char *> path_params, int status) {
	std::vector<std::optional<std::string>> params;
	for (const char *name : path_params) {
		auto it = req.params.find(name);
		params.emplace_back(it == req.params.end() ? std::nullopt : std::optional<std::string>(it->second));
	}
	RunQuery(ctx, req.request_id, std::move(reply), std::move(sql), std::move(params), OneValue(status));
}

namespace {

std::string JoinNames(const std::vector<const char *> &names) {
	std::string out;
	for (const char *n : names)
		out += (out.empty() ? "" : ", ") + std::string(n);
	return out;
}

std::vector<const char *> Names(const std::vector<BodyField> &fields) {
	std::vector<const char *> names;
	for (const BodyField &f : fields)
		names.push_back(f.name);
	return names;
}

} // namespace

bool QueryParams(const http::Request &req, const std::vector<const char *> &names, bool strict,
                 std::vector<std::optional<std::string>> *out, http::Response *error) {
	if (strict) {
		for (const auto &[name, value] : req.query) {
			bool known = false;
			for (const char *n : names)
				known = known || name == n;
			if (!known) {
				*error = http::ErrorResponse(
					400, "bad_request", "unknown query parameter \"" + name + "\" (allowed: " + JoinNames(names) + ")",
					req.request_id);
				return false;
			}
		}
	}
	for (const char *n : names) {
		const std::string *v = req.Query(n);
		out->push_back(v ? std::optional<std::string>(*v) : std::nullopt);
	}
	return true;
}

std::string TypeChecks(const std::string &obj, const std::string &prefix, const std::vector<BodyField> &fields) {
	std::string out;
	for (const BodyField &f : fields) {
		std::string type = f.json_type;
		if (type.empty())
			continue;
		std::string member = obj + "->'" + f.name + "'";
		std::string what = f.string_items ? "an array of strings"
		                                  : (type == "object" || type == "array" ? "an " : "a ") + type;
		std::string message = prefix + f.name + " must be " + what;
		out += " WHEN pg_catalog.jsonb_typeof(" + member + ") NOT IN ('" + type + "', 'null') THEN '" + message + "'";
		if (f.string_items)
			out += " WHEN pg_catalog.jsonb_typeof(" + member + ") = 'array' AND EXISTS (SELECT 1 FROM "
			       "pg_catalog.jsonb_array_elements(" + member + ") e WHERE pg_catalog.jsonb_typeof(e) <> 'string') "
			       "THEN '" + message + "'";
	}
	return out;
}

std::string UnknownFieldCheck(const std::string &obj, const std::vector<BodyField> &fields, const std::string &where) {
	std::string known;
	for (const BodyField &f : fields)
		known += (known.empty() ? "'" : ", '") + std::string(f.name) + "'";
	std::string unknown = "FROM pg_catalog.jsonb_object_keys(" + obj + ") k WHERE k NOT IN (" + known + ")";
	std::string guard = where.empty() ? "" : "pg_catalog.jsonb_typeof(" + obj + ") = 'object' AND ";
	return " WHEN " + guard + "EXISTS (SELECT 1 " + unknown + ") THEN 'unknown field" +
	       (where.empty() ? "" : " in " + where) + " \"' || (SELECT pg_catalog.min(k) " + unknown +
	       ") || '\" (allowed: " + JoinNames(Names(fields)) + ")'";
}

std::string CheckedBodySql(const std::string &call, const std::string &checks) {
	return "SELECT CASE WHEN p IS NULL THEN " + call + " END, p FROM (SELECT r, CASE" + checks +
	       " END AS p FROM (SELECT $1::jsonb AS r) x) y";
}

std::string CheckedBodySql(const std::string &call, const std::vector<BodyField> &fields) {
	return CheckedBodySql(call, TypeChecks("r", "", fields) + UnknownFieldCheck("r", fields));
}

void RunBodyQuery(const Context &ctx, http::Request &&req, http::Reply reply, const std::string &sql,
                  StatusFor status_for, bool empty_is_object) {
	std::string json;
	http::Response error;
	if (empty_is_object && req.body.empty())
		req.body = "{}";
	if (!PrepareBody(req, JsonKind::kObject, false, &json, &error))
		return reply(std::move(error));
	std::string rid = req.request_id;
	RunQuery(ctx, rid, std::move(reply), sql, {std::move(json)},
	         [rid, status_for = std::move(status_for)](const pg::Result &r) {
		         if (r.columns > 1 && !r.IsNull(0, 1))
			         return http::ErrorResponse(400, "bad_request", r.Value(0, 1), rid);
		         return Json(status_for(r.Value(0, 0)), r.Value(0, 0));
	         });
}

void RunBodyQuery(const Context &ctx, http::Request &&req, http::Reply reply, const std::string &sql, int status,
                  bool empty_is_object) {
	RunBodyQuery(
		ctx, std::move(req), std::move(reply), sql, [status](const std::string &) { return status; }, empty_is_object);
}

bool ParseBoolParam(const std::string &value, bool *out) {
	if (http::EqualsIgnoreCase(value, "true") || value == "1")
		*out = true;
	else if (http::EqualsIgnoreCase(value, "false") || value == "0")
		*out = false;
	else
		return false;
	return true;
}

} // namespace event::sidecar::api
