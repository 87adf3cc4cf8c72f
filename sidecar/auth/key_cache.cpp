// key_cache.cpp — the cached API-key check and its periodic reload (see key_cache.hpp).
#include "auth/key_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cmath>
#include <cstring>

#include "core/hex.hpp"
#include "delivery/signing.hpp"
#include "log.hpp"

namespace event::sidecar::auth {

namespace {

constexpr std::string_view kSecretPrefix = "evk_";
constexpr size_t kSecretLength = 4 + 64;
constexpr size_t kPrefixLength = 12;

constexpr char kLoadSql[] = "SELECT k.id, k.prefix, pg_catalog.encode(k.secret_hash, 'hex'), k.scopes, k.rate_limit, "
                            "k.revoked FROM event.api_key_hashes() k";
constexpr char kLoadWriteKeysSql[] =
	"SELECT k.id, k.prefix, pg_catalog.encode(k.secret_hash, 'hex'), '{}', '', k.revoked FROM event.write_key_hashes() k";
constexpr std::string_view kWriteKeyPrefix = "ewk_";

http::AuthDecision Deny(int status, const char *code, std::string message) {
	http::AuthDecision d;
	d.status = status;
	d.code = code;
	d.message = std::move(message);
	return d;
}

bool HasScope(const KeyEntry &k, http::Scope scope) {
	switch (scope) {
	case http::Scope::kNone:
		return true;
	case http::Scope::kRead:
		return k.read || k.admin;
	case http::Scope::kWrite:
		return k.write || k.admin;
	case http::Scope::kAdmin:
		return k.admin;
	}
	return false;
}

std::shared_ptr<const std::map<std::string, KeyEntry, std::less<>>> ByPrefix(std::vector<KeyEntry> keys) {
	auto map = std::make_shared<std::map<std::string, KeyEntry, std::less<>>>();
	for (KeyEntry &k : keys)
		map->emplace(k.prefix, std::move(k));
	return map;
}

} // namespace

bool ParseKeyRow(const std::string &id, const std::string &prefix, const std::string &hash_hex,
                 const std::string &scopes, const std::string &rate_limit, const std::string &revoked, KeyEntry *out) {
	if (hash_hex.size() != 64 || prefix.size() != kPrefixLength)
		return false;
	out->id = id;
	out->prefix = prefix;
	for (size_t i = 0; i < 32; i++) {
		int hi = core::HexDigitValue(hash_hex[2 * i]), lo = core::HexDigitValue(hash_hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out->hash[i] = static_cast<unsigned char>(hi * 16 + lo);
	}
	if (scopes.size() < 2 || scopes.front() != '{' || scopes.back() != '}')
		return false;
	std::string_view list(scopes.data() + 1, scopes.size() - 2);
	while (!list.empty()) {
		size_t comma = list.find(',');
		std::string_view s = list.substr(0, comma);
		out->read |= s == "read";
		out->write |= s == "write";
		out->admin |= s == "admin";
		list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
	}
	out->rate_limit = rate_limit.empty() ? 0 : std::atoi(rate_limit.c_str());
	out->revoked = revoked == "t";
	return true;
}

const KeyEntry *FindKey(const std::map<std::string, KeyEntry, std::less<>> &keys, std::string_view secret) {
	auto it = keys.find(secret.substr(0, kPrefixLength));
	unsigned char digest[32];
	unsigned int digest_len = 0;
	if (!EVP_Digest(secret.data(), secret.size(), digest, &digest_len, EVP_sha256(), nullptr) || digest_len != 32)
		return nullptr;
	// The hash is compared even for an unknown prefix (against a dummy), so timing does not tell
	// known prefixes apart.
	static const unsigned char kDummy[32] = {};
	bool match = CRYPTO_memcmp(digest, it == keys.end() ? kDummy : it->second.hash, 32) == 0;
	return it == keys.end() || !match ? nullptr : &it->second;
}

bool BasicUser(std::string_view authorization, std::string *user) {
	if (authorization.size() < 6 || !http::EqualsIgnoreCase(authorization.substr(0, 6), "Basic "))
		return false;
	std::string_view b64 = authorization.substr(6);
	while (!b64.empty() && b64.front() == ' ')
		b64.remove_prefix(1);
	while (!b64.empty() && b64.back() == ' ')
		b64.remove_suffix(1);
	std::string out;
	if (b64.empty() || b64.size() > 4096 || !delivery::Base64Decode(b64, &out))
		return false;
	size_t colon = out.find(':');
	*user = out.substr(0, colon);
	return true;
}

bool KeyCache::Loaded() const {
	std::lock_guard<std::mutex> lock(mu_);
	return keys_ != nullptr;
}

void KeyCache::Replace(std::vector<KeyEntry> keys) {
	auto map = ByPrefix(std::move(keys));
	std::lock_guard<std::mutex> lock(mu_);
	keys_ = std::move(map);
}

void KeyCache::ReplaceWriteKeys(std::vector<KeyEntry> keys) {
	auto map = ByPrefix(std::move(keys));
	std::lock_guard<std::mutex> lock(mu_);
	write_keys_ = std::move(map);
}

http::AuthDecision KeyCache::CheckWriteKey(const std::string *authorization) const {
	if (authorization == nullptr)
		return Deny(401, "unauthorized", "missing write key: send it as the Basic-auth user name");
	std::string key;
	if (!BasicUser(*authorization, &key))
		return Deny(401, "unauthorized", "malformed Authorization header: expected Basic base64(<write key>:)");
	std::shared_ptr<const KeyMap> keys;
	{
		std::lock_guard<std::mutex> lock(mu_);
		keys = write_keys_;
	}
	if (!keys) {
		http::AuthDecision d = Deny(503, "unavailable", "write keys not loaded yet: PostgreSQL is unavailable");
		d.retry_after_s = 1;
		return d;
	}
	const KeyEntry *k = key.size() == kSecretLength && key.compare(0, kWriteKeyPrefix.size(), kWriteKeyPrefix) == 0
	                        ? FindKey(*keys, key)
	                        : nullptr;
	if (k == nullptr)
		return Deny(403, "forbidden", "invalid write key");
	if (k->revoked) {
		http::AuthDecision d = Deny(403, "forbidden", "write key revoked");
		d.key_id = k->id;
		return d;
	}
	http::AuthDecision ok;
	ok.key_id = k->id;
	return ok;
}

namespace {

// The rows of event.api_key_hashes() / write_key_hashes(); a malformed row is skipped.
std::vector<KeyEntry> KeyRows(const pg::Result &r) {
	std::vector<KeyEntry> keys;
	for (int i = 0; i < r.rows; i++) {
		KeyEntry k;
		if (ParseKeyRow(r.Value(i, 0), r.Value(i, 1), r.Value(i, 2), r.Value(i, 3), r.Value(i, 4), r.Value(i, 5), &k))
			keys.push_back(std::move(k));
	}
	return keys;
}

} // namespace

// When PostgreSQL is away the last loaded keys stay in force (no revocation can be learnt
// meanwhile either).
void KeyCache::Register(pg::Refresher *refresher) {
	refresher->Add("API keys", kLoadSql, [this](const pg::Result &r) { Replace(KeyRows(r)); });
	refresher->Add("write keys", kLoadWriteKeysSql, [this](const pg::Result &r) { ReplaceWriteKeys(KeyRows(r)); });
}

http::AuthDecision KeyCache::Check(const http::Request &req, http::Scope scope) {
	return CheckHeader(req.Header("Authorization"), scope, std::chrono::steady_clock::now());
}

http::AuthDecision KeyCache::CheckHeader(const std::string *authorization, http::Scope scope,
                                         std::chrono::steady_clock::time_point now) {
	if (authorization == nullptr)
		return Deny(401, "unauthorized", "missing API key: send Authorization: Bearer <key>");
	std::string_view value(*authorization);
	if (value.size() < 7 || !http::EqualsIgnoreCase(value.substr(0, 7), "Bearer "))
		return Deny(401, "unauthorized", "malformed Authorization header: expected Bearer <key>");
	std::string_view token = value.substr(7);
	while (!token.empty() && token.front() == ' ')
		token.remove_prefix(1);
	while (!token.empty() && token.back() == ' ')
		token.remove_suffix(1);
	if (token.size() != kSecretLength || token.substr(0, kSecretPrefix.size()) != kSecretPrefix)
		return Deny(401, "unauthorized", "invalid API key");

	std::shared_ptr<const KeyMap> keys;
	{
		std::lock_guard<std::mutex> lock(mu_);
		keys = keys_;
	}
	if (!keys) {
		http::AuthDecision d = Deny(503, "unavailable", "API keys not loaded yet: PostgreSQL is unavailable");
		d.retry_after_s = 1;
		return d;
	}
	const KeyEntry *found = FindKey(*keys, token);
	if (found == nullptr)
		return Deny(401, "unauthorized", "invalid API key");
	const KeyEntry &key = *found;
	if (key.revoked) {
		http::AuthDecision d = Deny(401, "unauthorized", "API key revoked");
		d.key_id = key.id;
		return d;
	}
	if (!HasScope(key, scope)) {
		http::AuthDecision d =
			Deny(403, "forbidden", std::string("this API key lacks the \"") + http::ScopeName(scope) + "\" scope");
		d.key_id = key.id;
		return d;
	}
	if (int retry = TakeToken(key, now); retry > 0) {
		http::AuthDecision d = Deny(429, "rate_limited",
		                            "rate limit of this API key exceeded (" + std::to_string(key.rate_limit) + "/s)");
		d.retry_after_s = retry;
		d.key_id = key.id;
		return d;
	}
	http::AuthDecision ok;
	ok.key_id = key.id;
	return ok;
}

int KeyCache::TakeToken(const KeyEntry &key, std::chrono::steady_clock::time_point now) {
	if (key.rate_limit <= 0)
		return 0;
	std::lock_guard<std::mutex> lock(bucket_mu_);
	auto [it, fresh] = buckets_.try_emplace(key.id);
	Bucket &b = it->second;
	double rate = key.rate_limit;
	if (fresh) {
		b.tokens = rate;
	} else {
		double elapsed = std::chrono::duration<double>(now - b.last).count();
		b.tokens = std::min(rate, b.tokens + std::max(0.0, elapsed) * rate);
	}
	b.last = now;
	if (b.tokens >= 1) {
		b.tokens -= 1;
		return 0;
	}
	return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate)));
}

} // namespace event::sidecar::auth
