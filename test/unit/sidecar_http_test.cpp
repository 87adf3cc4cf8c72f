// sidecar_http_test.cpp — router matching, pre-body checks, request ids, target parsing, the
// SQLSTATE table, the JSON error shape, gzip inflation and reply batching of sidecar/http/.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "http/gzip.hpp"
#include "http/reply_batch.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "http/stream.hpp"

using namespace event::sidecar::http;

namespace {

Request Make(std::string method, std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
	Request r;
	r.method = std::move(method);
	r.target = path;
	r.path = std::move(path);
	r.headers = std::move(headers);
	r.request_id = "rid-1";
	return r;
}

// Runs Prepare and, when it lets the request through, Dispatch; returns the response.
Response RunRequest(const Router &router, Request req) {
	Prepared p = router.Prepare(&req);
	if (p.answer_now)
		return p.response;
	Response out;
	router.Dispatch(std::move(req), [&out](Response r) { out = std::move(r); });
	return out;
}

Handler Named(std::string name) {
	return [name](Request &&req, Reply reply) {
		Response r;
		r.body = name;
		for (const auto &[k, v] : req.params)
			r.body += " " + k + "=" + v;
		reply(std::move(r));
	};
}

} // namespace

TEST(SidecarRouter, ExactBeatsCaptureAndParams) {
	Router router;
	router.Add("GET", "/api/v1/events/{event_id}", Named("get"));
	router.Add("POST", "/api/v1/events/create", Named("create"));
	router.Add("GET", "/api/v1/events/stream/{stream_id}", Named("stream"));
	router.Add("GET", "/api/v1/events/statistics", Named("stats"));
	EXPECT_EQ(RunRequest(router, Make("GET", "/api/v1/events/abc")).body, "get event_id=abc");
	EXPECT_EQ(RunRequest(router, Make("GET", "/api/v1/events/statistics")).body, "stats");
	EXPECT_EQ(RunRequest(router, Make("GET", "/api/v1/events/stream/order:1")).body, "stream stream_id=order:1");
	EXPECT_EQ(RunRequest(router, Make("POST", "/api/v1/events/create")).body, "create");
	// "create" exists only for POST: 405 with Allow, never the capture route.
	Response r = RunRequest(router, Make("GET", "/api/v1/events/create"));
	EXPECT_EQ(r.status, 405);
	ASSERT_EQ(r.headers.size(), 1u);
	EXPECT_EQ(r.headers[0].first, "Allow");
	EXPECT_EQ(r.headers[0].second, "POST");
	EXPECT_NE(r.body.find("\"request_id\":\"rid-1\""), std::string::npos) << r.body;
	EXPECT_EQ(RunRequest(router, Make("GET", "/api/v1/events")).status, 404);
	EXPECT_EQ(RunRequest(router, Make("GET", "/api/v1/events/")).status, 404); // empty capture
	EXPECT_EQ(RunRequest(router, Make("GET", "/api/v1/events/a/b")).status, 404);
	Response nf = RunRequest(router, Make("GET", "/nope"));
	EXPECT_EQ(nf.status, 404);
	EXPECT_EQ(nf.content_type, "application/json");
	EXPECT_NE(nf.body.find("\"code\":\"not_found\""), std::string::npos);
	// HEAD is served by the GET route.
	EXPECT_EQ(RunRequest(router, Make("HEAD", "/api/v1/events/statistics")).body, "stats");
}

TEST(SidecarRouter, ContentTypeEncodingAndLength) {
	Router router;
	RouteOptions o;
	o.json_body = true;
	o.max_body = 100;
	router.Add("POST", "/j", Named("j"), o);
	auto post = [&](std::vector<std::pair<std::string, std::string>> h) { return RunRequest(router, Make("POST", "/j", h)); };
	EXPECT_EQ(post({{"Content-Length", "2"}, {"Content-Type", "application/json"}}).status, 200);
	EXPECT_EQ(post({{"Content-Length", "2"}, {"content-type", "Application/JSON; charset=utf-8"}}).status, 200);
	EXPECT_EQ(post({{"Content-Length", "2"}, {"Content-Type", "text/plain"}}).status, 415);
	EXPECT_EQ(post({{"Content-Length", "2"}}).status, 415);
	EXPECT_EQ(post({{"Transfer-Encoding", "chunked"}, {"Content-Type", "application/jsonx"}}).status, 415);
	EXPECT_EQ(post({{"Content-Length", "101"}, {"Content-Type", "application/json"}}).status, 413);
	EXPECT_EQ(post({{"Content-Length", "2"}, {"Content-Type", "application/json"}, {"Content-Encoding", "br"}}).status,
			  415);
	Request req = Make("POST", "/j", {{"Content-Length", "2"}, {"Content-Type", "application/json"},
									  {"Content-Encoding", "gzip"}});
	Prepared p = router.Prepare(&req);
	EXPECT_FALSE(p.answer_now);
	EXPECT_TRUE(p.gzip);
	EXPECT_EQ(p.max_body, 100u);
}

TEST(SidecarRouter, AuthenticatorAndScopes) {
	Router router;
	RouteOptions o;
	o.scope = Scope::kWrite;
	router.Add("POST", "/w", Named("w"), o);
	router.Add("GET", "/open", Named("open"));
	// No authenticator configured: a scoped route is unavailable, never open.
	EXPECT_EQ(RunRequest(router, Make("POST", "/w")).status, 503);
	Scope seen = Scope::kNone;
	int calls = 0;
	router.SetAuthenticator([&](const Request &req, Scope s) {
		++calls;
		seen = s;
		AuthDecision d;
		const std::string *a = req.Header("authorization");
		if (!a) {
			d.status = 401;
			d.message = "missing key";
		} else if (*a == "Bearer slow") {
			d.status = 429;
			d.code = "rate_limited";
			d.message = "slow down";
			d.retry_after_s = 3;
		} else {
			d.key_id = "k1";
		}
		return d;
	});
	Response r = RunRequest(router, Make("POST", "/w"));
	EXPECT_EQ(r.status, 401);
	EXPECT_NE(r.body.find("\"code\":\"unauthorized\""), std::string::npos) << r.body;
	EXPECT_EQ(seen, Scope::kWrite);
	r = RunRequest(router, Make("POST", "/w", {{"Authorization", "Bearer slow"}}));
	EXPECT_EQ(r.status, 429);
	ASSERT_EQ(r.headers.size(), 1u);
	EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Retry-After", "3"}));
	Request ok = Make("POST", "/w", {{"Authorization", "Bearer x"}});
	EXPECT_FALSE(router.Prepare(&ok).answer_now);
	EXPECT_EQ(ok.key_id, "k1");
	calls = 0;
	EXPECT_EQ(RunRequest(router, Make("GET", "/open")).status, 200);
	EXPECT_EQ(calls, 0); // kNone routes never ask
}

TEST(SidecarRouter, CorsPreflightAndHeaders) {
	Router router;
	RouteOptions o;
	o.cors = true;
	router.Add("POST", "/c", Named("c"), o);
	router.Add("POST", "/plain", Named("p"));
	Request pre = Make("OPTIONS", "/c", {{"Origin", "https://a.example"}, {"Access-Control-Request-Method", "POST"}});
	Prepared p = router.Prepare(&pre);
	ASSERT_TRUE(p.answer_now);
	EXPECT_EQ(p.response.status, 204);
	auto has = [](const Response &r, const std::string &k, const std::string &v) {
		for (const auto &h : r.headers)
			if (h.first == k && h.second == v)
				return true;
		return false;
	};
	EXPECT_TRUE(has(p.response, "Access-Control-Allow-Origin", "*"));
	EXPECT_TRUE(has(p.response, "Access-Control-Allow-Methods", "POST, OPTIONS"));
	// Not a CORS route: OPTIONS is a 405.
	EXPECT_EQ(RunRequest(router, Make("OPTIONS", "/plain", {{"Origin", "https://a.example"}})).status, 405);
	router.SetCorsOrigins({"https://b.example"});
	Request bad = Make("OPTIONS", "/c", {{"Origin", "https://a.example"}});
	EXPECT_EQ(router.Prepare(&bad).response.status, 403);
	Request good = Make("POST", "/c", {{"Origin", "https://b.example"}});
	Response res;
	router.AddCorsHeaders(good, &res);
	EXPECT_TRUE(has(res, "Access-Control-Allow-Origin", "https://b.example"));
	EXPECT_TRUE(has(res, "Vary", "Origin"));
}

TEST(SidecarRouter, HandlerExceptionIs500) {
	Router router;
	router.Add("GET", "/t", [](Request &&, Reply) { throw std::runtime_error("boom"); });
	Response r = RunRequest(router, Make("GET", "/t"));
	EXPECT_EQ(r.status, 500);
	EXPECT_NE(r.body.find("\"request_id\":\"rid-1\""), std::string::npos);
	EXPECT_EQ(r.body.find("boom"), std::string::npos); // internals are logged, not sent
}

TEST(SidecarRequest, RequestIdRules) {
	EXPECT_TRUE(IsSaneRequestId("abc-123_XYZ.~"));
	EXPECT_TRUE(IsSaneRequestId(std::string(128, 'a')));
	EXPECT_FALSE(IsSaneRequestId(std::string(129, 'a')));
	EXPECT_FALSE(IsSaneRequestId(""));
	EXPECT_FALSE(IsSaneRequestId("a b"));
	EXPECT_FALSE(IsSaneRequestId("a\nb"));
	EXPECT_FALSE(IsSaneRequestId("caf\xc3\xa9"));
	std::string id = GenerateRequestId();
	EXPECT_EQ(id.size(), 32u);
	EXPECT_TRUE(IsSaneRequestId(id));
	EXPECT_NE(id, GenerateRequestId());
	std::string mine = "client-id";
	EXPECT_EQ(ChooseRequestId(&mine), "client-id");
	std::string bad = "bad id";
	EXPECT_NE(ChooseRequestId(&bad), "bad id");
	EXPECT_EQ(ChooseRequestId(nullptr).size(), 32u);
}

TEST(SidecarRequest, TargetParsing) {
	std::string path;
	std::vector<std::pair<std::string, std::string>> q;
	ASSERT_TRUE(ParseTarget("/a%20b/c?x=1&y=a+b&z=%26&flag&&x=2", &path, &q));
	EXPECT_EQ(path, "/a b/c");
	ASSERT_EQ(q.size(), 5u);
	EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"x", "1"}));
	EXPECT_EQ(q[1].second, "a b");
	EXPECT_EQ(q[2].second, "&");
	EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"flag", ""}));
	Request r;
	r.query = q;
	ASSERT_NE(r.Query("x"), nullptr);
	EXPECT_EQ(*r.Query("x"), "1");
	EXPECT_EQ(r.Query("nope"), nullptr);
	for (const char *bad : {"", "x", "http://h/a", "/a%zz", "/a%2", "/a%00", "/a?x=%00", "/a#frag"})
		EXPECT_FALSE(ParseTarget(bad, &path, &q)) << bad;
	r.headers = {{"Content-Type", "a"}, {"X-Two", "1"}, {"x-two", "2"}};
	EXPECT_EQ(*r.Header("content-TYPE"), "a");
	EXPECT_EQ(*r.Header("X-TWO"), "1");
	EXPECT_EQ(r.Header("Missing"), nullptr);
}

TEST(SidecarErrors, SqlstateTable) {
	EXPECT_EQ(StatusForSqlstate("EV001"), 409);
	EXPECT_EQ(StatusForSqlstate("EV002"), 400);
	for (const char *s : {"22023", "22P02", "22007", "22008", "2201B", "22001", "22999"})
		EXPECT_EQ(StatusForSqlstate(s), 400) << s;
	EXPECT_EQ(StatusForSqlstate("54000"), 413);
	EXPECT_EQ(StatusForSqlstate("23505"), 409);
	EXPECT_EQ(StatusForSqlstate("42501"), 403);
	for (const char *s : {"57P01", "57P02", "57P03", "08006", "08001", "08P01", "53300", "40001", "40P01"})
		EXPECT_EQ(StatusForSqlstate(s), 503) << s;
	EXPECT_EQ(StatusForSqlstate("XX000"), 500);
	EXPECT_EQ(StatusForSqlstate("42883"), 500);
	EXPECT_EQ(StatusForSqlstate(""), 500);
	EXPECT_EQ(StatusForSqlstate("22"), 500); // not a SQLSTATE
}

// docs/errors.md lists each SQLSTATE we raise with the HTTP status the API answers; the table in
// http/response.cpp must give exactly those (the test runs from the repository root).
TEST(SidecarErrors, SqlstateTableMatchesErrorsDoc) {
	std::ifstream doc("docs/errors.md");
	ASSERT_TRUE(doc.good()) << "run from the repository root";
	std::string line;
	int rows = 0;
	while (std::getline(doc, line)) {
		if (line.rfind("| `", 0) != 0 || line.size() < 10 || line[8] != '`')
			continue;
		const std::string code = line.substr(3, 5);
		const size_t last = line.find_last_not_of(" |");
		const size_t start = line.find_last_of('|', last);
		const int status = std::atoi(line.substr(start + 1, last - start).c_str());
		if (status < 100)
			continue;
		EXPECT_EQ(StatusForSqlstate(code), status) << code;
		rows++;
	}
	EXPECT_GE(rows, 10);
}

TEST(SidecarErrors, ErrorShape) {
	Response r = ErrorResponse(409, "conflict", "stale \"version\"", "r1", "expected 1, actual 2", "", "EV001");
	EXPECT_EQ(r.status, 409);
	EXPECT_EQ(r.content_type, "application/json");
	EXPECT_EQ(r.body, "{\"error\":{\"code\":\"conflict\",\"message\":\"stale \\\"version\\\"\",\"request_id\":\"r1\","
					  "\"detail\":\"expected 1, actual 2\",\"sqlstate\":\"EV001\"}}");
	EXPECT_EQ(ErrorResponse(404, "not_found", "x", "r").body,
			  "{\"error\":{\"code\":\"not_found\",\"message\":\"x\",\"request_id\":\"r\"}}");
	EXPECT_STREQ(CodeForStatus(413), "payload_too_large");
	EXPECT_STREQ(ReasonPhrase(431), "Request Header Fields Too Large");
}

TEST(SidecarGzip, InflateLimitsAndErrors) {
	std::string text(10000, 'x');
	std::string gz = GzipCompress(text);
	ASSERT_LT(gz.size(), text.size());
	std::string out;
	EXPECT_EQ(Gunzip(gz, 10000, &out), InflateResult::kOk);
	EXPECT_EQ(out, text);
	EXPECT_EQ(Gunzip(gz, 9999, &out), InflateResult::kTooLarge);
	EXPECT_LE(out.size(), 9999u);
	// Two members concatenated are one valid gzip body.
	EXPECT_EQ(Gunzip(GzipCompress("ab") + GzipCompress("cd"), 100, &out), InflateResult::kOk);
	EXPECT_EQ(out, "abcd");
	// A bomb: 64 MB of zeros in ~64 KB; the output never exceeds the limit.
	std::string bomb = GzipCompress(std::string(64 << 20, '\0'));
	EXPECT_LT(bomb.size(), 100000u);
	EXPECT_EQ(Gunzip(bomb, 1 << 20, &out), InflateResult::kTooLarge);
	EXPECT_LE(out.size(), size_t{1} << 20);
	EXPECT_EQ(Gunzip("not gzip", 100, &out), InflateResult::kBadData);
	EXPECT_EQ(Gunzip(gz.substr(0, gz.size() / 2), 100000, &out), InflateResult::kBadData); // truncated
	EXPECT_EQ(Gunzip(gz + "junk", 100000, &out), InflateResult::kBadData);
	EXPECT_EQ(Gunzip("", 100, &out), InflateResult::kBadData);
}

TEST(SidecarStream, SseEventFormat) {
	EXPECT_EQ(SseEvent("{\"a\":1}"), "data: {\"a\":1}\n\n");
	EXPECT_EQ(SseEvent("x", "42", "event"), "id: 42\nevent: event\ndata: x\n\n");
	EXPECT_EQ(SseEvent("line1\nline2"), "data: line1\ndata: line2\n\n"); // a newline never ends the event
	EXPECT_EQ(SseEvent(""), "data: \n\n");
}

namespace {

// A fake I/O thread: the posts it received, each a task list to run.
struct Target {
	std::vector<std::function<void()>> posts;
};
void PostTo(void *target, std::function<void()> task) { static_cast<Target *>(target)->posts.push_back(std::move(task)); }

} // namespace

TEST(ReplyBatch, OnePostPerTargetAndInOrder) {
	Target a, b;
	std::vector<int> ran;
	PostReply(&a, PostTo, [&] { ran.push_back(0); });
	EXPECT_EQ(a.posts.size(), 1u) << "without a batch every reply is posted at once";
	{
		ReplyBatch outer;
		PostReply(&a, PostTo, [&] { ran.push_back(1); });
		PostReply(&b, PostTo, [&] { ran.push_back(2); });
		{
			ReplyBatch inner;
			PostReply(&a, PostTo, [&] { ran.push_back(3); });
		}
		EXPECT_EQ(a.posts.size(), 1u) << "held until the outermost batch ends";
		EXPECT_TRUE(b.posts.empty());
	}
	ASSERT_EQ(a.posts.size(), 2u) << "one post for both replies to a";
	ASSERT_EQ(b.posts.size(), 1u);
	for (auto &post : a.posts)
		post();
	b.posts[0]();
	EXPECT_EQ(ran, (std::vector<int>{0, 1, 3, 2}));
}
