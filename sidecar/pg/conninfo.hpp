// conninfo.hpp — the libpq parameters of the sidecar's connections, from --database-url and the
// sidecar's own settings, such that what the URL says itself is never dropped.
//
// libpq keeps the last value of a repeated keyword, so a plain `options` or `connect_timeout`
// passed after the URL replaced the URL's own (a `?options=-c search_path=...` was silently
// lost). Here the URL's connect_timeout wins over ours, and its options are appended to ours
// (for a setting given in both, PostgreSQL applies the last -c: the URL's).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace event::sidecar::pg {

// The value url (a postgresql:// URL or a key=value conninfo string) gives keyword, or "" when it
// gives none or cannot be parsed (libpq then reports the parse error when connecting).
std::string ConninfoValue(const std::string &url, const char *keyword);

// Keyword/value arrays for PQconnectdbParams/PQconnectStartParams with expand_dbname = 1: the URL
// as dbname, then fallback_application_name, connect_timeout (5 s unless the URL sets one),
// options (ours, then the URL's) when there are any, and extra pairs (e.g. replication).
class ConnParams {
public:
	ConnParams(const std::string &url, const char *application_name, const std::string &options,
	           std::vector<std::pair<std::string, std::string>> extra = {});
	ConnParams(const ConnParams &) = delete; // keys() and values() point into pairs_
	ConnParams &operator=(const ConnParams &) = delete;
	const char *const *keys() const { return keys_.data(); }
	const char *const *values() const { return values_.data(); }
	// The value given for keyword, or nullptr (tests).
	const char *Get(const char *keyword) const;

private:
	std::vector<std::pair<std::string, std::string>> pairs_;
	std::vector<const char *> keys_, values_; // into pairs_, nullptr-terminated
};

} // namespace event::sidecar::pg
