// conninfo.cpp — see conninfo.hpp.
#include "pg/conninfo.hpp"

#include <array>
#include <cstring>
#include <libpq-fe.h>

namespace event::sidecar::pg {

namespace {

// The values url gives the keywords, "" for each it does not give (all "" when it cannot be
// parsed): one parse for all of them.
template <size_t N> std::array<std::string, N> ConninfoValues(const std::string &url, const char *const (&keywords)[N]) {
	std::array<std::string, N> values;
	char *error = nullptr;
	PQconninfoOption *opts = PQconninfoParse(url.c_str(), &error);
	if (error != nullptr)
		PQfreemem(error);
	if (opts == nullptr)
		return values;
	for (PQconninfoOption *o = opts; o->keyword != nullptr; o++)
		for (size_t k = 0; k < N; k++)
			if (o->val != nullptr && strcmp(o->keyword, keywords[k]) == 0)
				values[k] = o->val;
	PQconninfoFree(opts);
	return values;
}

} // namespace

std::string ConninfoValue(const std::string &url, const char *keyword) {
	const char *const keywords[] = {keyword};
	return ConninfoValues(url, keywords)[0];
}

ConnParams::ConnParams(const std::string &url, const char *application_name, const std::string &options,
                       std::vector<std::pair<std::string, std::string>> extra) {
	pairs_.emplace_back("dbname", url);
	pairs_.emplace_back("fallback_application_name", application_name);
	static const char *const kTheirs[] = {"connect_timeout", "options"};
	const auto [timeout, theirs] = ConninfoValues(url, kTheirs);
	if (timeout.empty())
		pairs_.emplace_back("connect_timeout", "5");
	std::string all = options;
	if (!theirs.empty())
		all += (all.empty() ? "" : " ") + theirs;
	if (!all.empty())
		pairs_.emplace_back("options", all);
	for (auto &p : extra)
		pairs_.push_back(std::move(p));
	for (const auto &p : pairs_) {
		keys_.push_back(p.first.c_str());
		values_.push_back(p.second.c_str());
	}
	keys_.push_back(nullptr);
	values_.push_back(nullptr);
}

const char *ConnParams::Get(const char *keyword) const {
	for (const auto &p : pairs_)
		if (p.first == keyword)
			return p.second.c_str();
	return nullptr;
}

} // namespace event::sidecar::pg
