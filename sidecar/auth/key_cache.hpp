// key_cache.hpp — API-key authentication without a database round trip per request.
//
// The cache holds what event.api_key_hashes() returns (prefix, SHA-256 of the secret, scopes,
// per-second rate limit, revoked), reloaded by a pg::Refresher every --auth-refresh, so a
// revocation takes effect within about that time. A request's key ("Authorization: Bearer
// evk_...") is found by its 12-character prefix, and SHA-256 of the whole presented key is
// compared with the stored hash in constant time (CRYPTO_memcmp). Rate limits are token buckets
// per key (burst = one second's worth). Until the first load succeeds every request gets 503.
//
// Write keys of the tracking API (docs/collection.md) are cached the same way, from
// event.write_key_hashes(), and checked by CheckWriteKey: the SDKs send "Authorization: Basic
// base64(<write key>:)" (the key as the user name, the password empty or ignored).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"
#include "pg/refresher.hpp"

namespace event::sidecar::auth {

struct KeyEntry {
	std::string id;
	std::string prefix;
	unsigned char hash[32];
	bool read = false, write = false, admin = false;
	int rate_limit = 0; // requests per second; 0 = none
	bool revoked = false;
};

class KeyCache {
public:
	KeyCache() = default;
	KeyCache(const KeyCache &) = delete;
	KeyCache &operator=(const KeyCache &) = delete;

	// Adds the API keys and the write keys to refresher's sources.
	void Register(pg::Refresher *refresher);

	// The router's authenticator: checks the Authorization header of req against scope.
	http::AuthDecision Check(const http::Request &req, http::Scope scope);
	// The same on the bare header value (nullptr = absent), at time now (for tests).
	http::AuthDecision CheckHeader(const std::string *authorization, http::Scope scope,
	                               std::chrono::steady_clock::time_point now);

	// A tracking-API request's write key: missing or not Basic 401, unknown or revoked 403, 503
	// until the write keys are loaded. key_id of an accepted decision is the write key's id.
	http::AuthDecision CheckWriteKey(const std::string *authorization) const;

	// Replaces the cached keys (the refresh does this; tests too).
	void Replace(std::vector<KeyEntry> keys);
	void ReplaceWriteKeys(std::vector<KeyEntry> keys); // scopes and rate limit unused
	bool Loaded() const;

private:
	struct Bucket {
		double tokens = 0;
		std::chrono::steady_clock::time_point last;
	};
	int TakeToken(const KeyEntry &key, std::chrono::steady_clock::time_point now); // 0 or Retry-After seconds

	mutable std::mutex mu_;
	using KeyMap = std::map<std::string, KeyEntry, std::less<>>;
	std::shared_ptr<const KeyMap> keys_;       // by prefix; guarded by mu_
	std::shared_ptr<const KeyMap> write_keys_; // by prefix; guarded by mu_
	std::mutex bucket_mu_;
	std::map<std::string, Bucket> buckets_; // by key id
};

// The key of keys whose prefix and SHA-256 match secret (compared in constant time), or nullptr.
const KeyEntry *FindKey(const std::map<std::string, KeyEntry, std::less<>> &keys, std::string_view secret);

// The user name of "Basic base64(user:password)" (the scheme case-insensitive); false if the value
// is not Basic or not valid base64.
bool BasicUser(std::string_view authorization, std::string *user);

// Parses one row of event.api_key_hashes() as text (id, prefix, hex hash, scopes "{read,...}",
// rate_limit or "", revoked "t"/"f"). False if malformed.
bool ParseKeyRow(const std::string &id, const std::string &prefix, const std::string &hash_hex,
                 const std::string &scopes, const std::string &rate_limit, const std::string &revoked, KeyEntry *out);

} // namespace event::sidecar::auth
