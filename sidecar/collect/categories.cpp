// categories.cpp — the cached event_category check of frontend events (see categories.hpp).
#include "collect/categories.hpp"

#include "core/validate.hpp"

namespace event::sidecar::collect {

void Categories::Register(pg::Refresher *refresher) {
	refresher->Add("event categories", "SELECT c.name FROM event.list_categories() c", [this](const pg::Result &r) {
		std::vector<std::string> names;
		names.reserve(static_cast<size_t>(r.rows));
		for (int i = 0; i < r.rows; i++)
			names.push_back(r.Value(i, 0));
		Replace(std::move(names));
	});
}

void Categories::Replace(std::vector<std::string> names) {
	auto list = std::make_shared<List>();
	for (std::string &n : names) {
		if (!list->allowed.empty())
			list->allowed += ", ";
		list->allowed += n;
		list->names.insert(std::move(n));
	}
	std::lock_guard<std::mutex> lock(mu_);
	list_ = std::move(list);
}

bool Categories::Loaded() const {
	std::lock_guard<std::mutex> lock(mu_);
	return list_ != nullptr;
}

std::string Categories::Check(std::string_view name, std::string *hint) const {
	std::shared_ptr<const List> list;
	{
		std::lock_guard<std::mutex> lock(mu_);
		list = list_;
	}
	if (!list || list->names.find(name) != list->names.end())
		return "";
	// The extension's own words (extension/pg/catalog.cpp), so both paths read alike.
	*hint = "Allowed values: " + list->allowed + ". Add one with event.add_category(name).";
	return "invalid event_category \"" + core::DisplayValue(name) + "\"";
}

} // namespace event::sidecar::collect
