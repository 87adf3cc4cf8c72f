// sidecar_api_test.cpp — the API's transport checks (api/common: JSON body checks, traceparent
// into metadata) and the API-key check of auth/key_cache (prefix lookup, constant-time hash
// comparison, scopes, revocation, token buckets) without a database.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

#include "api/common.hpp"
#include "auth/key_cache.hpp"
#include "delivery/signing.hpp"

namespace api = event::sidecar::api;
namespace auth = event::sidecar::auth;
namespace http = event::sidecar::http;
namespace pg = event::sidecar::pg;

namespace {

const std::string kTp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

std::string Inject(const std::string &body, api::JsonKind kind = api::JsonKind::kObject) {
	std::string out;
	std::string err = api::CheckJsonBody(body, kind, &kTp, &out);
	return err.empty() ? out : "ERROR: " + err;
}

std::string Check(const std::string &body, api::JsonKind kind = api::JsonKind::kObject) {
	std::string out;
	return api::CheckJsonBody(body, kind, nullptr, &out);
}

} // namespace

TEST(Traceparent, Valid) {
	EXPECT_TRUE(api::IsValidTraceparent(kTp));
	EXPECT_TRUE(api::IsValidTraceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra"));
}

TEST(Traceparent, Invalid) {
	for (const char *bad : {"", "00", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
	                        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
	                        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
	                        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
	                        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
	                        "00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01",
	                        "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01"})
		EXPECT_FALSE(api::IsValidTraceparent(bad)) << bad;
}

TEST(JsonBody, AcceptsOneValueOfTheKind) {
	EXPECT_EQ(Check("{\"a\": 1}"), "");
	EXPECT_EQ(Check(" \n{}\t"), "");
	EXPECT_EQ(Check("[{}]", api::JsonKind::kArray), "");
	std::string out;
	EXPECT_EQ(api::CheckJsonBody("{\"n\": 123456789012345678901234567890.5e300}", api::JsonKind::kObject, nullptr, &out),
	          "");
	EXPECT_EQ(out, "{\"n\": 123456789012345678901234567890.5e300}") << "numbers pass through unchanged";
	EXPECT_NE(Check("{\"n\": 1e400}"), "") << "beyond double range: refused (a documented limit of the check)";
}

TEST(JsonBody, Refuses) {
	EXPECT_NE(Check(""), "");
	EXPECT_NE(Check("{\"a\":1},{\"b\":2}"), "") << "two values would be two batch items";
	EXPECT_NE(Check("[{}]"), "") << "array where an object is wanted";
	EXPECT_NE(Check("{}", api::JsonKind::kArray), "");
	EXPECT_NE(Check("\"x\""), "");
	EXPECT_NE(Check(std::string("{\"a\":\"x\0y\"}", 12)), "") << "raw NUL";
	EXPECT_NE(Check("{\"a\":\"x\\u0000y\"}"), "") << "escaped NUL";
	EXPECT_NE(Check("{\"a\\u0000\":1}"), "") << "escaped NUL in a key";
	EXPECT_NE(Check("{\"a\":\"\xff\"}"), "") << "invalid UTF-8";
	EXPECT_NE(Check("{\"a\":\"\xc0\xaf\"}"), "") << "overlong UTF-8";
	EXPECT_NE(Check("{\"a\":\"\\ud800\"}"), "") << "lone surrogate";
	EXPECT_EQ(Check("{\"a\":" + std::string(500, '[') + std::string(500, ']') + "}"), "");
	EXPECT_NE(Check("{\"a\":" + std::string(600, '[') + std::string(600, ']') + "}"), "") << "too deep";
	EXPECT_NE(Check("{\"a\":" + std::string(1000000, '[')), "") << "a million levels: refused, no stack overflow";
}

TEST(JsonBody, TraceparentIntoMetadata) {
	const std::string m = "\"traceparent\":\"" + kTp + "\"";
	EXPECT_EQ(Inject("{}"), "{\"metadata\":{" + m + "}}");
	EXPECT_EQ(Inject("{\"a\":1}"), "{\"a\":1,\"metadata\":{" + m + "}}");
	EXPECT_EQ(Inject("{\"metadata\":{}}"), "{\"metadata\":{" + m + "}}");
	EXPECT_EQ(Inject("{\"metadata\":{\"x\":[1,{\"y\":2}]},\"b\":2}"),
	          "{\"metadata\":{\"x\":[1,{\"y\":2}]," + m + "},\"b\":2}");
	EXPECT_EQ(Inject("{\"metadata\":{\"traceparent\":\"mine\"}}"),
	          "{\"metadata\":{\"traceparent\":\"mine\"," + m + "}}")
		<< "the header comes last: jsonb keeps the last of duplicate keys";
	EXPECT_EQ(Inject("{\"data\":{\"metadata\":{}}}"), "{\"data\":{\"metadata\":{}},\"metadata\":{" + m + "}}")
		<< "only the top-level metadata";
	EXPECT_EQ(Inject("{\"metadata\":\"str\"}"), "{\"metadata\":\"str\"}") << "not an object: left for the extension";
	EXPECT_EQ(Inject("[{}, {\"metadata\":{\"a\":1}}]", api::JsonKind::kArray),
	          "[{\"metadata\":{" + m + "}}, {\"metadata\":{\"a\":1," + m + "}}]");
	EXPECT_EQ(Inject("[1, {}]", api::JsonKind::kArray), "[1, {\"metadata\":{" + m + "}}]");
}

TEST(BatchBody, UnwrapsTheEventsMember) {
	std::string out;
	EXPECT_EQ(api::UnwrapEvents("{\"events\": [{\"a\": [1, 2]}, {}]}", &out), "");
	EXPECT_EQ(out, "[{\"a\": [1, 2]}, {}]");
	EXPECT_EQ(api::UnwrapEvents(" {\n \"events\" :\t[ ] } ", &out), "");
	EXPECT_EQ(out, "[ ]");
	EXPECT_EQ(api::UnwrapEvents("{\"ev\\u0065nts\":[{\"x\":\"]\"}]}", &out), "") << "an escaped key";
	EXPECT_EQ(out, "[{\"x\":\"]\"}]");
	EXPECT_EQ(api::UnwrapEvents("{\"events\":[[[]],{\"events\":[9]}]}", &out), "") << "nested arrays and keys";
	EXPECT_EQ(out, "[[[]],{\"events\":[9]}]");
}

TEST(BatchBody, RefusesOtherShapes) {
	std::string out;
	EXPECT_NE(api::UnwrapEvents("{\"events\": [], \"atomic\": false}", &out).find("unknown field \"atomic\""),
	          std::string::npos);
	EXPECT_EQ(api::UnwrapEvents("{\"events\": {}}", &out), "events must be a JSON array");
	EXPECT_EQ(api::UnwrapEvents("{\"events\": 5}", &out), "events must be a JSON array");
	EXPECT_NE(api::UnwrapEvents("{}", &out).find("JSON array of events"), std::string::npos);
	EXPECT_NE(api::UnwrapEvents("{\"events\": [}", &out).find("malformed JSON"), std::string::npos);
	EXPECT_NE(api::UnwrapEvents(std::string("{\"events\": [\0]}", 15), &out).find("NUL"), std::string::npos);
	EXPECT_NE(api::UnwrapEvents(std::string(600, '[').insert(0, "{\"events\":"), &out).find("deeper"),
	          std::string::npos);
}

namespace {

std::string Sha256Hex(const std::string &s) {
	unsigned char d[32];
	unsigned int n = 0;
	EVP_Digest(s.data(), s.size(), d, &n, EVP_sha256(), nullptr);
	static const char kHex[] = "0123456789abcdef";
	std::string out;
	for (unsigned char b : d) {
		out += kHex[b >> 4];
		out += kHex[b & 15];
	}
	return out;
}

const std::string kSecret = "evk_5ac217e25b5a360925c48c27c17bb079ae43ca287f7db2f5c7eb0ab21ef73186";
const std::string kReadSecret = "evk_6ceb6430d7df5751859e67f09bc1abb340589b0a8bd452debbda7e952954d4c7";
const std::string kRevokedSecret = "evk_77777777d7df5751859e67f09bc1abb340589b0a8bd452debbda7e952954d4c7";

auth::KeyEntry Entry(const std::string &id, const std::string &secret, const std::string &scopes,
                     const std::string &rate, const std::string &revoked) {
	auth::KeyEntry k;
	EXPECT_TRUE(auth::ParseKeyRow(id, secret.substr(0, 12), Sha256Hex(secret), scopes, rate, revoked, &k));
	return k;
}

struct Keys : ::testing::Test {
	auth::KeyCache cache; // filled by Replace
	std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();

	void SetUp() override {
		cache.Replace({Entry("all", kSecret, "{read,write,admin}", "", "f"), Entry("ro", kReadSecret, "{read}", "2", "f"),
		               Entry("gone", kRevokedSecret, "{read,write,admin}", "", "t")});
	}
	int Status(const std::string *header, http::Scope scope = http::Scope::kRead, double at_s = 0) {
		return cache.CheckHeader(header, scope, t0 + std::chrono::microseconds(static_cast<int64_t>(at_s * 1e6))).status;
	}
	int Bearer(const std::string &token, http::Scope scope = http::Scope::kRead, double at_s = 0) {
		std::string h = "Bearer " + token;
		return Status(&h, scope, at_s);
	}
};

} // namespace

TEST_F(Keys, Allowed) {
	EXPECT_EQ(Bearer(kSecret), 0);
	EXPECT_EQ(Bearer(kSecret, http::Scope::kWrite), 0);
	EXPECT_EQ(Bearer(kSecret, http::Scope::kAdmin), 0);
	std::string lower = "bearer " + kSecret;
	EXPECT_EQ(Status(&lower), 0) << "the scheme is case-insensitive";
	EXPECT_EQ(cache.CheckHeader(&lower, http::Scope::kRead, t0).key_id, "all");
}

TEST_F(Keys, Refused) {
	EXPECT_EQ(Status(nullptr), 401);
	std::string basic = "Basic " + kSecret;
	EXPECT_EQ(Status(&basic), 401);
	EXPECT_EQ(Bearer(""), 401);
	EXPECT_EQ(Bearer(kSecret.substr(0, 12)), 401) << "the prefix alone";
	EXPECT_EQ(Bearer(kSecret.substr(0, 67)), 401) << "all but one character";
	std::string wrong = kSecret;
	wrong.back() = wrong.back() == '0' ? '1' : '0';
	EXPECT_EQ(Bearer(wrong), 401) << "known prefix, wrong secret";
	EXPECT_EQ(Bearer("evk_" + std::string(64, '0')), 401) << "unknown prefix";
	EXPECT_EQ(Bearer(kRevokedSecret), 401) << "revoked";
	EXPECT_EQ(Bearer(kReadSecret, http::Scope::kWrite), 403) << "wrong scope";
	EXPECT_EQ(Bearer(kReadSecret, http::Scope::kAdmin), 403);
}

TEST_F(Keys, RateLimitTokenBucket) {
	EXPECT_EQ(Bearer(kReadSecret, http::Scope::kRead, 0), 0);
	EXPECT_EQ(Bearer(kReadSecret, http::Scope::kRead, 0.01), 0);
	std::string h = "Bearer " + kReadSecret;
	http::AuthDecision d = cache.CheckHeader(&h, http::Scope::kRead, t0 + std::chrono::milliseconds(20));
	EXPECT_EQ(d.status, 429) << "burst of 2 used up";
	EXPECT_EQ(d.retry_after_s, 1);
	EXPECT_EQ(Bearer(kReadSecret, http::Scope::kRead, 0.6), 0) << "one token back after half a second at 2/s";
	EXPECT_EQ(Bearer(kReadSecret, http::Scope::kRead, 0.61), 429);
	EXPECT_EQ(Bearer(kSecret, http::Scope::kRead, 0.61), 0) << "other keys are not limited";
}

TEST(KeyCacheNotLoaded, Unavailable) {
	auth::KeyCache cache;
	std::string h = "Bearer " + kSecret;
	http::AuthDecision d = cache.CheckHeader(&h, http::Scope::kRead, std::chrono::steady_clock::now());
	EXPECT_EQ(d.status, 503);
	EXPECT_GT(d.retry_after_s, 0);
}

// Write keys of the tracking API (docs/collection.md): Basic auth, key as the user name.
namespace {
const std::string kWriteKey = "ewk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kRevokedWriteKey = "ewk_fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
std::string BasicOf(const std::string &user_password) {
	return "Basic " + event::sidecar::delivery::Base64(user_password);
}
} // namespace

TEST(BasicUser, Decodes) {
	std::string user;
	EXPECT_TRUE(auth::BasicUser(BasicOf("key:"), &user));
	EXPECT_EQ(user, "key");
	EXPECT_TRUE(auth::BasicUser("basic " + event::sidecar::delivery::Base64("k2:pw"), &user)) << "the scheme is case-insensitive";
	EXPECT_EQ(user, "k2");
	EXPECT_TRUE(auth::BasicUser(BasicOf("nocolon"), &user));
	EXPECT_EQ(user, "nocolon");
	EXPECT_FALSE(auth::BasicUser("Basic !!!notbase64", &user));
	EXPECT_FALSE(auth::BasicUser("Bearer " + event::sidecar::delivery::Base64("key:"), &user));
	EXPECT_FALSE(auth::BasicUser("Basic ", &user));
}

TEST(WriteKeys, CheckWriteKey) {
	auth::KeyCache cache;
	std::string ok = BasicOf(kWriteKey + ":");
	EXPECT_EQ(cache.CheckWriteKey(&ok).status, 503) << "not loaded yet";
	cache.ReplaceWriteKeys({Entry("w1", kWriteKey, "{}", "", "f"), Entry("w2", kRevokedWriteKey, "{}", "", "t")});
	http::AuthDecision d = cache.CheckWriteKey(&ok);
	EXPECT_EQ(d.status, 0);
	EXPECT_EQ(d.key_id, "w1");
	EXPECT_EQ(cache.CheckWriteKey(nullptr).status, 401);
	std::string bearer = "Bearer " + kWriteKey;
	EXPECT_EQ(cache.CheckWriteKey(&bearer).status, 401);
	std::string revoked = BasicOf(kRevokedWriteKey + ":");
	EXPECT_EQ(cache.CheckWriteKey(&revoked).status, 403);
	std::string wrong = kWriteKey;
	wrong.back() = '0'; // same prefix, other secret
	std::string wrong_h = BasicOf(wrong + ":");
	EXPECT_EQ(cache.CheckWriteKey(&wrong_h).status, 403);
	std::string api_key = BasicOf(kSecret + ":");
	EXPECT_EQ(cache.CheckWriteKey(&api_key).status, 403) << "an API key is no write key";
	EXPECT_EQ(cache.CheckHeader(&ok, http::Scope::kRead, std::chrono::steady_clock::now()).status, 401)
		<< "a write key is no API key";
}

// Boolean query parameters (?atomic=, ?enabled=) as clients send them.
TEST(BoolParam, AcceptsWhatClientsSend) {
	for (const char *yes : {"true", "True", "TRUE", "1"}) {
		bool v = false;
		EXPECT_TRUE(api::ParseBoolParam(yes, &v)) << yes;
		EXPECT_TRUE(v) << yes;
	}
	for (const char *no : {"false", "False", "FALSE", "0"}) {
		bool v = true;
		EXPECT_TRUE(api::ParseBoolParam(no, &v)) << no;
		EXPECT_FALSE(v) << no;
	}
	for (const char *bad : {"", "maybe", "yes", "t", "2", "true ", " false", "01", "truee"}) {
		bool v = true;
		EXPECT_FALSE(api::ParseBoolParam(bad, &v)) << bad;
		EXPECT_TRUE(v) << bad; // untouched
	}
}
