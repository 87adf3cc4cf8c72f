// refresher.cpp — the periodic reload of cached catalogs (see refresher.hpp).
#include "pg/refresher.hpp"

#include <algorithm>

#include "log.hpp"

namespace event::sidecar::pg {

Refresher::Refresher(Pool *pool, int64_t refresh_ms) : pool_(pool), refresh_ms_(refresh_ms) {}

Refresher::~Refresher() { Stop(); }

void Refresher::Add(std::string what, std::string sql, Load load) {
	auto s = std::make_unique<Source>();
	s->what = std::move(what);
	s->sql = std::move(sql);
	s->load = std::move(load);
	sources_.push_back(std::move(s));
}

void Refresher::Start() {
	if (!thread_.joinable())
		thread_ = std::thread([this] { Run(); });
}

void Refresher::Stop() {
	{
		std::lock_guard<std::mutex> lock(mu_);
		stop_ = true;
	}
	cv_.notify_all();
	if (thread_.joinable())
		thread_.join();
	// Queries still in the pool call back into this object: wait for them (the pool answers or
	// fails each; the bound only guards against a pool that never does).
	std::unique_lock<std::mutex> lock(mu_);
	if (!cv_.wait_for(lock, std::chrono::seconds(10), [this] { return inflight_ == 0; }))
		Log(LogLevel::kWarn, "refresher: queries still in the pool at shutdown", {{"queries", inflight_}});
}

bool Refresher::AllLoaded() const {
	return std::all_of(sources_.begin(), sources_.end(), [](const auto &s) { return s->loaded.load(); });
}

void Refresher::Loaded(size_t i, const Result &r) {
	{
		std::lock_guard<std::mutex> lock(mu_);
		if (stop_) // a query the pool fails at shutdown: nothing to retry, nothing to log
			return;
	}
	Source &s = *sources_[i];
	if (!r.ok()) {
		if (r.status == Result::Status::kSqlError)
			s.refused = true;
		if (!s.failing.exchange(true))
			Log(LogLevel::kWarn, "loading " + s.what + " failed; retrying",
			    {{"sqlstate", r.sqlstate}, {"error", r.message}, {"hint", r.hint}});
		return;
	}
	s.load(r);
	s.loaded = true;
	if (s.failing.exchange(false))
		Log(LogLevel::kInfo, "loading " + s.what + " recovered", {{"rows", r.rows}});
}

void Refresher::Settle() {
	{
		std::lock_guard<std::mutex> lock(mu_);
		inflight_--;
	}
	cv_.notify_all();
}

void Refresher::Run() {
	std::unique_lock<std::mutex> lock(mu_);
	while (!stop_) {
		lock.unlock();
		for (size_t i = 0; i < sources_.size(); i++) {
			Query q;
			q.sql = sources_[i]->sql;
			q.done = [this, i](Result r) {
				Loaded(i, r);
				Settle();
			};
			{
				std::lock_guard<std::mutex> guard(mu_);
				inflight_++;
			}
			Result::Status refusal;
			if (!pool_->Submit(std::move(q), &refusal)) // PostgreSQL down: the next round tries again
				Settle();
		}
		lock.lock();
		bool settled = std::all_of(sources_.begin(), sources_.end(),
		                           [](const auto &s) { return s->loaded.load() || s->refused.load(); });
		auto wait = std::chrono::milliseconds(settled ? refresh_ms_ : std::min<int64_t>(200, refresh_ms_));
		cv_.wait_for(lock, wait, [this] { return stop_; });
	}
}

} // namespace event::sidecar::pg
