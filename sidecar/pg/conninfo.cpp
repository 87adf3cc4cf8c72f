// conninfo.cpp — see conninfo.hpp.
#include "pg/conninfo.hpp"

#include <cstring>
#include <libpq-fe.h>

namespace event::sidecar::pg {

std::string ConninfoValue(const std::string &url, const char *keyword) {
	char *error = nullptr;
	PQconninfoOption *opts = PQconninfoParse(url.c_str(), &error);
	if (error != nullptr)
		PQfreemem(error);
	if (opts == nullptr)
		return "";
	std::string value;
	for (PQconninfoOption *o = opts; o->keyword != nullptr; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != nullptr) {
			value = o->val;
			break;
		}
	PQconninfoFree(opts);
	return value;
}

ConnParams::ConnParams(const std::string &url, const char *application_name, const std::string &options,
                       std::vector<std::pair<std::string, std::string>> extra) {
	pairs_.emplace_back("dbname", url);
	pairs_.emplace_back("fallback_application_name", application_name);
	if (ConninfoValue(url, "connect_timeout").empty())
		pairs_.emplace_back("connect_timeout", "5");
	std::string all = options;
	const std::string theirs = ConninfoValue(url, "options");
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
