// categories.hpp — the allowed event_category values, cached for the frontend collector.
//
// Frontend events are published to JetStream and stored later by the ingester, so an event of an
// unknown category would be accepted with 202 and only then dead-lettered. The collector checks
// the category against this cache instead and answers 400 with the extension's own message and
// hint. The cache holds what event.list_categories() returns, reloaded by a pg::Refresher every
// --auth-refresh: a category added with event.add_category is accepted within about that time.
// Until the first load succeeds (PostgreSQL away, or an extension without list_categories, or a
// role without EXECUTE on it) every well-formed category is accepted, as before the check, and the
// ingester's dead letters remain the safety net.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/refresher.hpp"

namespace event::sidecar::collect {

class Categories {
public:
	// Adds event.list_categories() to refresher's sources.
	void Register(pg::Refresher *refresher);
	// Replaces the allowed names (in the order the hint lists them).
	void Replace(std::vector<std::string> names);
	bool Loaded() const;
	// "" when name is allowed, or when nothing is loaded yet; else the 400 message, with *hint
	// listing the allowed values.
	std::string Check(std::string_view name, std::string *hint) const;

private:
	struct List {
		std::set<std::string, std::less<>> names;
		std::string allowed; // "a, b, c"
	};
	mutable std::mutex mu_;
	std::shared_ptr<const List> list_; // guarded by mu_
};

} // namespace event::sidecar::collect
